// AVX2 + FMA + F16C build of the streaming kernels (the baseline ISA).
// Compiled with -mavx2 -mfma -mf16c; see isa_kernels_impl.inc.
#include "isa_kernels.h"
#include "scalar_convert.h"

namespace moert_cpu {
namespace {
#define MOERT_VW 8
#define MOERT_NK_MB 4
#define MOERT_ISA_NAME "avx2"
#include "isa_kernels_impl.inc"
}  // namespace

const IsaKernels* isa_kernels_avx2() { return &kTable; }

}  // namespace moert_cpu
