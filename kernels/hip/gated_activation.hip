// Gated activations between the two GEMMs: silu_and_mul and gpt-oss's
// swigluoai. The result is rounded to bf16, as the second GEMM reads it.
#include <math.h>

#include "aiter_layout.h"
#include "moe_kernels.h"
#include "numeric_formats.h"

namespace moert_hip {
namespace {

constexpr int kThreads = 256;

__global__ void gated_activation_kernel(const float* h, int64_t I, int32_t row_mode, int32_t act, float alpha,
                                        float limit, const int32_t* slot_local, uint16_t* a) {
  const int64_t s = blockIdx.x;  // one block per slot (grid.x has room for any count)
  if (slot_local[s] < 0) return;  // non-local slot: nothing reads its row
  const float* hs = h + s * 2 * I;
  for (int64_t j = threadIdx.x; j < I; j += kThreads) {
    float g = hs[gate_row(j, I, row_mode)], u = hs[up_row(j, I, row_mode)], v;
    if (act == 3) {  // swigluoai: clamp, g * sigmoid(alpha * g) * (u + 1)
      g = fminf(g, limit);
      u = fminf(fmaxf(u, -limit), limit);
      v = g / (1.0f + expf(-alpha * g)) * (u + 1.0f);
    } else {  // silu_and_mul
      v = g / (1.0f + expf(-g)) * u;
    }
    a[s * I + j] = f32_to_bf16(v);
  }
}

}  // namespace

hipError_t launch_gated_activation(const float* h, int64_t slots, int64_t I, int32_t row_mode, int32_t act,
                                   float alpha, float limit, const int32_t* slot_local, uint16_t* a,
                                   hipStream_t stream) {
  if (slots == 0) return hipSuccess;
  gated_activation_kernel<<<static_cast<unsigned>(slots), kThreads, 0, stream>>>(h, I, row_mode, act, alpha, limit, slot_local, a);
  return hipGetLastError();
}

}  // namespace moert_hip
