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

// The plugin's layout of MXFP4 weights: each 32-bit word of e2m1 values
// (element i in bits [4i, 4i+4), low nibble first) with the bits of each
// 16-bit half (elements j = 0..3 of the half) moved so that decode8_f16x2
// (gemv_chunk.cuh) needs fewest instructions: element j's 3 magnitude bits
// to bits [9 - 3j, 12 - 3j) and its sign to bit 15 (j = 0) or 11 + j.
// Applied once to the uploaded weights (launch_mxfp4_repack); every MXFP4
// decode in this plugin reads this layout.
__host__ __device__ constexpr uint32_t mxfp4_repack_half(uint32_t v) {
  return ((v & 0x7u) << 9) | (((v >> 3) & 1u) << 15) |         // element 0
         (((v >> 4) & 0x7u) << 6) | (((v >> 7) & 1u) << 12) |  // element 1
         (((v >> 8) & 0x7u) << 3) | (((v >> 11) & 1u) << 13) | // element 2
         ((v >> 12) & 0x7u) | (((v >> 15) & 1u) << 14);        // element 3
}
__host__ __device__ constexpr uint32_t mxfp4_repack_word(uint32_t x) {
  return mxfp4_repack_half(x & 0xFFFFu) | (mxfp4_repack_half(x >> 16) << 16);
}

// Rewrites `bytes` bytes (a multiple of 4) of device memory at w, in place,
// word by word with mxfp4_repack_word. Stream-ordered; set-up time only.
void launch_mxfp4_repack(void* w, int64_t bytes, cudaStream_t stream);

// 2^(e8m0 - 127) * 2^14; 0xFF is NaN by the OCP MX spec. Built from the
// exponent bits without branches (the decode loops call it per chunk): e8m0
// in [0, 240] is a normal float, [241, 254] overflows to Inf (exponent 255,
// zero mantissa), 0xFF selects the NaN.
__device__ __forceinline__ float mx_scale_x2p14(uint32_t e8m0) {
  const uint32_t bits = min(e8m0 + 14u, 255u) << 23;
  return __int_as_float(e8m0 == 0xFFu ? 0x7fc00000u : bits);
}

// The same value with branches around the rare exponents. Only the
// streaming decode kernel's ring of scales takes it: with the branchless
// form its MXFP4 variant spills 52 bytes at its 128-register cap.
__device__ __forceinline__ float mx_scale_x2p14_branchy(uint32_t e8m0) {
  if (e8m0 == 0xFFu) return __int_as_float(0x7fc00000);
  if (e8m0 <= 240u) return __int_as_float(static_cast<int>(e8m0 + 14u) << 23);
  return ldexpf(1.0f, static_cast<int>(e8m0) - 113);
}

// Per-token fp8 quantization of rows [rows, cols] of T: q = e4m3(x / s) kept
// in T (e4m3 values are exact in bf16 and f16), s = max|x| / 448 (1 for an
// all-zero row). Rows >= *rows_limit (when given) are skipped.
template <class T>
void launch_quantize_rows_fp8(const T* x, T* q, float* scale, int64_t rows, int64_t cols,
                              const int32_t* rows_limit, cudaStream_t stream);

}  // namespace moert_cuda
