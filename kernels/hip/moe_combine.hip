// Finalize: weighted sum of each token's top-k expert rows, written once in
// bf16 (every element of the output, non-local slots adding 0).
#include "moe_kernels.h"
#include "numeric_formats.h"

namespace moert_hip {
namespace {

constexpr int kThreads = 256;

__global__ void moe_combine_kernel(const float* y, const float* topk_w, const int32_t* slot_local, int k,
                                   int64_t H, uint16_t* out) {
  const int64_t t = blockIdx.x;  // one block per token
  for (int64_t i = threadIdx.x; i < H; i += kThreads) {
    float acc = 0.0f;
    for (int j = 0; j < k; ++j) {
      const int64_t s = t * k + j;
      if (slot_local[s] < 0) continue;
      acc += (topk_w ? topk_w[s] : 1.0f) * y[s * H + i];
    }
    out[t * H + i] = f32_to_bf16(acc);
  }
}

}  // namespace

hipError_t launch_moe_combine(const float* y, const float* topk_w, const int32_t* slot_local, int64_t T, int k,
                              int64_t H, uint16_t* out, hipStream_t stream) {
  if (T == 0) return hipSuccess;
  moe_combine_kernel<<<static_cast<unsigned>(T), kThreads, 0, stream>>>(y, topk_w, slot_local, k, H, out);
  return hipGetLastError();
}

}  // namespace moert_hip
