// The tensor-core GEMMs' epilogue over their register fragments (the wgmma
// consumers in grouped_gemm_sm90.cu, the mma.sync warps in grouped_gemm.cu),
// with the same arithmetic as epilogue_pair (gemm_epilogue.cuh), so every
// GEMM variant still writes bit-identical results.
//
// Why it is specialized: the fragment loop must be unrolled (the
// accumulators are registers), and with epilogue_pair's runtime branches
// (scale, bias, epilogue kind, activation) inside every unrolled pair, the
// wgmma kernel was about 190 KB of SASS, most of it this loop. Nsight
// Compute on the H200 (qwen3, 4096 tokens) put a third of the kernel's warp
// samples in it, mostly "no instruction" stalls: instruction-cache misses.
// So the common kinds get a loop of their own, with the branches decided
// once per tile, and the others keep the generic pair.
#pragma once

#include "gemm_epilogue.cuh"

namespace moert_cuda {

// Epilogue::kActPairs with activation ACT and optional bias, no per-token scale.
template <class T, int ACT, bool BIAS>
struct GatedPairsFinish {
  T* c;
  int64_t ldc;
  const float* bias;  // this expert's row of p.bias
  float alpha, limit;
  // staged_epilogue.cuh: one output column per input pair, rows not indexed.
  static constexpr int kStaged = 2;
  static constexpr bool kIndexed = false;
  __device__ __forceinline__ T* row_of(int32_t pos) const { return c + (int64_t)pos * ldc; }
  __device__ __forceinline__ T value(int n, float v0, float v1) const {
    if (BIAS) {
      v0 += bias[n];
      v1 += bias[n + 1];
    }
    return from_float<T>(act_gated(ACT, v0, v1, alpha, limit));
  }
  __device__ __forceinline__ void pair(T* out, int n, float v0, float v1) const { out[n >> 1] = value(n, v0, v1); }
};

// Epilogue::kStore with optional bias and optional c_index, no per-token scale.
template <class T, bool BIAS, bool INDEXED>
struct StoreFinish {
  T* c;
  int64_t ldc;
  const float* bias;
  const int32_t* c_index;
  // staged_epilogue.cuh: two output columns per input pair, rows through c_index when INDEXED.
  static constexpr int kStaged = 1;
  static constexpr bool kIndexed = INDEXED;
  __device__ __forceinline__ T* row_of(int32_t pos) const {
    return c + (int64_t)(INDEXED ? c_index[pos] : pos) * ldc;
  }
  __device__ __forceinline__ uint32_t value(int n, float v0, float v1) const {
    if (BIAS) {
      v0 += bias[n];
      v1 += bias[n + 1];
    }
    return pack2<T>(v0, v1);
  }
  __device__ __forceinline__ void pair(T* out, int n, float v0, float v1) const {
    *reinterpret_cast<uint32_t*>(out + n) = value(n, v0, v1);
  }
};

// Everything else (per-token scale, kActSingle, the GELU gates): epilogue_pair.
template <class T>
struct GenericFinish {
  static constexpr int kStaged = 0;  // stores directly
  const GemmParams* p;
  int expert;
  __device__ __forceinline__ int32_t row_of(int32_t pos) const { return pos; }
  __device__ __forceinline__ void pair(int32_t pos, int n, float v0, float v1) const {
    epilogue_pair<T>(*p, expert, pos, n, v0, v1);
  }
};

// Calls loop(finish) once, with the finisher of p's epilogue kind: the
// specialized ones for the common kinds, GenericFinish for the rest. `loop`
// is a generic lambda holding the caller's unrolled fragment loop; it runs
// for f.row_of(pos) once per row and f.pair(row, n, v0, v1) per column pair,
// so each kind gets its own copy of the loop with no branches inside.
template <class T, class Loop>
__device__ __forceinline__ void with_fragment_finish(const GemmParams& p, int expert, const Loop& loop) {
  if (!p.a_scale) {
    T* c = static_cast<T*>(p.c);
    const float* bias = p.bias ? p.bias + (int64_t)expert * p.n : nullptr;
    if (p.epi == Epilogue::kActPairs && p.act == kSiluAndMul) {
      if (bias) return loop(GatedPairsFinish<T, kSiluAndMul, true>{c, p.ldc, bias, p.alpha, p.limit});
      return loop(GatedPairsFinish<T, kSiluAndMul, false>{c, p.ldc, nullptr, p.alpha, p.limit});
    }
    if (p.epi == Epilogue::kActPairs && p.act == kSwigluOai) {
      if (bias) return loop(GatedPairsFinish<T, kSwigluOai, true>{c, p.ldc, bias, p.alpha, p.limit});
      return loop(GatedPairsFinish<T, kSwigluOai, false>{c, p.ldc, nullptr, p.alpha, p.limit});
    }
    if (p.epi == Epilogue::kStore) {
      if (bias && p.c_index) return loop(StoreFinish<T, true, true>{c, p.ldc, bias, p.c_index});
      if (bias) return loop(StoreFinish<T, true, false>{c, p.ldc, bias, nullptr});
      if (p.c_index) return loop(StoreFinish<T, false, true>{c, p.ldc, nullptr, p.c_index});
      return loop(StoreFinish<T, false, false>{c, p.ldc, nullptr, nullptr});
    }
  }
  loop(GenericFinish<T>{&p, expert});
}

}  // namespace moert_cuda
