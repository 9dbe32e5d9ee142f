// Sort/align kernel (see sort_align.cuh). One block: counts with shared
// atomics, one block-wide scan (rows, active experts, row tiles), a scatter.
// The order of rows inside an expert is not fixed; every row's result
// depends only on its own slot, so outputs are deterministic anyway.
#include "sort_align.cuh"

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

__global__ void __launch_bounds__(kThreads) sort_align_kernel(const int32_t* __restrict__ ids, int64_t slots,
                                                              int experts, int tile_rows, SortBuffers out) {
  pdl_begin();
  using Scan = cub::BlockScan<Triple, kThreads>;
  __shared__ typename Scan::TempStorage scan_tmp;
  extern __shared__ int32_t sm[];
  int32_t* count = sm;             // [experts]
  int32_t* cursor = sm + experts;  // [experts]
  for (int e = threadIdx.x; e < experts; e += blockDim.x) count[e] = 0;
  __syncthreads();
  for (int64_t s = threadIdx.x; s < slots; s += blockDim.x) {
    const int32_t e = ids[s];
    if (e >= 0 && e < experts) atomicAdd(&count[e], 1);
  }
  __syncthreads();
  // Thread i owns experts [4i, 4i+4): rows, active flags and row tiles are
  // scanned together, then each thread writes its experts' entries.
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
    out.offsets[e] = base.a;
    cursor[e] = base.a;
    if (c > 0) out.active[base.b++] = e;
    for (int r = 0; r < c; r += tile_rows, ++base.c) {
      out.tile_expert[base.c] = e;
      out.tile_row0[base.c] = base.a + r;
    }
    base.a += c;
  }
  if (threadIdx.x == 0) {
    out.offsets[experts] = total.a;
    *out.active_count = total.b;
    *out.tile_count = total.c;
  }
  __syncthreads();
  for (int64_t s = threadIdx.x; s < slots; s += blockDim.x) {
    const int32_t e = ids[s];
    if (e >= 0 && e < experts) out.sorted_slot[atomicAdd(&cursor[e], 1)] = static_cast<int32_t>(s);
  }
}

}  // namespace

void launch_sort_align(const int32_t* local_ids, int64_t slots, int num_local_experts, int tile_rows,
                       const SortBuffers& out, cudaStream_t stream) {
  const size_t smem = sizeof(int32_t) * 2 * num_local_experts;
  launch_pdl(true, sort_align_kernel, 1, kThreads, smem, stream, "sort_align", local_ids, slots, num_local_experts, tile_rows,
             out);
  MOERT_CUDA_LAUNCH_CHECK("sort_align");
}

}  // namespace moert_cuda
