// Decode GEMV that streams weight rows with bulk asynchronous copies
// (cp.async.bulk, sm_90): each warp reads a contiguous run of row pairs
// through its own ring of shared-memory slots and applies them to the
// expert's token rows (1 per pass when max_rows <= 1, else up to 8).
// See grouped_gemv_bulk.cu.
#pragma once

#include "decode_route.cuh"
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

// Bytes of the weight rows one warp of the bulk kernel streams back to back
// for this call (pairs per warp x 2 rows, as launch_gemv_bulk would run it
// with one token row per expert), or 0 when the call cannot take the kernel.
template <class T>
int64_t gemv_bulk_run_bytes(const GemmParams& p, WeightFormat wf, int64_t max_groups, int forced_ppw);

// One token, no shared expert: GEMV2 also does the combine. Each block
// column x (the output columns [8 x ppw, 8 (x + 1) ppw) that its warps'
// pairs cover, for every active expert row y) takes a ticket once its rows
// are written; the last of the active rows to arrive sums that column range
// over the top-k slots (the combine kernel's arithmetic and order, so the
// output is bit-identical) into `out`. tickets[x] must be zero at launch:
// the routed GEMV1 zeroes `ntickets` of them (DecodeFusion::tickets).
struct CombineTail {
  unsigned int* tickets = nullptr;  // [ntickets], device memory; null: no combine
  const float* weights = nullptr;   // [top_k] routing weights (the routed GEMV1's)
  const int32_t* local_ids = nullptr;  // [top_k], -1: not local
  int top_k = 0;
  void* out = nullptr;  // [n] activation dtype: the layer's output row
};

// GEMV2 with its combine (one token row per expert, bulk kernel): returns
// false without launching when the call cannot take the bulk kernel (as
// launch_gemv_bulk); then the caller runs GEMV2 and the combine kernel.
template <class T>
bool launch_gemv_bulk_combine(const GemmParams& p, WeightFormat wf, int64_t max_groups, const CombineTail& ct,
                              int forced_ppw, cudaStream_t stream);

// Tickets launch_gemv_bulk_combine needs for this call (its grid's columns),
// 0 when the call cannot take it.
template <class T>
int64_t gemv_bulk_combine_tickets(const GemmParams& p, WeightFormat wf, int64_t max_groups, int forced_ppw);

// One token (f.route.tokens == 1, routing not custom, no per-token
// activation scales; see decode_route.cuh): GEMM1 (p as for
// launch_gemv_bulk) that routes the token itself and publishes the routing
// and sort outputs, in place of the route-and-sort kernel; launched without
// PDL (the forward's first kernel). Returns false without launching when the
// call cannot take it (the bulk kernel's conditions, top_k > 32, over
// kDecodeRouteMaxExperts experts); the caller then runs the unfused sequence.
template <class T>
bool launch_gemv_bulk_routed(const GemmParams& p, WeightFormat wf, const DecodeFusion& f, int forced_ppw,
                             cudaStream_t stream);

// The fused kernel's time stamps (%globaltimer, ns) when DecodeFusion::trace
// is set: words 0 and 1 its grid's x and y (block (0,0)), then for block
// (x, y) at 2 + (y * grid.x + x) * kFusedTraceEvents one stamp per event,
// taken by thread 0 (warp 0 for the first-slot events; 0 where a block has
// no such event, e.g. past the local slots). The last forward's stamps stay.
enum FusedTraceEvent {
  kTraceStart,         // the block starts
  kTraceRouteBegin,    // warp 0 enters route_token
  kTraceLogits,        // its logits are in
  kTraceScores,        // its scores are computed (softmax or sigmoid, bias)
  kTracePicked,        // it has picked the token's experts (route_token done)
  kTraceRouted,        // its routing is done (published, the block synced)
  kTraceFirstSlot1,    // warp 0's first GEMV1 slot has landed
  kTracePhase1Done,    // all its warps are done with GEMV1
  kTraceBarrierDone,   // it has passed the grid barrier
  kTraceFirstSlot2,    // warp 0's first GEMV2 slot has landed
  kTracePhase2Done,    // all its warps are done with GEMV2
  kTraceEnd,           // after the combine (the last block of a column does it)
  kFusedTraceEvents
};
constexpr int kFusedTraceHeader = 2;
constexpr int kFusedTraceMaxBlocks = 1 << 14;  // blocks past it record nothing

// One token: GEMV1 (p1, routed as launch_gemv_bulk_routed) and GEMV2 (p2)
// in one cooperative kernel with a grid barrier between them (on the
// driver's grid workspace: one launch, nothing else enqueued). Returns false without launching when the call cannot take it (the
// routed kernel's conditions, fp8 weights, a ring or grid that does not fit);
// the caller then runs the two kernels. Bit-identical to them.
template <class T>
bool launch_gemv_bulk_fused(const GemmParams& p1, const GemmParams& p2, WeightFormat wf, const DecodeFusion& f,
                            cudaStream_t stream);

// Tickets the fused kernel needs to do the combine as well (its grid's
// columns), 0 when the call cannot take the kernel. With DecodeFusion's
// tickets, ntickets and out set (no shared expert), launch_gemv_bulk_fused
// writes the layer's output row itself, bit-identical to the combine kernel.
template <class T>
int64_t gemv_bulk_fused_combine_tickets(const GemmParams& p1, const GemmParams& p2, WeightFormat wf,
                                        const DecodeFusion& f);

// Bytes of GEMV2's weight rows one warp of the fused kernel reads back to
// back (its L2 prefetch period), or 0 when the call cannot take the kernel.
template <class T>
int64_t gemv_bulk_fused_run_bytes(const GemmParams& p1, const GemmParams& p2, WeightFormat wf, const DecodeFusion& f);

}  // namespace moert_cuda
