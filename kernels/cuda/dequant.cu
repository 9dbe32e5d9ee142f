// Per-token fp8 activation quantization and the MXFP4 weight and scale layout (see dequant.cuh).
#include "dequant.cuh"

namespace moert_cuda {
namespace {

// The layout's bit moves (dequant.cuh), one input bit at a time, both halves:
// where bit i of an ABI word lands in the plugin's word.
constexpr int kMxfp4BitTo[16] = {9, 10, 11, 15, 6, 7, 8, 12, 3, 4, 5, 13, 0, 1, 2, 14};
constexpr bool mxfp4_layout_moves_bits_as_documented() {
  for (int i = 0; i < 32; ++i)
    if (mxfp4_repack_word(1u << i) != 1u << (kMxfp4BitTo[i % 16] + 16 * (i / 16))) return false;
  return true;
}
static_assert(mxfp4_layout_moves_bits_as_documented(), "mxfp4_repack_word");

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

__global__ void mxfp4_layout_kernel(uint4* w, uint8_t* scales, int64_t blocks) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < blocks; i += (int64_t)gridDim.x * blockDim.x) {
    const uint32_t e = scales[i];
    uint4 v = w[i];
    if (e == 0xFFu) {
      v = make_uint4(0, 0, 0, 0);
    } else {
      v.x = mxfp4_repack_word(v.x), v.y = mxfp4_repack_word(v.y);
      v.z = mxfp4_repack_word(v.z), v.w = mxfp4_repack_word(v.w);
    }
    w[i] = v;
    scales[i] = static_cast<uint8_t>(min(e + 14u, 255u));
  }
}

}  // namespace

void launch_mxfp4_to_plugin_layout(void* w, uint8_t* scales, int64_t blocks, cudaStream_t stream) {
  if (blocks <= 0) return;
  const int64_t grid = std::min<int64_t>((blocks + 255) / 256, 4096);
  mxfp4_layout_kernel<<<static_cast<unsigned>(grid), 256, 0, stream>>>(static_cast<uint4*>(w), scales, blocks);
  MOERT_CUDA_LAUNCH_CHECK("mxfp4_to_plugin_layout");
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
