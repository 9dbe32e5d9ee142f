// The grouped GEMMs' shared epilogue: where a sorted row's A operand comes
// from, and how two adjacent output columns are finished (per-token scale,
// bias, gated or single activation, or a plain store through c_index).
// Used by every GEMM variant so they write bit-identical results.
#pragma once

#include "activation.cuh"
#include "grouped_gemm.cuh"

namespace moert_cuda {

__device__ __forceinline__ int32_t a_row_of(const GemmParams& p, int32_t pos) {
  return p.a_index ? p.a_index[pos] / p.a_index_div : pos;
}

// Two adjacent output columns (n, n+1) of sorted row `pos`; n is even.
template <class T>
__device__ __forceinline__ void epilogue_pair(const GemmParams& p, int expert, int32_t pos, int n, float v0,
                                              float v1) {
  if (p.a_scale) {
    const float s = p.a_scale[a_row_of(p, pos)];
    v0 *= s;
    v1 *= s;
  }
  if (p.bias) {
    const float* b = p.bias + (int64_t)expert * p.n + n;
    v0 += b[0];
    v1 += b[1];
  }
  T* c = static_cast<T*>(p.c);
  if (p.epi == Epilogue::kActPairs) {
    c[(int64_t)pos * p.ldc + (n >> 1)] = from_float<T>(act_gated(p.act, v0, v1, p.alpha, p.limit));
    return;
  }
  int64_t row = pos;
  if (p.epi == Epilogue::kActSingle) {
    v0 = act_single(p.act, v0);
    v1 = act_single(p.act, v1);
  } else if (p.c_index) {
    row = p.c_index[pos];
  }
  *reinterpret_cast<uint32_t*>(c + row * p.ldc + n) = pack2<T>(v0, v1);
}

}  // namespace moert_cuda
