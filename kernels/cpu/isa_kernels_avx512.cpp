// AVX-512 (F/BW/VL/DQ) build of the streaming kernels, chosen at run time
// when CPUID reports it. Compiled with -mavx512f -mavx512bw -mavx512vl
// -mavx512dq; see isa_kernels_impl.inc.
#include "isa_kernels.h"
#include "scalar_convert.h"

namespace moert_cpu {
namespace {
#define MOERT_VW 16
#define MOERT_NK_MB 8
#define MOERT_ISA_NAME "avx512"
#include "isa_kernels_impl.inc"
}  // namespace

const IsaKernels* isa_kernels_avx512() { return &kTable; }

}  // namespace moert_cpu
