// Token sort and align by expert: groups the routed slots (t*top_k + k) by
// local expert, on the device, in one single-block kernel (two many-block
// kernels for large batches). Produces:
//   offsets [E_local + 1]  start of each expert's rows in sorted order
//   sorted_slot [slots]    slot of each sorted row
//   active / active_count  experts with at least one row (the decode GEMV grid)
//   tile_expert / tile_row0 / tile_count  row tiles of kTileRows per expert (the
//                          tensor-core GEMM grid)
// Launch grids use host-known upper bounds; blocks past the counts exit, so
// nothing waits on the host.
#pragma once

#include "common.cuh"
#include "routing.cuh"

namespace moert_cuda {

struct SortBuffers {
  int32_t* offsets;       // [E_local + 1]
  int32_t* sorted_slot;   // [slots]
  int32_t* active;        // [E_local]
  int32_t* active_count;  // [1]
  int32_t* tile_expert;   // [max_tiles(slots, E_local)]
  int32_t* tile_row0;
  // [3]: [0] the row tiles; [1], [2] zeroed with it, the work-item counters
  // of the wgmma GEMM1 and GEMM2 that run over these tiles (GemmParams::item_counter).
  int32_t* tile_count;
};

// Upper bound of the row tiles for `slots` rows over `experts` experts.
inline int64_t max_row_tiles(int64_t slots, int64_t experts, int tile_rows) {
  return slots / tile_rows + experts;
}

// local_ids [slots], -1 = not local (skipped). Needs E_local <= 4096.
// block_counts: device scratch of sort_block_counts_ints(slots, E_local)
// ints; with it, large batches (that function > 0) sort over many blocks in
// two kernels instead of one block. Null, or a smaller batch: one block.
void launch_sort_align(const int32_t* local_ids, int64_t slots, int num_local_experts, int tile_rows,
                       const SortBuffers& out, int32_t* block_counts, cudaStream_t stream);
// Scratch ints launch_sort_align's many-block sort needs (0: it sorts in one block).
int64_t sort_block_counts_ints(int64_t slots, int num_local_experts);

// Small batches (up to kRouteSortMaxTokens tokens, scores fitting shared
// memory): routing (launch_routing's work) and this sort fused into one
// single-block kernel. Not for custom routing (its ids come from the host's
// function).
constexpr int64_t kRouteSortMaxTokens = 32;  // one token per warp of the block
bool route_and_sort_fits(const RoutingParams& p, int num_local_experts);
void launch_route_and_sort(const RoutingParams& p, int num_local_experts, int tile_rows, const SortBuffers& out,
                           cudaStream_t stream);

}  // namespace moert_cuda
