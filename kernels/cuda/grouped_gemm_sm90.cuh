// Hopper (sm_90a) variant of the tensor-core grouped GEMM for dense bf16/f16
// weights: wgmma.mma_async from 128-byte-swizzled shared memory, one
// producer warpgroup filling a ring (A rows gathered through a_index by
// cp.async, so no plain TMA box; weight tiles by TMA), two consumer
// warpgroups (128 x 256 tiles: 64 rows each; 64 x 256: 128 columns each),
// the same epilogue arithmetic as grouped_mma (fragment_epilogue.cuh).
// Same GemmParams semantics as launch_grouped_mma; grouped_mma_takes_sm90
// (grouped_gemm.cu) routes dense, K % 64 == 0 calls here on compute
// capability 9.0.
#pragma once

#include "grouped_gemm.cuh"

namespace moert_cuda {

// True on a compute capability 9.0 device (cached per device), unless
// MOERT_CUDA_WGMMA=0.
bool grouped_mma_sm90_usable();

// p.k % 64 == 0, dense weights, row tiles of tile_rows = 64 or 128
// (tile_expert/tile_row0/tile_count built with such tiles, or one group of
// p.m rows).
template <class T>
void launch_grouped_mma_sm90(const GemmParams& p, int tile_rows, int64_t max_tiles, cudaStream_t stream);

}  // namespace moert_cuda
