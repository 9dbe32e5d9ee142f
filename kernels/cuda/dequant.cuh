// fp8 e4m3 and MXFP4 (e2m1 + e8m0) decoding used in the GEMMs' load paths,
// and the per-token fp8 activation quantization (w8a8).
#pragma once

#include <cuda_fp8.h>

#include "common.cuh"

namespace moert_cuda {

// Two e4m3 bytes (low byte = first element) to two floats.
__device__ __forceinline__ float2 fp8x2_to_float2(uint16_t v) {
  __half2_raw h = __nv_cvt_fp8x2_to_halfraw2(static_cast<__nv_fp8x2_storage_t>(v), __NV_E4M3);
  return __half22float2(*reinterpret_cast<__half2*>(&h));
}

// The plugin's layout of MXFP4 weights and scales, made once from the
// uploaded tensors (launch_mxfp4_to_plugin_layout):
// - weights: each 32-bit word of e2m1 values (element i in bits [4i, 4i+4),
//   low nibble first) with the bits of each 16-bit half (elements j = 0..3
//   of the half) moved so that decode8_f16x2 (gemv_chunk.cuh) needs fewest
//   instructions: element j's 3 magnitude bits to bits [9 - 3j, 12 - 3j)
//   and its sign to bit 15 (j = 0) or 11 + j;
// - scales: each e8m0 byte b as min(b + 14, 255), so that the f32 bits of
//   2^(b - 127) * 2^14 (the 2^14 undoes the decode's 2^-14) are one shift
//   (mx_scale_x2p14); 255 is then +Inf, to which b in [241, 254]
//   overflowed before as well;
// - a NaN block (e8m0 0xFF, OCP MX) keeps its NaN as Inf * 0: its 32
//   weights are set to +0, so every product with them is NaN.
// Why: the scale's add, clamp and NaN select were 4 of the one-token chunk
// math's ~160 instructions a lane per row pair, and the decode took 15
// instructions for 8 values instead of 11 (per-SASS counts, 2026-12-02).
__host__ __device__ constexpr uint32_t mxfp4_repack_half(uint32_t v) {
  return ((v & 0x7u) << 9) | (((v >> 3) & 1u) << 15) |         // element 0
         (((v >> 4) & 0x7u) << 6) | (((v >> 7) & 1u) << 12) |  // element 1
         (((v >> 8) & 0x7u) << 3) | (((v >> 11) & 1u) << 13) | // element 2
         ((v >> 12) & 0x7u) | (((v >> 15) & 1u) << 14);        // element 3
}
__host__ __device__ constexpr uint32_t mxfp4_repack_word(uint32_t x) {
  return mxfp4_repack_half(x & 0xFFFFu) | (mxfp4_repack_half(x >> 16) << 16);
}

// 2^(e8m0 - 127) * 2^14 from the plugin's scale byte (above).
__device__ __forceinline__ float mx_scale_x2p14(uint32_t biased) { return __int_as_float(biased << 23); }

// The same value through a branch around the Inf byte. Only the streaming
// decode kernel's ring of scales takes it: with the one shift (as with the
// select of e8m0 0xFF before) its MXFP4 variant spills 52 bytes at its
// 128-register cap.
__device__ __forceinline__ float mx_scale_x2p14_branchy(uint32_t biased) {
  if (biased < 255u) return __int_as_float(static_cast<int>(biased) << 23);
  return ldexpf(1.0f, static_cast<int>(biased) - 127);  // 2^128: +Inf
}

// Rewrites `blocks` MXFP4 blocks in place into the plugin's layout: block i
// is the 16 weight bytes at w + 16 i and the scale byte scales[i] (rows of
// K/2 weight bytes and K/32 scales, in the same row order). Stream-ordered;
// set-up time only.
void launch_mxfp4_to_plugin_layout(void* w, uint8_t* scales, int64_t blocks, cudaStream_t stream);

// Per-token fp8 quantization of rows [rows, cols] of T: q = e4m3(x / s) kept
// in T (e4m3 values are exact in bf16 and f16), s = max|x| / 448 (1 for an
// all-zero row). Rows >= *rows_limit (when given) are skipped.
template <class T>
void launch_quantize_rows_fp8(const T* x, T* q, float* scale, int64_t rows, int64_t cols,
                              const int32_t* rows_limit, cudaStream_t stream);

}  // namespace moert_cuda
