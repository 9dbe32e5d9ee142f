// aiter_layout.h -- AMD aiter's pre-shuffled MXFP4 layouts, as index
// functions shared by the host (weight preparation, tests) and the GEMM
// kernel, which reads weights and scales directly in these layouts.
//
//   shuffle_weight(w, layout=(16,16)) on u8 [B, N, Kb] (Kb = K/2 bytes):
//     view (B, N/16, 16, Kb/32, 2, 16) -> permute (0,1,3,4,2,5)
//     => every 16 rows x 32 bytes (64 fp4 values) is one contiguous 512-byte
//        block [2][16 rows][16 bytes], and each 16-row group is contiguous
//        along K. Needs N % 16 == 0 and Kb % 32 == 0.
//   e8m0_shuffle(s) on a 2-D [rows, cols] scale tensor (for MoE: rows = E*N,
//     cols = K/32): pad rows to 256 and cols to 8, then
//     view (sm/32, 2, 16, sn/8, 2, 4) -> permute (0,3,5,2,4,1).
//   a16w4 gate/up interleave: w13 rows in blocks of 16 gate rows followed by
//     the 16 matching up rows (aiter's shuffle_weight_a16w4 with gate_up=True;
//     with Kb % 64 == 0 its in-block order equals shuffle_weight(16,16)).
#pragma once

#include <stdint.h>

#include <string>
#include <vector>

#include "numeric_formats.h"

namespace moert_hip {

// How the 2I rows of w13 hold gate and up (moert_gate_up_layout + aiter a16w4).
enum RowMode : int32_t { kRowsConcat = 0, kRowsInterleaved = 1, kRowsBlock16 = 2 };

MOERT_HD int64_t gate_row(int64_t j, int64_t I, int32_t mode) {
  (void)I;  // same signature as up_row
  return mode == kRowsConcat ? j : mode == kRowsInterleaved ? 2 * j : ((j >> 4) << 5) + (j & 15);
}
MOERT_HD int64_t up_row(int64_t j, int64_t I, int32_t mode) {
  return mode == kRowsConcat ? I + j
                             : mode == kRowsInterleaved ? 2 * j + 1 : ((j >> 4) << 5) + 16 + (j & 15);
}

// Byte offset of (b, n, kb) of a [B, N, Kb] u8 tensor after shuffle_weight(16,16).
MOERT_HD int64_t shuffled_weight_offset(int64_t b, int64_t n, int64_t kb, int64_t N, int64_t Kb) {
  const int64_t n0 = n >> 4, n1 = n & 15, k0 = kb >> 5, k1 = (kb >> 4) & 1, k2 = kb & 15;
  return ((((b * (N >> 4) + n0) * (Kb >> 5) + k0) * 2 + k1) * 16 + n1) * 16 + k2;
}

MOERT_HD int64_t scale_padded_rows(int64_t rows) { return (rows + 255) / 256 * 256; }
MOERT_HD int64_t scale_padded_cols(int64_t cols) { return (cols + 7) / 8 * 8; }

// Offset of (r, c) in the e8m0_shuffle'd [padded_rows, padded_cols] tensor.
MOERT_HD int64_t shuffled_scale_offset(int64_t r, int64_t c, int64_t padded_cols) {
  const int64_t r0 = r >> 5, r1 = (r >> 4) & 1, r2 = r & 15;
  const int64_t c0 = c >> 3, c1 = (c >> 2) & 1, c2 = c & 3;
  return ((((r0 * (padded_cols >> 3) + c0) * 4 + c2) * 16 + r2) * 2 + c1) * 2 + r1;
}

// ---------------------------------------------------------- host helpers --
// All take compact row-major buffers and write into a caller-sized output.

inline void shuffle_weight_16x16(const uint8_t* src, uint8_t* dst, int64_t B, int64_t N, int64_t Kb) {
  for (int64_t b = 0; b < B; ++b)
    for (int64_t n = 0; n < N; ++n)
      for (int64_t kb = 0; kb < Kb; kb += 16)  // 16 consecutive bytes stay together
        for (int64_t i = 0; i < 16; ++i)
          dst[shuffled_weight_offset(b, n, kb + i, N, Kb)] = src[(b * N + n) * Kb + kb + i];
}
inline void unshuffle_weight_16x16(const uint8_t* src, uint8_t* dst, int64_t B, int64_t N, int64_t Kb) {
  for (int64_t b = 0; b < B; ++b)
    for (int64_t n = 0; n < N; ++n)
      for (int64_t kb = 0; kb < Kb; ++kb)
        dst[(b * N + n) * Kb + kb] = src[shuffled_weight_offset(b, n, kb, N, Kb)];
}

// dst holds scale_padded_rows(rows) * scale_padded_cols(cols) bytes; padding is 0.
inline void e8m0_shuffle(const uint8_t* src, uint8_t* dst, int64_t rows, int64_t cols) {
  const int64_t pr = scale_padded_rows(rows), pc = scale_padded_cols(cols);
  for (int64_t i = 0; i < pr * pc; ++i) dst[i] = 0;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) dst[shuffled_scale_offset(r, c, pc)] = src[r * cols + c];
}
inline void e8m0_unshuffle(const uint8_t* src, uint8_t* dst, int64_t rows, int64_t cols) {
  const int64_t pc = scale_padded_cols(cols);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) dst[r * cols + c] = src[shuffled_scale_offset(r, c, pc)];
}

// Reorders the rows of [E, 2I, row_bytes] from one gate/up row mode to
// another (e.g. gpt-oss interleaved -> concat -> a16w4 block16). Works for
// weights (row_bytes = H/2), scales (H/32) and f32 biases (4).
inline void convert_gate_up_rows(const uint8_t* src, uint8_t* dst, int64_t E, int64_t I,
                                 int64_t row_bytes, int32_t from, int32_t to) {
  for (int64_t e = 0; e < E; ++e)
    for (int64_t j = 0; j < I; ++j)
      for (int half = 0; half < 2; ++half) {
        const int64_t rs = half ? up_row(j, I, from) : gate_row(j, I, from);
        const int64_t rd = half ? up_row(j, I, to) : gate_row(j, I, to);
        const uint8_t* s = src + (e * 2 * I + rs) * row_bytes;
        uint8_t* d = dst + (e * 2 * I + rd) * row_bytes;
        for (int64_t i = 0; i < row_bytes; ++i) d[i] = s[i];
      }
}

// aiter's 0/1 expert mask over physical experts, derived from moert's map
// (global id -> local index or -1). aiter numbers the local experts by the
// running count of the mask, so the map must list the local experts in
// increasing local order; returns "" or what breaks that convention.
inline std::string expert_mask_from_map(const std::vector<int32_t>& map, int32_t num_local,
                                        std::vector<uint8_t>* mask) {
  mask->assign(map.size(), 0);
  int32_t next = 0;
  for (size_t g = 0; g < map.size(); ++g) {
    if (map[g] < 0) continue;
    if (map[g] != next)
      return "expert_map[" + std::to_string(g) + "] = " + std::to_string(map[g]) + ", expected local index " +
             std::to_string(next) + " (local experts must be numbered in global order, as aiter's mask implies)";
    (*mask)[g] = 1;
    ++next;
  }
  if (next != num_local)
    return "expert_map has " + std::to_string(next) + " local experts, num_local_experts is " +
           std::to_string(num_local);
  return "";
}

}  // namespace moert_hip
