// Per-token fp8 activation quantization and the MXFP4 weight repack (see dequant.cuh).
#include "dequant.cuh"

namespace moert_cuda {
namespace {

template <class T>
__global__ void quantize_rows_fp8_kernel(const T* x, T* q,  // may alias (in-place)
                                         float* __restrict__ scale, int64_t cols,
                                         const int32_t* __restrict__ rows_limit) {
  pdl_begin();
  const int64_t row = blockIdx.x;
  if (rows_limit && row >= *rows_limit) return;
  const T* xr = x + row * cols;
  T* qr = q + row * cols;
  float amax = 0.f;
  for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) amax = fmaxf(amax, fabsf(to_float(xr[c])));
  __shared__ float red[32];
  for (int o = 16; o > 0; o >>= 1) amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, o));
  if ((threadIdx.x & 31) == 0) red[threadIdx.x >> 5] = amax;
  __syncthreads();
  if (threadIdx.x < 32) {
    float v = threadIdx.x < (blockDim.x >> 5) ? red[threadIdx.x] : 0.f;
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    if (threadIdx.x == 0) red[0] = v;
  }
  __syncthreads();
  const float s = red[0] > 0.f ? red[0] / 448.f : 1.f;
  for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) {
    __nv_fp8_storage_t b = __nv_cvt_float_to_fp8(to_float(xr[c]) / s, __NV_SATFINITE, __NV_E4M3);
    __half_raw h = __nv_cvt_fp8_to_halfraw(b, __NV_E4M3);
    qr[c] = from_float<T>(__half2float(*reinterpret_cast<__half*>(&h)));
  }
  if (threadIdx.x == 0) scale[row] = s;
}

__global__ void mxfp4_repack_kernel(uint32_t* w, int64_t words) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < words; i += (int64_t)gridDim.x * blockDim.x)
    w[i] = mxfp4_repack_word(w[i]);
}

}  // namespace

void launch_mxfp4_repack(void* w, int64_t bytes, cudaStream_t stream) {
  const int64_t words = bytes / 4;
  if (words <= 0) return;
  const int64_t blocks = std::min<int64_t>((words + 255) / 256, 4096);
  mxfp4_repack_kernel<<<static_cast<unsigned>(blocks), 256, 0, stream>>>(static_cast<uint32_t*>(w), words);
  MOERT_CUDA_LAUNCH_CHECK("mxfp4_repack");
}

template <class T>
void launch_quantize_rows_fp8(const T* x, T* q, float* scale, int64_t rows, int64_t cols,
                              const int32_t* rows_limit, cudaStream_t stream) {
  if (rows <= 0) return;
  launch_pdl(true, quantize_rows_fp8_kernel<T>, static_cast<unsigned>(rows), 256, 0, stream, "quantize_rows_fp8", x, q,
             scale, cols, rows_limit);
  MOERT_CUDA_LAUNCH_CHECK("quantize_rows_fp8");
}

template void launch_quantize_rows_fp8<__nv_bfloat16>(const __nv_bfloat16*, __nv_bfloat16*, float*, int64_t,
                                                      int64_t, const int32_t*, cudaStream_t);
template void launch_quantize_rows_fp8<__half>(const __half*, __half*, float*, int64_t, int64_t,
                                               const int32_t*, cudaStream_t);

}  // namespace moert_cuda
