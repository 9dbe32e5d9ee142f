// MXFP4 decode math in f16x2 for one token row (the bulk GEMV kernels at
// MR = 1, grouped_gemv_bulk.cu).
//
// Why: at one token the MXFP4 GEMVs are bound by instruction issue, not by
// DRAM (Nsight Compute, H200, gpt-oss: GEMV2 took 18.7 µs on weights that
// GEMV1 had prefetched into L2, its schedulers issuing 60% of their active
// cycles). The f32 path spends per weight a share of the decode, an f16 ->
// f32 conversion and an fmaf; here two weights share one f16x2 fma and no
// conversion: a third fewer instructions in a chunk's math. Measured on
// the H200, same call (docs/cuda-backend.md): gpt-oss MXFP4 at one token,
// graph µs, twice, 51.7 / 50.8 on the f32 path -> 42.8 / 42.8; GEMV1
// 34.2 -> 28.9 µs and GEMV2 18.7 -> 15.6 µs (18.8 M -> 14.0 M and 9.3 M ->
// 7.3 M instructions).
//
// How: the token row is staged once per block as f16, multiplied by 2^s
// (mx_h2_row_shift: its largest magnitude lands in [2^13, 2^14)), each
// 8-value piece as the f16x2 pairs (a[i], a[i+4]) that decode8_f16x2's
// weight pairs meet. A weight decodes to w * 2^-14, so a product is at most
// 6 (|w| <= 6); products under 2^-14, f16 subnormals with fewer bits, are
// under 2^-16 of the largest the row can have.
// A lane's 16 products per row and f16 half of a chunk (its 4 sub-steps:
// a sum of at most 96) are summed in f16, then the two halves in f32; the
// chunk's scale (mx_scale_x2p14) takes back the 2^14 and the pair's
// finish the 2^s (both powers of two). Zero, infinite and NaN rows keep
// s = 0, so an inf or NaN activation still reaches the output. The price
// is the f16 sums: relative error against float64 at one token went from
// 2.5e-3 to 3.2e-3 (bf16 activations) and from 3.2e-4 to 8.7e-4 (f16)
// with 8-product f16 sums, and to 3.5e-3 / 1.1e-3 with the 16-product
// sums (which save 8 of the chunk's ~208 instructions a lane: gpt-oss
// MXFP4 at one token, H200, same call, graph µs, twice, 39.0 / 39.4 ->
// 38.0 / 38.9); the bound is 3e-2 (tests/cuda, mxfp4_gptoss).
#pragma once

#include "common.cuh"
#include "gemv_chunk.cuh"

namespace moert_cuda {

// s for a row whose largest magnitude is amax: amax * 2^s in [2^13, 2^14)
// for normal amax, at most 126 (so that 2^-s is a normal f32); 0 for zero,
// infinite or NaN amax.
__device__ __forceinline__ int mx_h2_row_shift(float amax) {
  const int e = (__float_as_int(amax) >> 23) & 0xFF;
  if (!(amax > 0.f) || e == 0xFF) return 0;
  return min(140 - e, 126);
}

__device__ __forceinline__ float pow2f(int s) { return __int_as_float((s + 127) << 23); }  // s in [-126, 127]

// Largest magnitude of 8 values of T (NaN ignored: it reaches the output
// through the products).
template <class T>
__device__ __forceinline__ float mx_h2_amax8(const uint4& v) {
  const uint32_t w[4] = {v.x, v.y, v.z, v.w};
  float m = 0.f;
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const float2 f = unpack2<T>(w[i]);
    m = fmaxf(m, fmaxf(fabsf(f.x), fabsf(f.y)));
  }
  return m;
}

// 8 values of T, times `scale`, as the f16x2 pairs (a[i], a[i+4]).
template <class T>
__device__ __forceinline__ uint4 mx_h2_piece(const uint4& v, float scale) {
  const uint32_t w[4] = {v.x, v.y, v.z, v.w};
  float a[8];
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const float2 f = unpack2<T>(w[i]);
    a[2 * i] = f.x * scale;
    a[2 * i + 1] = f.y * scale;
  }
  uint32_t o[4];
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const __half2 h = __floats2half2_rn(a[i], a[i + 4]);
    o[i] = *reinterpret_cast<const uint32_t*>(&h);
  }
  return make_uint4(o[0], o[1], o[2], o[3]);
}

