// Run-time ISA choice. __builtin_cpu_supports reads CPUID (the kernels'
// instructions are never executed here), so this is safe on any x86-64.
#include <string.h>

#include "isa_kernels.h"

namespace moert_cpu {

bool cpu_has_avx2_baseline() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
         __builtin_cpu_supports("f16c");
}

static bool cpu_has_avx512() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
}

bool cpu_has_avx512_core() { return cpu_has_avx2_baseline() && cpu_has_avx512(); }

bool cpu_has_avx512_bf16() { return cpu_has_avx512_core() && __builtin_cpu_supports("avx512bf16"); }

const IsaKernels* select_isa_kernels(const char* prefer) {
  if (!cpu_has_avx2_baseline()) return nullptr;
  bool want_avx2 = prefer != nullptr && strcmp(prefer, "avx2") == 0;
  if (!want_avx2 && cpu_has_avx512()) return isa_kernels_avx512();
  return isa_kernels_avx2();
}

Bf16KnFn select_bf16_kn(const char* prefer) {
  if (!cpu_has_avx2_baseline() || !cpu_has_avx512()) return nullptr;
  if (prefer != nullptr && strcmp(prefer, "avx2") == 0) return nullptr;
  if (!__builtin_cpu_supports("avx512bf16")) return nullptr;
  return bf16_kn_avx512bf16();
}

}  // namespace moert_cpu
