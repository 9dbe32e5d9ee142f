// Decode GEMV that streams weight rows with bulk asynchronous copies
// (cp.async.bulk, sm_90): each warp reads a contiguous run of row pairs
// through its own ring of shared-memory slots and applies them to the
// expert's token rows (1 per pass when max_rows <= 1, else up to 8).
// See grouped_gemv_bulk.cu.
#pragma once

#include "grouped_gemm.cuh"

namespace moert_cuda {

// Launches the bulk-copy GEMV for `p` (same GemmParams and max_rows
// semantics as launch_grouped_gemv) and returns true, or
// returns false without launching when this call cannot take it: not a
// compute capability 9.0 device, staged token rows over 96 KB, rows or operands not
// 16-byte aligned, or a ring that does not fit in shared memory.
template <class T>
bool launch_gemv_bulk(const GemmParams& p, WeightFormat wf, int64_t max_groups, int64_t max_rows, int forced_ppw,
                      cudaStream_t stream);

}  // namespace moert_cuda