// The block's largest of `v` (all threads call it; red: one float per warp
// of shared memory that nothing else uses meanwhile).
__device__ __forceinline__ float block_max(float v, float* red) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  const int warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  if ((threadIdx.x & 31) == 0) red[warp] = v;
  __syncthreads();
  float m = red[0];
  for (int w = 1; w < warps; ++w) m = fmaxf(m, red[w]);
  return m;
}

// Row `src` (k values of T, chunks 32-value chunks) into the staged f16x2
// layout at dst (a_sm_index, row 0), scaled by 2^s; returns 2^-s, the
// factor the pair sums take at the end. All threads of the block call it;
// it ends with a block barrier. coherent: L2 loads (a row other blocks of
// the grid wrote) rather than the read-only path. `h` holds the row's
// first pieces (stage_load_pieces), so rows of up to kStageHeld *
// blockDim.x pieces (K = 4096 at 128 threads) wait for global memory once;
// longer rows load the rest twice.
template <class T>
__device__ __forceinline__ float mx_h2_stage_held(const uint4* src, const StagedPieces& h, uint4* dst, int chunks,
                                                  float* red, bool coherent) {
  using GC = GemvChunk<T, WeightFormat::kMxfp4>;
  const int pieces = chunks * GC::kSubs, step = blockDim.x;
  auto load = [&](int g) { return coherent ? __ldcg(src + g) : __ldg(src + g); };
  float amax = 0.f;
#pragma unroll
  for (int j = 0; j < kStageHeld; ++j) amax = fmaxf(amax, mx_h2_amax8<T>(h.held[j]));
  for (int g = threadIdx.x + kStageHeld * step; g < pieces; g += step) amax = fmaxf(amax, mx_h2_amax8<T>(load(g)));
  const int s = mx_h2_row_shift(block_max(amax, red));
  const float scale = pow2f(s);
  auto store = [&](int g, const uint4& v) {
    const int c = g / GC::kSubs, sub = g - c * GC::kSubs;
    dst[a_sm_index<GC>(0, sub, c, chunks)] = mx_h2_piece<T>(v, scale);
  };
#pragma unroll
  for (int j = 0; j < kStageHeld; ++j) {
    const int g = threadIdx.x + j * step;
    if (g < pieces) store(g, h.held[j]);
  }
  for (int g = threadIdx.x + kStageHeld * step; g < pieces; g += step) store(g, load(g));
  __syncthreads();
  return pow2f(-s);
}

// One chunk c of a row pair (w0: row n, w1: row n+1) against the staged
// f16x2 row: acc0 += s.x * (w0 . a), acc1 likewise with s.y, s = scales()
// (called after the products, so a scale load overlaps them).
template <class Scales>
__device__ __forceinline__ void mx_h2_pair_chunk(const uint4& w0, const uint4& w1, Scales scales, const uint4* a_sm,
                                                 int c, int chunks, float& acc0, float& acc1) {
  using GC = GemvChunk<__half, WeightFormat::kMxfp4>;
  const uint32_t x0[4] = {w0.x, w0.y, w0.z, w0.w}, x1[4] = {w1.x, w1.y, w1.z, w1.w};
  // All 16 products of a lane's half-word pair (the chunk's 4 sub-steps)
  // in one f16x2 chain per row, then one conversion to f32.
  __half2 p0 = __float2half2_rn(0.f), p1 = p0;
#pragma unroll
  for (int sub = 0; sub < 4; ++sub) {
    const uint4 av = a_sm[a_sm_index<GC>(0, sub, c, chunks)];
    const uint32_t aw[4] = {av.x, av.y, av.z, av.w};
    uint32_t h0[4], h1[4];
    decode8_f16x2(x0[sub], h0);
    decode8_f16x2(x1[sub], h1);
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const __half2 a = *reinterpret_cast<const __half2*>(&aw[i]);
      p0 = __hfma2(*reinterpret_cast<const __half2*>(&h0[i]), a, p0);
      p1 = __hfma2(*reinterpret_cast<const __half2*>(&h1[i]), a, p1);
    }
  }
  const float2 f0 = __half22float2(p0), f1 = __half22float2(p1);
  const float d0 = f0.x + f0.y, d1 = f1.x + f1.y;
  const float2 s = scales();
  acc0 = fmaf(s.x, d0, acc0);
  acc1 = fmaf(s.y, d1, acc1);
}

}  // namespace moert_cuda
