// The wgmma kernel's epilogue through shared memory (grouped_gemm_sm90.cu):
// one consumer warp finishes its 16 x WN accumulator fragment with the same
// finisher arithmetic as the direct stores (fragment_epilogue.cuh), writes it
// 128 output bytes of every row at a time into a 2 KB tile of its own, and
// copies the tile out with 16-byte stores, 8 lanes to a row.
//
// Why: the fragment layout puts 2 columns of 8 rows in every quad of lanes,
// so a direct store instruction writes 8 rows x 16 bytes (x 8 bytes for the
// gated kinds, one output per column pair): 8 partial sectors on 8 lines,
// and 64 such stores a thread for a 64 x 256 fragment. Staged, a warp's
// store writes 4 rows x 128 bytes, whole sectors, and a thread issues 16
// (8 for the gated kinds). The consumers of a block run their epilogue
// while no MMA runs, so its length is the block's idle tensor time per item.
//
// The tile is 16 rows x 128 bytes, 128-byte swizzled (16-byte chunk c of row
// r at r * 128 + ((c ^ (r % 8)) * 16)), so both the fragment writes (8 rows
// of one chunk column per instruction) and the row reads are free of bank
// conflicts.
#pragma once

#include <type_traits>

#include "fragment_epilogue.cuh"

namespace moert_cuda {

constexpr int kStagedTileBytes = 16 * 128;  // one consumer warp's tile

// Host side: whether the staged epilogue can write p's output: with_fragment_finish
// picks a finisher with kStaged for it (the same conditions), and its output
// chunks are 16-byte aligned (8 output columns each, none partial).
inline bool staged_epilogue_fits(const GemmParams& p) {
  if (p.a_scale || p.ldc % 8 != 0 || (reinterpret_cast<uintptr_t>(p.c) & 15) != 0) return false;
  if (p.epi == Epilogue::kActPairs) return (p.act == kSiluAndMul || p.act == kSwigluOai) && p.n % 16 == 0;
  return p.epi == Epilogue::kStore && p.n % 8 == 0;
}

// acc[4j + 2h + e] is row (lane / 4) + 8h, column n0 + 8j + 2 (lane % 4) + e
// of the warp's rows pos0 .. pos0 + 15 (sorted positions; those >= row_end
// are not written) and columns n0 .. n0 + WN - 1 (those >= n are not
// computed). `tile`: this warp's kStagedTileBytes of shared memory.
template <class T, int WN, class F>
__device__ __forceinline__ void staged_epilogue(const F& f, const float (&acc)[WN / 2], uint32_t tile, int lane,
                                                int n0, int n, int32_t pos0, int32_t row_end) {
  constexpr bool kGated = F::kStaged == 2;
  constexpr int kJPerChunk = kGated ? 16 : 8;  // fragment column groups (8 wide) per 128 output bytes
  constexpr int kChunks = WN / (8 * kJPerChunk);
  const int q = lane & 3, wr = lane >> 2;        // fragment: rows wr, wr + 8
  const int rr = lane >> 3, rc = lane & 7;       // copy-out: rows rr + 4i, 16-byte chunk rc
  // Whole warps or fragment halves past the expert's rows do nothing (the
  // direct stores skip them too; a tile's last rows are often empty).
  if (pos0 >= row_end) return;
  const bool upper = pos0 + 8 < row_end;  // rows 8-15 hold some of its rows
  // Row pos0 + lane's destination (lanes 0-15; -1: past the expert's rows),
  // loaded first so its latency overlaps the fragment writes, and shuffled
  // to the copy-out lanes (one register, not four: the accumulators leave
  // the 128 x 256 kernel none to spare).
  int32_t dest = -1;
  if (lane < 16 && pos0 + lane < row_end) {
    if constexpr (F::kIndexed) dest = f.c_index[pos0 + lane];
    else dest = pos0 + lane;
  }
  const int out_n = kGated ? n / 2 : n, out0 = kGated ? n0 / 2 : n0;
#pragma unroll
  for (int ch = 0; ch < kChunks; ++ch) {
#pragma unroll
    for (int jj = 0; jj < kJPerChunk; ++jj) {
      const int j = ch * kJPerChunk + jj;
      if (n0 + 8 * j >= n) break;  // the warp's columns end (n % 8, or % 16 gated, is 0)
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        if (h == 1 && !upper) break;
        const int r = wr + 8 * h;
        const int col = n0 + 8 * j + 2 * q;
        const auto v = f.value(col, acc[4 * j + 2 * h], acc[4 * j + 2 * h + 1]);
        if constexpr (kGated) {
          const uint32_t at = tile + r * 128 + ((((uint32_t)jj >> 1) ^ (uint32_t)(r & 7)) << 4) + 8 * (jj & 1) + 2 * q;
          asm volatile("st.shared.b16 [%0], %1;\n" ::"r"(at), "h"(*reinterpret_cast<const unsigned short*>(&v))
                       : "memory");
        } else {
          const uint32_t at = tile + r * 128 + (((uint32_t)jj ^ (uint32_t)(r & 7)) << 4) + 4 * q;
          asm volatile("st.shared.b32 [%0], %1;\n" ::"r"(at), "r"(v) : "memory");
        }
      }
    }
    __syncwarp();
    const int oc = out0 + ch * 64 + rc * 8;  // first of this lane's 8 output columns
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const int r = rr + 4 * i;
      const int32_t drow = __shfl_sync(0xffffffffu, dest, r);
      if (drow < 0 || oc >= out_n) continue;
      uint32_t w0, w1, w2, w3;
      asm volatile("ld.shared.v4.b32 {%0, %1, %2, %3}, [%4];\n"
                   : "=r"(w0), "=r"(w1), "=r"(w2), "=r"(w3)
                   : "r"(tile + r * 128 + (((uint32_t)rc ^ (uint32_t)(r & 7)) << 4))
                   : "memory");
      T* dst = f.c + (int64_t)drow * f.ldc + oc;
      asm volatile("st.global.v4.b32 [%0], {%1, %2, %3, %4};\n" ::"l"(dst), "r"(w0), "r"(w1), "r"(w2), "r"(w3)
                   : "memory");
    }
    __syncwarp();  // the next chunk overwrites the tile
  }
}

}  // namespace moert_cuda
