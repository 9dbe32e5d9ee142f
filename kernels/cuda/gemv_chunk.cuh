// The decode kernels' view of a weight row: 16-byte chunks (8 bf16/f16, 16
// e4m3 or 32 e2m1 values) decoded 8 at a time, each chunk's scale, and the
// bank-conflict-free shared-memory layout of a staged token row. Shared by
// grouped_gemv.cu and grouped_gemv_bulk.cu.
#pragma once

#include "dequant.cuh"
#include "gemm_epilogue.cuh"
#include "grouped_gemm.cuh"

#include <type_traits>

namespace moert_cuda {

// MXFP4: the eight e2m1 values of one 32-bit word of the plugin's weight
// copy (mxfp4_repack_word: element i of the original word, bits [4i, 4i+4),
// moved within its 16-bit half) as four f16x2, h[i] holding elements
// (i, i+4), each value * 2^-14: the 3 magnitude bits go to f16 bits 9-11
// (exact, subnormal 0.5 included) and the sign bit to bit 15, for both
// halves at once. The chunk's scale takes the 2^14 back (mx_scale_x2p14).
// Why the repacked word: in the original nibble order every h[i] needed two
// shifts and two masks (15 instructions for 8 values, 123 of the one-token
// chunk math's 208 a lane, per-SASS counts of 2026-12-02); laid out as
// mxfp4_repack_word does, h[0] is one mask, h[1] a shift and a mask, and
// 11 instructions decode the 8 values.
__device__ __forceinline__ void decode8_f16x2(uint32_t p, uint32_t (&h)[4]) {
  h[0] = p & 0x8E008E00u;
  h[1] = (p << 3) & 0x8E008E00u;
  h[2] = ((p << 6) & 0x0E000E00u) | ((p << 2) & 0x80008000u);
  h[3] = ((p << 9) & 0x0E000E00u) | ((p << 1) & 0x80008000u);
}

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
      uint32_t h[4];
      decode8_f16x2(w[sub], h);
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
// BRANCHY_MX: MXFP4 scales by mx_scale_x2p14_branchy (the streaming kernel).
template <WeightFormat WF, bool BRANCHY_MX = false>
__device__ __forceinline__ float gemv_chunk_scale(const GemmParams& p, int expert, int n, int k) {
  if constexpr (WF == WeightFormat::kFp8) {
    const int kb = p.w_scale_kb;
    return __ldg(p.w_scale + ((int64_t)expert * p.n + n) * kb + (kb > 1 ? (k >> 7) : 0));
  } else if constexpr (WF == WeightFormat::kMxfp4) {
    const uint32_t b = __ldg(p.mx_scale + ((int64_t)expert * p.n + n) * (p.k >> 5) + (k >> 5));
    return BRANCHY_MX ? mx_scale_x2p14_branchy(b) : mx_scale_x2p14(b);
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

// One chunk c of a row pair (w0: row n, w1: row n+1) against the staged token
// rows m < mr (layout a_sm_index): acc0[m] += s.x * (w0 . A[m]), acc1[m]
// likewise with s.y, s = scales() (the two rows' chunk scales; called after
// the dot products, so a scale load overlaps them). Each chunk's dot product
// is formed unscaled and scaled once (an MXFP4 scale covers exactly the
// chunk, an fp8 scale at least 128 columns); dense weights take no scale.
template <class T, WeightFormat WF, int MR, class Scales>
__device__ __forceinline__ void gemv_pair_chunk(const uint4& w0, const uint4& w1, Scales scales, const uint4* a_sm,
                                                int c, int chunks, int mr, float (&acc0)[MR], float (&acc1)[MR]) {
  using GC = GemvChunk<T, WF>;
  float d0[MR], d1[MR];
#pragma unroll
  for (int m = 0; m < MR; ++m) d0[m] = d1[m] = 0.f;
  auto sub_step = [&](auto sub_c) {
    constexpr int sub = decltype(sub_c)::value;
    float f0[8], f1[8];
    GC::template decode8<sub>(w0, f0);
    GC::template decode8<sub>(w1, f1);
#pragma unroll
    for (int m = 0; m < MR; ++m) {
      // MR == 1: mr is 1. Without the run-time test no branch separates
      // the sub-steps (gpt-oss MXFP4 on this f32 path, one token, H200,
      // graph µs, twice: 52.5 / 52.6 -> 51.7 / 50.8).
      if (MR == 1 || m < mr) {
        const uint4 av = a_sm[a_sm_index<GC>(m, sub, c, chunks)];
        const uint32_t aw[4] = {av.x, av.y, av.z, av.w};
#pragma unroll
        for (int i = 0; i < 4; ++i) {
          const float2 x = unpack2<T>(aw[i]);
          d0[m] = fmaf(f0[2 * i], x.x, fmaf(f0[2 * i + 1], x.y, d0[m]));
          d1[m] = fmaf(f1[2 * i], x.x, fmaf(f1[2 * i + 1], x.y, d1[m]));
        }
      }
    }
  };
  sub_step(std::integral_constant<int, 0>{});
  if constexpr (GC::kSubs > 1) sub_step(std::integral_constant<int, 1>{});
  if constexpr (GC::kSubs > 2) {
    sub_step(std::integral_constant<int, 2>{});
    sub_step(std::integral_constant<int, 3>{});
  }
  if constexpr (WF == WeightFormat::kDense) {
#pragma unroll
    for (int m = 0; m < MR; ++m) {
      acc0[m] += d0[m];
      acc1[m] += d1[m];
    }
  } else {
    const float2 s = scales();
#pragma unroll
    for (int m = 0; m < MR; ++m) {
      acc0[m] = fmaf(s.x, d0[m], acc0[m]);
      acc1[m] = fmaf(s.y, d1[m], acc1[m]);
    }
  }
}

// A row pair (n, n+1) is done: reduce each token row's sums over the warp;
// lane m writes token row r0 + m (register indices stay compile-time through
// the select); the sums restart at zero.
template <class T, int MR>
__device__ __forceinline__ void gemv_finish_pair(const GemmParams& p, int expert, int32_t r0, int n, int mr, int lane,
                                                 float (&acc0)[MR], float (&acc1)[MR]) {
  float v0 = 0.f, v1 = 0.f;
#pragma unroll
  for (int m = 0; m < MR; ++m) {
    if (MR == 1 || m < mr) {  // MR == 1: mr is 1
#pragma unroll
      for (int o = 16; o > 0; o >>= 1) {
        acc0[m] += __shfl_xor_sync(0xffffffffu, acc0[m], o);
        acc1[m] += __shfl_xor_sync(0xffffffffu, acc1[m], o);
      }
      if (m == lane) { v0 = acc0[m]; v1 = acc1[m]; }
    }
    acc0[m] = acc1[m] = 0.f;
  }
  if (lane < mr) epilogue_pair<T>(p, expert, r0 + lane, n, v0, v1);
}

// The first pieces of a token row (uint4 pieces of 8 values) that a thread
// of the staging keeps in registers: piece threadIdx.x + j * blockDim.x in
// held[j]. Loaded apart from the staging so that a kernel can issue the
// loads before work that does not need them (the routed MXFP4 GEMV1 and
// the fused one-token kernel issue them before they route the token) and
// their latency hides behind it.
constexpr int kStageHeld = 4;
struct StagedPieces {
  uint4 held[kStageHeld];
};
__device__ __forceinline__ void stage_load_pieces(const uint4* src, int pieces, bool coherent, StagedPieces& h) {
#pragma unroll
  for (int j = 0; j < kStageHeld; ++j) {
    const int g = threadIdx.x + j * blockDim.x;
    h.held[j] = g < pieces ? (coherent ? __ldcg(src + g) : __ldg(src + g)) : make_uint4(0, 0, 0, 0);
  }
}

// One token row (MR == 1): finished row pairs wait in the lanes for one
// shared epilogue. Pair j of a warp's run of consecutive pairs is kept by
// lane j % 32; after every 32nd pair, and after the run's last, the lanes
// holding pairs run epilogue_pair at once. Why: the epilogue (bias, gate, the
// activation's branches, the store) is ~90 instructions that lane 0 ran
// alone for every pair while the other 31 lanes waited, and at one token
// with MXFP4 weights the GEMVs are bound by instruction issue (Nsight
// Compute, H200: about a tenth of the routed GEMV1's warp samples sat in
// that code, waiting for instructions). The butterfly leaves the same sum
// in every lane, so results are bit-identical to gemv_finish_pair's.
struct DeferredPairs {
  float v0 = 0.f, v1 = 0.f;

  // Pair j of the warp's run (rows n, n+1) is done: its sums over the warp
  // into lane j % 32; the sums restart at zero. Every lane calls it.
  __device__ __forceinline__ void add(int j, int lane, float& acc0, float& acc1) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) {
      acc0 += __shfl_xor_sync(0xffffffffu, acc0, o);
      acc1 += __shfl_xor_sync(0xffffffffu, acc1, o);
    }
    if (lane == (j & 31)) v0 = acc0, v1 = acc1;
    acc0 = acc1 = 0.f;
  }
  // After add(j): the kept pairs' epilogue when j closes a group of 32 or
  // is the run's last pair. n_first: the run's first row.
  template <class T>
  __device__ __forceinline__ void flush(const GemmParams& p, int expert, int32_t row, int n_first, int j, int lane,
                                        bool last) {
    if ((j & 31) != 31 && !last) return;
    if (lane <= (j & 31)) epilogue_pair<T>(p, expert, row, n_first + 2 * ((j & ~31) + lane), v0, v1);
  }
};

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
