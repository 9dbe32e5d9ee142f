// a8w4 prepare: per-token fp8 e4m3 quantization of bf16 activations.
// One block per token: block max-reduction, then scale and round.
#include <math.h>

#include "moe_kernels.h"
#include "numeric_formats.h"

namespace moert_hip {
namespace {

constexpr int kThreads = 256;

__global__ void fp8_per_token_quant_kernel(const uint16_t* x, int64_t H, uint8_t* xq, float* xs) {
  __shared__ float wave_max[kThreads / MOERT_WAVE];
  const int64_t t = blockIdx.x;
  const uint16_t* row = x + t * H;
  float m = 0.0f;
  for (int64_t i = threadIdx.x; i < H; i += kThreads) m = fmaxf(m, fabsf(bf16_to_f32(row[i])));
#pragma unroll
  for (int s = MOERT_WAVE / 2; s > 0; s >>= 1) m = fmaxf(m, moert_shfl_xor(m, s));
  if (threadIdx.x % MOERT_WAVE == 0) wave_max[threadIdx.x / MOERT_WAVE] = m;
  __syncthreads();
  m = 0.0f;
  for (int w = 0; w < kThreads / MOERT_WAVE; ++w) m = fmaxf(m, wave_max[w]);
  const float scale = m > 0.0f ? m / 448.0f : 1.0f;
  const float inv = 1.0f / scale;
  for (int64_t i = threadIdx.x; i < H; i += kThreads) xq[t * H + i] = f32_to_e4m3(bf16_to_f32(row[i]) * inv);
  if (threadIdx.x == 0) xs[t] = scale;
}

}  // namespace

hipError_t launch_fp8_per_token_quant(const uint16_t* x_bf16, int64_t T, int64_t H, uint8_t* x_q,
                                      float* x_scale, hipStream_t stream) {
  if (T == 0) return hipSuccess;
  fp8_per_token_quant_kernel<<<static_cast<unsigned>(T), kThreads, 0, stream>>>(x_bf16, H, x_q, x_scale);
  return hipGetLastError();
}

}  // namespace moert_hip
