// The decode kernels' view of a weight row: 16-byte chunks (8 bf16/f16, 16
// e4m3 or 32 e2m1 values) decoded 8 at a time, each chunk's scale, and the
// bank-conflict-free shared-memory layout of a staged token row. Shared by
// grouped_gemv.cu and grouped_gemv_bulk.cu.
#pragma once

#include "dequant.cuh"
#include "gemm_epilogue.cuh"
#include "grouped_gemm.cuh"

namespace moert_cuda {

// One 16-byte chunk of a weight row: 8 bf16/f16, 16 e4m3 or 32 e2m1 values,
// decoded 8 at a time in natural order, without the chunk's scale.
template <class T, WeightFormat WF>
struct GemvChunk {
  static constexpr int kElems = WF == WeightFormat::kDense ? 8 : (WF == WeightFormat::kFp8 ? 16 : 32);
  static constexpr int kSubs = kElems / 8;
  static constexpr int kRowBytesNum = WF == WeightFormat::kDense ? (int)sizeof(T) : 1;
  static constexpr int kRowBytesDen = WF == WeightFormat::kMxfp4 ? 2 : 1;

  template <int sub>
  __device__ __forceinline__ static void decode8(const uint4& q, float (&f)[8]) {
    const uint32_t w[4] = {q.x, q.y, q.z, q.w};
    if constexpr (WF == WeightFormat::kDense) {
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        const float2 v = unpack2<T>(w[i]);
        f[2 * i] = v.x;
        f[2 * i + 1] = v.y;
      }
    } else if constexpr (WF == WeightFormat::kFp8) {
#pragma unroll
      for (int i = 0; i < 2; ++i) {
        const uint32_t x = w[2 * sub + i];
        const float2 lo = fp8x2_to_float2(static_cast<uint16_t>(x & 0xffffu));
        const float2 hi = fp8x2_to_float2(static_cast<uint16_t>(x >> 16));
        f[4 * i] = lo.x;
        f[4 * i + 1] = lo.y;
        f[4 * i + 2] = hi.x;
        f[4 * i + 3] = hi.y;
      }
    } else {
      // Eight e2m1 nibbles, element i in bits [4i, 4i+4). Each f16x2 below
      // holds elements (i, i+4): the 3 magnitude bits go to f16 bits 9-11
      // (value * 2^-14, exact, subnormal 0.5 included; see
      // fp4x2_to_float2_unscaled) and the sign bit to bit 15, for both
      // halves with one shift pair and two masks.
      const uint32_t x = w[sub];
      const uint32_t h[4] = {((x << 9) & 0x0E000E00u) | ((x << 12) & 0x80008000u),
                             ((x << 5) & 0x0E000E00u) | ((x << 8) & 0x80008000u),
                             ((x << 1) & 0x0E000E00u) | ((x << 4) & 0x80008000u),
                             ((x >> 3) & 0x0E000E00u) | (x & 0x80008000u)};
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        const float2 v = unpack2<__half>(h[i]);
        f[i] = v.x;
        f[i + 4] = v.y;
      }
    }
  }
};

// Scale of the chunk at column k of weight row n (1 for dense weights).
template <WeightFormat WF>
__device__ __forceinline__ float gemv_chunk_scale(const GemmParams& p, int expert, int n, int k) {
  if constexpr (WF == WeightFormat::kFp8) {
    const int kb = p.w_scale_kb;
    return __ldg(p.w_scale + ((int64_t)expert * p.n + n) * kb + (kb > 1 ? (k >> 7) : 0));
  } else if constexpr (WF == WeightFormat::kMxfp4) {
    return mx_scale_x2p14(__ldg(p.mx_scale + ((int64_t)expert * p.n + n) * (p.k >> 5) + (k >> 5)));
  } else {
    return 1.f;
  }
}

// Shared-memory layout of the staged A rows: for row m, sub-chunk s of chunk
// c lives at uint4 index (m * kSubs + s) * chunks + c, so the 32 lanes of a
// warp (consecutive c) read 32 consecutive uint4: no bank conflicts.
template <class GC>
__device__ __forceinline__ int a_sm_index(int m, int s, int c, int chunks) {
  return (m * GC::kSubs + s) * chunks + c;
}

// The group (expert, sorted rows [rb, re)) of a decode block: the active
// expert blockIdx.y, or one group of m rows when expert_offsets is null.
// False: blockIdx.y is past the active experts (the whole block returns).
__device__ __forceinline__ bool gemv_group_of(const GemmParams& p, int& expert, int32_t& rb, int32_t& re) {
  if (p.expert_offsets) {
    if ((int)blockIdx.y >= *p.active_count) return false;
    expert = p.active_experts[blockIdx.y];
    rb = p.expert_offsets[expert];
    re = p.expert_offsets[expert + 1];
  } else {
    expert = 0;
    rb = 0;
    re = p.m;
  }
  return true;
}

}  // namespace moert_cuda
