// Standalone activation kernel (see activation.cuh).
#include "activation.cuh"

namespace moert_cuda {
namespace {

template <class T>
__global__ void activation_kernel(const T* __restrict__ h, T* __restrict__ out, int64_t rows, int64_t inter,
                                  int act, float alpha, float limit) {
  pdl_begin();
  const int64_t total = rows * inter;
  const bool gated = act <= kSwigluOai;
  for (int64_t idx = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; idx < total;
       idx += (int64_t)gridDim.x * blockDim.x) {
    const int64_t r = idx / inter, i = idx % inter;
    float v;
    if (gated) {
      const T* hr = h + r * 2 * inter;
      v = act_gated(act, to_float(hr[i]), to_float(hr[inter + i]), alpha, limit);
    } else {
      v = act_single(act, to_float(h[r * inter + i]));
    }
    out[idx] = from_float<T>(v);
  }
}

}  // namespace

template <class T>
void launch_activation(const T* h, T* out, int64_t rows, int64_t inter, int act, float alpha, float limit,
                       cudaStream_t stream) {
  const int64_t total = rows * inter;
  if (total <= 0) return;
  const unsigned blocks = static_cast<unsigned>(std::min<int64_t>((total + 255) / 256, 65535));
  launch_pdl(true, activation_kernel<T>, blocks, 256, 0, stream, "activation", h, out, rows, inter, act, alpha, limit);
  MOERT_CUDA_LAUNCH_CHECK("activation");
}

template void launch_activation<__nv_bfloat16>(const __nv_bfloat16*, __nv_bfloat16*, int64_t, int64_t, int, float,
                                               float, cudaStream_t);
template void launch_activation<__half>(const __half*, __half*, int64_t, int64_t, int, float, float, cudaStream_t);

}  // namespace moert_cuda
