// Sort/align kernels (see sort_align.cuh). One block: counts with shared
// atomics, one block-wide scan (rows, active experts, row tiles), a scatter.
// Large batches: the same over many blocks (count, then scan and scatter).
// The order of rows inside an expert is not fixed; every row's result
// depends only on its own slot, so outputs are deterministic anyway.
#include "sort_align.cuh"

#include "routing_device.cuh"

#include <cub/block/block_scan.cuh>

namespace moert_cuda {
namespace {

constexpr int kThreads = 1024;
constexpr int kExpertsPerThread = 4;  // E_local <= 4096

// Exclusive block-wide prefix sums of three counters at once (one pass).
struct Triple {
  int a, b, c;
  __device__ Triple operator+(const Triple& o) const { return {a + o.a, b + o.b, c + o.c}; }
};

// Warp scans (two levels of shuffles) rather than CUB's default raking: fewer
// barriers on this one-block critical path.
using Scan = cub::BlockScan<Triple, kThreads, cub::BLOCK_SCAN_WARP_SCANS>;

// The scan over the experts' row counts `count` by one block: thread i owns
// experts [4i, 4i+4), whose rows, active flags and row tiles are scanned
// together; at(e, first) gets each of its experts' first sorted row, and
// with `write` the thread also writes their offsets, active-list entries and
// row tiles (thread 0 the totals). Shared by the one-block and many-block
// sorts, so both lay their outputs out the same way.
template <class At>
__device__ __forceinline__ void scan_experts(const int32_t* count, int experts, int tile_rows, const SortBuffers& out,
                                             bool write, typename Scan::TempStorage& scan_tmp, At at) {
  const int e0 = threadIdx.x * kExpertsPerThread;
  Triple mine{0, 0, 0};
  for (int j = 0; j < kExpertsPerThread; ++j) {
    const int e = e0 + j;
    if (e < experts) {
      const int c = count[e];
      mine = mine + Triple{c, c > 0, (c + tile_rows - 1) / tile_rows};
    }
  }
  Triple base, total;
  Scan(scan_tmp).ExclusiveSum(mine, base, total);
  for (int j = 0; j < kExpertsPerThread; ++j) {
    const int e = e0 + j;
    if (e >= experts) break;
    const int c = count[e];
    at(e, base.a);
    if (write) {
      out.offsets[e] = base.a;
      if (c > 0) out.active[base.b] = e;
      for (int r = 0; r < c; r += tile_rows, ++base.c) {
        out.tile_expert[base.c] = e;
        out.tile_row0[base.c] = base.a + r;
      }
    }
    base.b += c > 0;
    base.a += c;
  }
  if (write && threadIdx.x == 0) {
    out.offsets[experts] = total.a;
    *out.active_count = total.b;
    out.tile_count[0] = total.c;
    out.tile_count[1] = 0;
    out.tile_count[2] = 0;
  }
}

// The whole sort, by one block of kThreads; `sm` is 2 * experts ints.
__device__ __forceinline__ void sort_align_block(const int32_t* __restrict__ ids, int64_t slots, int experts,
                                                 int tile_rows, SortBuffers out, int32_t* sm,
                                                 typename Scan::TempStorage& scan_tmp) {
  int32_t* count = sm;             // [experts]
  int32_t* cursor = sm + experts;  // [experts]
  for (int e = threadIdx.x; e < experts; e += blockDim.x) count[e] = 0;
  __syncthreads();
  for (int64_t s = threadIdx.x; s < slots; s += blockDim.x) {
    const int32_t e = ids[s];
    if (e >= 0 && e < experts) atomicAdd(&count[e], 1);
  }
  __syncthreads();
  scan_experts(count, experts, tile_rows, out, true, scan_tmp, [&](int e, int32_t first) { cursor[e] = first; });
  __syncthreads();
  for (int64_t s = threadIdx.x; s < slots; s += blockDim.x) {
    const int32_t e = ids[s];
    if (e >= 0 && e < experts) out.sorted_slot[atomicAdd(&cursor[e], 1)] = static_cast<int32_t>(s);
  }
}

__global__ void __launch_bounds__(kThreads) sort_align_kernel(const int32_t* __restrict__ ids, int64_t slots,
                                                              int experts, int tile_rows, SortBuffers out) {
  pdl_begin();
  __shared__ typename Scan::TempStorage scan_tmp;
  extern __shared__ int32_t sm[];
  sort_align_block(ids, slots, experts, tile_rows, out, sm, scan_tmp);
}

// Small batches: routing and the sort in one block, one launch and one round
// trip fewer. Warp w routes token w (at most one token per warp: routing
// 64 tokens with 8 warps made 64-token forwards 13-28 us slower); the routed ids
// are global writes of this block, visible to all its threads after the
// barrier.
constexpr int kRouteWarps = kThreads / 32;
static_assert(kRouteSortMaxTokens <= kRouteWarps, "one token per warp");
// One instance per routing variant V (route_variant, routing_device.cuh).
template <int V>
__global__ void __launch_bounds__(kThreads) route_sort_kernel(RoutingParams p, int experts, int tile_rows,
                                                              SortBuffers out) {
  pdl_begin();
  __shared__ typename Scan::TempStorage scan_tmp;
  // [2 * experts] ints, [tokens * top_k] routed ids, then [tokens][2 * num_experts] floats
  extern __shared__ int32_t sm[];
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int slots = static_cast<int>(p.tokens) * p.top_k;
  int32_t* ids = sm + 2 * experts;
  float* scores = reinterpret_cast<float*>(ids + slots);
  // The routed ids go to shared memory for the sort (no global round trip),
  // then to the workspace for the combine.
  RoutingParams rp = p;
  rp.local_ids = ids;
  if (warp < p.tokens) route_token_as<V>(rp, warp, scores + warp * 2 * p.num_experts, lane);
  __syncthreads();
  for (int s = threadIdx.x; s < slots; s += blockDim.x) p.local_ids[s] = ids[s];
  sort_align_block(ids, slots, experts, tile_rows, out, sm, scan_tmp);
}

// ---- Large batches: the sort over many blocks.
//
// Why: one block reads every slot twice with its atomics on one SM; on the
// H200 (Nsight Compute, caches kept) it took 152 us for qwen3's 131072 slots
// at 16384 tokens and 22 us for gpt-oss' 16384 at 4096, on the critical path
// between routing and GEMM1. Here block b owns slots [b, b + 1) x kSortChunk:
//   sort_count_kernel:   block b counts its slots per expert into counts[b][e]
//                        (every entry written, so nothing needs zeroing);
//   sort_scatter_kernel: every block sums each expert's column of counts (all
//                        blocks, and the blocks before it), scans the totals as
//                        the one-block kernel does, and places its own slots
//                        after the earlier blocks' rows of each expert; block 0
//                        also writes offsets, active experts and row tiles.
constexpr int kSortChunk = 2048;
constexpr int64_t kSortMultiMinSlots = 4 * kSortChunk;

__global__ void __launch_bounds__(kThreads) sort_count_kernel(const int32_t* __restrict__ ids, int64_t slots,
                                                              int experts, int32_t* __restrict__ counts) {
  pdl_begin();
  extern __shared__ int32_t sm[];  // [experts]
  for (int e = threadIdx.x; e < experts; e += blockDim.x) sm[e] = 0;
  __syncthreads();
  const int64_t s0 = (int64_t)blockIdx.x * kSortChunk, s1 = min(slots, s0 + kSortChunk);
  for (int64_t s = s0 + threadIdx.x; s < s1; s += blockDim.x) {
    const int32_t e = ids[s];
    if (e >= 0 && e < experts) atomicAdd(&sm[e], 1);
  }
  __syncthreads();
  int32_t* mine = counts + (int64_t)blockIdx.x * experts;
  for (int e = threadIdx.x; e < experts; e += blockDim.x) mine[e] = sm[e];
}

__global__ void __launch_bounds__(kThreads) sort_scatter_kernel(const int32_t* __restrict__ ids, int64_t slots,
                                                                int experts, int tile_rows,
                                                                const int32_t* __restrict__ counts, SortBuffers out) {
  pdl_begin();
  __shared__ typename Scan::TempStorage scan_tmp;
  extern __shared__ int32_t sm[];  // [experts] totals, then cursors; [experts] rows of the blocks before this one
  int32_t* total = sm;
  int32_t* before = sm + experts;
  const int blocks = static_cast<int>(gridDim.x);
  for (int e = threadIdx.x; e < experts; e += blockDim.x) total[e] = before[e] = 0;
  __syncthreads();
  // Each expert's column of counts, split over tpe threads.
  const int tpe = max(1, (int)blockDim.x / experts);
  for (int i = threadIdx.x; i < experts * tpe; i += blockDim.x) {
    const int e = i / tpe, part = i - e * tpe;
    int32_t all = 0, mine = 0;
    for (int b = part; b < blocks; b += tpe) {
      const int32_t c = counts[(int64_t)b * experts + e];
      all += c;
      mine += b < (int)blockIdx.x ? c : 0;
    }
    if (all) atomicAdd(&total[e], all);
    if (mine) atomicAdd(&before[e], mine);
  }
  __syncthreads();
  // The cursors overwrite the totals (each thread its own experts', after it read them).
  scan_experts(total, experts, tile_rows, out, blockIdx.x == 0, scan_tmp,
               [&](int e, int32_t first) { total[e] = first + before[e]; });
  __syncthreads();
  const int64_t s0 = (int64_t)blockIdx.x * kSortChunk, s1 = min(slots, s0 + kSortChunk);
  for (int64_t s = s0 + threadIdx.x; s < s1; s += blockDim.x) {
    const int32_t e = ids[s];
    if (e >= 0 && e < experts) out.sorted_slot[atomicAdd(&total[e], 1)] = static_cast<int32_t>(s);
  }
}

size_t route_sort_smem(const RoutingParams& p, int experts) {
  return sizeof(int32_t) * (2 * experts + p.tokens * p.top_k) + sizeof(float) * p.tokens * 2 * (size_t)p.num_experts;
}
constexpr size_t kRouteSortSmemMax = 96 * 1024;

}  // namespace

int64_t sort_block_counts_ints(int64_t slots, int num_local_experts) {
  return slots >= kSortMultiMinSlots ? (slots + kSortChunk - 1) / kSortChunk * num_local_experts : 0;
}

void launch_sort_align(const int32_t* local_ids, int64_t slots, int num_local_experts, int tile_rows,
                       const SortBuffers& out, int32_t* block_counts, cudaStream_t stream) {
  const size_t smem = sizeof(int32_t) * 2 * num_local_experts;
  if (block_counts && slots >= kSortMultiMinSlots) {
    const unsigned blocks = ceil_div(slots, kSortChunk);
    launch_pdl(true, sort_count_kernel, blocks, kThreads, smem / 2, stream, "sort_count", local_ids, slots,
               num_local_experts, block_counts);
    MOERT_CUDA_LAUNCH_CHECK("sort_count");
    launch_pdl(true, sort_scatter_kernel, blocks, kThreads, smem, stream, "sort_scatter", local_ids, slots,
               num_local_experts, tile_rows, static_cast<const int32_t*>(block_counts), out);
    MOERT_CUDA_LAUNCH_CHECK("sort_scatter");
    return;
  }
  launch_pdl(true, sort_align_kernel, 1, kThreads, smem, stream, "sort_align", local_ids, slots, num_local_experts, tile_rows,
             out);
  MOERT_CUDA_LAUNCH_CHECK("sort_align");
}

bool route_and_sort_fits(const RoutingParams& p, int num_local_experts) {
  return p.tokens <= kRouteSortMaxTokens && route_sort_smem(p, num_local_experts) <= kRouteSortSmemMax;
}

void launch_route_and_sort(const RoutingParams& p, int num_local_experts, int tile_rows, const SortBuffers& out,
                           cudaStream_t stream) {
  const size_t smem = route_sort_smem(p, num_local_experts);
  with_route_variant(p.num_experts, [&](auto v) {
    constexpr int V = decltype(v)::value;
    static const cudaError_t attr =
        cudaFuncSetAttribute(route_sort_kernel<V>, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)kRouteSortSmemMax);
    cuda_check(attr, "cudaFuncSetAttribute(route_sort)");
    // No PDL attribute: the forward's first kernel starts after all earlier work.
    route_sort_kernel<V><<<1, kThreads, smem, stream>>>(p, num_local_experts, tile_rows, out);
  });
  MOERT_CUDA_LAUNCH_CHECK("route_sort");
}

}  // namespace moert_cuda
