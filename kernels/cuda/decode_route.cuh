// One-token decode: the routing done inside the first decode GEMV's blocks
// (grouped_gemv_bulk.cu) instead of a separate route-and-sort kernel.
//
// Why: at one token the layer is four short kernels in a row (route + sort,
// GEMV1, GEMV2, combine), and the first one sits on the critical path before
// any weight byte is requested. Routing one token is one warp's work over E
// logits, so every block of GEMV1 does it itself from the logits, then
// streams its expert's rows; block (0,0) also publishes what the
// route-and-sort kernel would have written (top-k weights and local ids,
// offsets, sorted slots, active experts, row tiles) for the kernels after it,
// and records the EPLB load, once.
//
// (Routing GEMV2 the same way before its griddepcontrol.wait and summing the
// top-k results in it, in place of the combine, was measured on the H200 and
// removed: with one warp per output pair and all the token's rows staged it
// had too few warps in flight; see docs/cuda-backend.md.)
#pragma once

#include "routing_device.cuh"
#include "sort_align.cuh"

namespace moert_cuda {

// Routed experts whose scores fit the blocks' shared memory (2 floats each).
constexpr int kDecodeRouteMaxExperts = 1024;

struct DecodeFusion {
  RoutingParams route;  // one token; outputs are published by block (0,0)
  SortBuffers sort;     // what route_and_sort would write (published with it)
  int32_t num_local_experts;
  unsigned int* tickets = nullptr;  // zeroed by the publishing block (GEMV2's combine tickets), or null
  int32_t ntickets = 0;
  // With tickets: the layer's output row, which the publishing block zeroes
  // when the token has no local slot (GEMV2 then has no block to combine it).
  void* out = nullptr;
  int32_t out_bytes = 0;  // a multiple of 16
  // Diagnostics (MOERT_CUDA_FUSED_TRACE, plugins/cuda/fused_trace.h): the
  // fused one-token kernel's time stamps (grouped_gemv_bulk.cuh), or null.
  unsigned long long* trace = nullptr;
};

// The routed token, in a block's shared memory.
struct DecodeRoute {
  int32_t ids[32];          // local expert per slot, -1 when not local
  float w[32];              // routing weight per slot
  int32_t active[32];       // local experts with a slot, ascending (the sort's order)
  int32_t sorted_slot[32];  // slot of sorted row i (one row per active expert)
  int32_t nact;             // active experts (= local slots)
};

inline size_t decode_route_smem(int num_experts) {
  return (sizeof(DecodeRoute) + 2 * sizeof(float) * (size_t)num_experts + 15) & ~size_t{15};
}

// Routes token 0 into `r` (warp 0; `scores` is 2 * num_experts floats of
// shared memory), then the block syncs. publish: this block also writes the
// global routing and sort outputs and records the EPLB load. hook(step), by
// warp 0: route_token's steps 0-2, then 3 once it is done (the fused
// kernel's trace stamps). kRegs: as route_token's.
template <bool kRegs = true, class Hook = NoRouteHook>
__device__ __forceinline__ void decode_route_block(const DecodeFusion& f, DecodeRoute* r, float* scores, bool publish,
                                                   Hook hook = {}) {
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int K = f.route.top_k;
  if (warp == 0) {
    RoutingParams rp = f.route;
    rp.tokens = 1;
    rp.topk_weights = r->w;  // generic pointers into shared memory
    rp.local_ids = r->ids;
    if (!publish) rp.expert_load = nullptr;  // the load is counted once per forward
    route_token<kRegs>(rp, 0, scores, lane, hook);
    hook(3);
    __syncwarp();
    const int32_t id = lane < K ? r->ids[lane] : -1;
    const unsigned valid = __ballot_sync(0xffffffffu, id >= 0);
    // Distinct experts (one token): the sorted row of an expert is its rank.
    int rank = 0;
    for (int j = 0; j < K; ++j) {
      const int32_t o = __shfl_sync(0xffffffffu, id, j);
      rank += o >= 0 && o < id;
    }
    if (id >= 0) {
      r->active[rank] = id;
      r->sorted_slot[rank] = lane;
    }
    if (lane == 0) r->nact = __popc(valid);
  }
  __syncthreads();
  if (!publish) return;
  const SortBuffers& s = f.sort;
  const int nact = r->nact;
  for (int i = threadIdx.x; i < K; i += blockDim.x) {
    f.route.topk_weights[i] = r->w[i];
    f.route.local_ids[i] = r->ids[i];
  }
  for (int i = threadIdx.x; i < nact; i += blockDim.x) {
    s.active[i] = r->active[i];
    s.sorted_slot[i] = r->sorted_slot[i];
    s.tile_expert[i] = r->active[i];  // one row: one row tile per active expert
    s.tile_row0[i] = i;
  }
  for (int e = threadIdx.x; e <= f.num_local_experts; e += blockDim.x) {
    int c = 0;
    for (int j = 0; j < nact; ++j) c += r->active[j] < e;
    s.offsets[e] = c;
  }
  if (threadIdx.x == 0) {
    *s.active_count = nact;
    s.tile_count[0] = nact;
    s.tile_count[1] = 0;
    s.tile_count[2] = 0;
  }
  for (int i = threadIdx.x; i < f.ntickets; i += blockDim.x) f.tickets[i] = 0u;
  if (f.tickets && nact == 0)
    for (int i = threadIdx.x; i < f.out_bytes / 16; i += blockDim.x) static_cast<uint4*>(f.out)[i] = make_uint4(0, 0, 0, 0);
}

}  // namespace moert_cuda
