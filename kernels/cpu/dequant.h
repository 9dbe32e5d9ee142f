// Block dequantization of a few rows of one expert matrix into f32, for the
// large-batch path: the expert loop dequantizes a tile of rows, multiplies it
// with oneDNN and moves on, so no dequantized copy of an expert (let alone of
// all experts) ever exists.
#pragma once

#include <cstdint>

#include "isa_kernels.h"

namespace moert_cpu {

// out [rows, K] f32 (row stride K) = W[n0 + r, :] for r < rows; rows past the
// matrix end (n0 + r >= n_total) are zero-filled.
void dequant_rows(const RowMajorWeights& w, int64_t n_total, int64_t n0, int64_t rows, float* out);

}  // namespace moert_cpu
