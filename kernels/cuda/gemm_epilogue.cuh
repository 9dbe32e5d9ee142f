// The grouped GEMMs' shared epilogue: where a sorted row's A operand comes
// from, which rows a row tile covers, and how two adjacent output columns are
// finished (per-token scale, bias, gated or single activation, or a plain
// store through c_index).
// Used by every GEMM variant so they write bit-identical results.
#pragma once

#include "activation.cuh"
#include "grouped_gemm.cuh"

namespace moert_cuda {

__device__ __forceinline__ int32_t a_row_of(const GemmParams& p, int32_t pos) {
  return p.a_index ? p.a_index[pos] / p.a_index_div : pos;
}

// Group (expert, rows) of row tile `tile` (tile_expert/tile_row0/tile_count,
// or one group of m rows when expert_offsets is null). False: no work.
__device__ __forceinline__ bool mma_tile_of(const GemmParams& p, int tile, int rows_per_tile, int& expert,
                                            int32_t& row0, int32_t& row_end) {
  if (p.expert_offsets) {
    if (tile >= *p.tile_count) return false;
    expert = p.tile_expert[tile];
    row0 = p.tile_row0[tile];
    row_end = p.expert_offsets[expert + 1];
  } else {
    expert = 0;
    row0 = tile * rows_per_tile;
    row_end = p.m;
  }
  return row0 < row_end;
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
