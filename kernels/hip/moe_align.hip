// Token-to-expert grouping ("align"): one block counts the slots of each
// local expert, scans the per-expert tile counts and scatters the slot
// indices into kTileM-row tiles. The order inside a tile is not fixed
// (atomics), which does not change any result: every slot's output row is
// computed independently and written to its own place.
#include "moe_kernels.h"

namespace moert_hip {
namespace {

constexpr int kThreads = 1024;

__global__ void moe_align_kernel(const int32_t* topk_ids, int64_t slots, const int32_t* expert_map,
                                 int64_t map_len, int E_local, int32_t* slot_local, int32_t* sorted_slots,
                                 int32_t* tile_expert, int64_t max_tiles) {
  extern __shared__ int32_t smem[];
  int32_t* count = smem;               // [E_local]  slots per expert, then fill cursor
  int32_t* tile_start = smem + E_local;  // [E_local]  first tile of each expert
  __shared__ int32_t chunk_sum[kThreads];
  const int tid = threadIdx.x;
  for (int e = tid; e < E_local; e += kThreads) count[e] = 0;
  __syncthreads();
  for (int64_t s = tid; s < slots; s += kThreads) {
    const int32_t g = topk_ids[s];
    int32_t local;
    if (expert_map) local = (g >= 0 && g < map_len) ? expert_map[g] : -1;  // mask == 0 -> -1
    else local = (g >= 0 && g < E_local) ? g : -1;
    slot_local[s] = local;
    if (local >= 0) atomicAdd(&count[local], 1);
  }
  __syncthreads();
  // Exclusive scan of tiles per expert: each thread owns a contiguous chunk.
  const int per = (E_local + kThreads - 1) / kThreads;
  const int lo = tid * per, hi = min(E_local, lo + per);
  int32_t mine = 0;
  for (int e = lo; e < hi; ++e) mine += (count[e] + kTileM - 1) / kTileM;
  chunk_sum[tid] = mine;
  __syncthreads();
  for (int off = 1; off < kThreads; off <<= 1) {
    int32_t v = tid >= off ? chunk_sum[tid - off] : 0;
    __syncthreads();
    chunk_sum[tid] += v;
    __syncthreads();
  }
  const int32_t total_tiles = chunk_sum[kThreads - 1];
  int32_t run = chunk_sum[tid] - mine;
  for (int e = lo; e < hi; ++e) {
    tile_start[e] = run;
    const int32_t nt = (count[e] + kTileM - 1) / kTileM;
    for (int32_t i = 0; i < nt; ++i) tile_expert[run + i] = e;
    run += nt;
  }
  for (int64_t i = total_tiles + tid; i < max_tiles; i += kThreads) tile_expert[i] = -1;
  for (int64_t i = tid; i < static_cast<int64_t>(total_tiles) * kTileM; i += kThreads) sorted_slots[i] = -1;
  __syncthreads();
  for (int e = tid; e < E_local; e += kThreads) count[e] = 0;
  __syncthreads();
  for (int64_t s = tid; s < slots; s += kThreads) {
    const int32_t local = slot_local[s];
    if (local < 0) continue;
    const int32_t pos = atomicAdd(&count[local], 1);
    sorted_slots[static_cast<int64_t>(tile_start[local]) * kTileM + pos] = static_cast<int32_t>(s);
  }
}

}  // namespace

int64_t moe_max_tiles(int64_t slots, int64_t E_local) {
  // sum_e ceil(c_e / M) <= (#experts with c_e > 0) + slots / M
  const int64_t used = slots < E_local ? slots : E_local;
  return used + slots / kTileM;
}

hipError_t launch_moe_align(const int32_t* topk_ids, int64_t slots, const int32_t* expert_map, int64_t map_len,
                            int E_local, int32_t* slot_local, int32_t* sorted_slots, int32_t* tile_expert,
                            int64_t max_tiles, hipStream_t stream) {
  const size_t smem = 2 * sizeof(int32_t) * static_cast<size_t>(E_local);
  moe_align_kernel<<<1, kThreads, smem, stream>>>(topk_ids, slots, expert_map, map_len, E_local, slot_local,
                                                 sorted_slots, tile_expert, max_tiles);
  return hipGetLastError();
}

}  // namespace moert_hip
