// Decode GEMV by bulk copies (see grouped_gemv_bulk.cuh).
//
// Why: the register-ring kernels keep at most a few 16-byte loads per lane
// in flight and read each row pair as many short 512-byte pieces spread over
// thousands of warps; on the H100 they stayed at 55-60% of DRAM bandwidth
// for one token (gpt-oss, Nsight Compute). Here lane 0 of each warp issues
// the copies of a row pair (rows n and n+1: one cp.async.bulk each, of the
// whole row, or of K-segments when the pair is over 16 KB) into a ring of `depth` slots in shared memory, completing on the slot's
// mbarrier; the bytes in flight are bounded by shared memory, not registers,
// and each warp walks a contiguous run of pairs, so DRAM sees long sequential
// streams.
//
// The token rows are staged once per pass in the same layout as the streaming
// kernel (a_sm_index), the math is the same chunk decode and fmaf order
// (GemvChunk), and the result goes through epilogue_pair, so the output
// matches the other decode kernels'.
#include "decode_route.cuh"
#include "gemm_epilogue.cuh"
#include "gemv_chunk.cuh"
#include "gemv_mx_half2.cuh"
#include "grouped_gemv_bulk.cuh"
#include "mbarrier.cuh"

#include <cooperative_groups.h>

#include <utility>

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
#define MOERT_GEMV_BULK 1
#endif

namespace moert_cuda {
namespace {

constexpr int BULK_WARPS = 4;                   // warps per block
constexpr int BULK_RING_BYTES = 6 * 1024;       // target ring bytes per warp (at least 2 slots)
constexpr int BULK_SLOT_MAX = 16 * 1024;        // largest slot: longer row pairs go in K-segments
constexpr int BULK_A_MAX = 96 * 1024;           // largest staged token rows
constexpr int BULK_MULTI_ROWS = 8;              // token rows per pass when groups may have several
constexpr int BULK_SMEM_MAX = 227 * 1024;       // sm_90 dynamic shared memory per block

// The pairs [first, first + count) of a row that warp wi of the grid's
// `warps` warps along x owns: runs of ppw pairs (ppw > 0), or an even split
// (ppw == 0; the fused kernel under MOERT_CUDA_FUSED_EVEN): runs of floor or
// ceil(pairs / warps), the longer ones spread over the grid, so that each
// block, and each SM of a one-wave grid that holds the same number of
// blocks, gets the same work to within a pair. Why: where the one-token
// GEMVs are bound by instruction issue (MXFP4), an SM's time is its pairs,
// and ppw rounded up leaves some SMs with a block more than others. (The
// same split for the routed GEMV1 and GEMV2 of the two-kernel path measured
// no faster on the H200 and cost the 72-register MXFP4 variant a spill; it
// is not kept there. docs/cuda-backend.md.)
struct WarpRun {
  int first, count;
};
__host__ __device__ __forceinline__ WarpRun warp_run(int ppw, int pairs, int wi, int warps) {
  if (ppw > 0) {
    const int f = wi * ppw;
    return {f, f < pairs ? (pairs - f < ppw ? pairs - f : ppw) : 0};
  }
  // 32-bit: warps * pairs is under 2^31 for any grid and row count here
  // (64-bit division cost the 72-register MXFP4 variant a spill).
  const unsigned f = (unsigned)wi * (unsigned)pairs / (unsigned)warps;
  const unsigned e = (unsigned)(wi + 1) * (unsigned)pairs / (unsigned)warps;
  return {(int)f, (int)(e - f)};
}

// One token row per pass with MXFP4 weights: the f16x2 decode math
// (gemv_mx_half2.cuh), whose staged row takes 16 more bytes (the block's
// row maximum, one float per warp, behind it). The routed, plain and fused
// one-token kernels all take it, so they stay bit-identical.
template <WeightFormat WF, int MR>
constexpr bool kMxHalf2 = WF == WeightFormat::kMxfp4 && MR == 1;
constexpr int MX_HALF2_RED_BYTES = BULK_WARPS * 4;

// MXFP4 scales staged with the weights. A pair's two rows are consecutive,
// so their e8m0 bytes ([E][N][K/32]) are one contiguous span of 2 * K/32
// bytes; each item copies the 16-byte-aligned range that covers it into its
// slot, behind the weights and on the same mbarrier, and the decode loop
// reads the scales from shared memory. Why: read from global memory per
// chunk, each item's first scale load waits on DRAM (Nsight Compute, H200,
// gpt-oss MXFP4 at one token: the scale's first use was the kernel's top
// long-scoreboard stall). Measured neutral on its own (H200, gpt-oss MXFP4
// at 1 and 16 tokens, docs/cuda-backend.md): the decode arithmetic, not
// this wait, bounds those points.
// Returns the slot bytes kept for them (the covering range is at most
// span + 30 bytes), or 0 (scales read from global memory) when the range
// could leave the allocation (base not 16-byte aligned, or an expert's
// N * K/32 bytes not a multiple of 16) or the span is over 1 KB.
constexpr int BULK_MX_SCALE_SPAN_MAX = 1024;
__host__ __device__ inline int mx_scale_stage_bytes(const GemmParams& p) {
  const int64_t per_row = p.k / 32, span = 2 * per_row;
  if (!p.mx_scale || (reinterpret_cast<uintptr_t>(p.mx_scale) & 15) || ((int64_t)p.n * per_row) % 16 ||
      span > BULK_MX_SCALE_SPAN_MAX)
    return 0;
  return static_cast<int>((span + 30 + 15) & ~int64_t{15});
}


#ifdef MOERT_GEMV_BULK
// One warp: this block's share of the next GEMM's weights of `expert` into
// L2: the first prefetch_bytes of every prefetch_period bytes (a warp run of
// the next GEMM, so each of its warps finds the same share in L2), in pieces
// of at most 32 KB spread over the lanes; the blocks along x split them.
__device__ __forceinline__ void prefetch_next_gemm(const GemmParams& p, int expert, int lane) {
  constexpr int64_t kPiece = 32 * 1024;
  const int64_t period = p.prefetch_period, keep = p.prefetch_bytes;
  const int64_t periods = (p.prefetch_expert_bytes + period - 1) / period;
  const int64_t pieces_per = (keep + kPiece - 1) / kPiece;
  const int64_t total = periods * pieces_per;
  const int64_t share = (total + gridDim.x - 1) / gridDim.x;
  const int64_t begin = (int64_t)blockIdx.x * share, end = min(begin + share, total);
  const uint8_t* base = static_cast<const uint8_t*>(p.prefetch) + (int64_t)expert * p.prefetch_expert_bytes;
  for (int64_t i = begin + lane; i < end; i += 32) {
    const int64_t per = i / pieces_per, off = per * period + (i - per * pieces_per) * kPiece;
    const int64_t lim = min(per * period + keep, p.prefetch_expert_bytes);
    if (off < lim) bulk_prefetch_l2(base + off, (uint32_t)min(kPiece, lim - off));
  }
}
#endif

#ifdef MOERT_GEMV_BULK
// GEMV2's combine (CombineTail, grouped_gemv_bulk.cuh): block column
// blockIdx.x's output columns summed over the token's local slots, in slot
// order with the combine kernel's fmaf chain, from the rows the other blocks
// of the column wrote (coherent loads: same grid). (With no local slot no
// block arrives; the routed GEMV1 then writes the zeros: decode_route.cuh.)
template <class T>
__device__ __forceinline__ void combine_block_columns(const void* rows, int64_t ldc, int n, const float* weights,
                                                  const int32_t* local_ids, int top_k, void* out_row, int ppw) {
  const int pairs = n >> 1, warps = gridDim.x * BULK_WARPS;  // the block's pairs: its warps' runs
  const int c0 = 2 * warp_run(ppw, pairs, blockIdx.x * BULK_WARPS, warps).first;
  const int c1 = min(n, 2 * warp_run(ppw, pairs, (blockIdx.x + 1) * BULK_WARPS, warps).first);
  const T* y = static_cast<const T*>(rows);
  T* out = static_cast<T*>(out_row);
  for (int h = c0 + 2 * (int)threadIdx.x; h < c1; h += 2 * (int)blockDim.x) {
    float a0 = 0.f, a1 = 0.f;
    for (int k = 0; k < top_k; ++k) {
      if (local_ids[k] < 0) continue;
      const float w = weights[k];
      const float2 f = unpack2<T>(__ldcg(reinterpret_cast<const unsigned int*>(y + (int64_t)k * ldc + h)));
      a0 = fmaf(w, f.x, a0);
      a1 = fmaf(w, f.y, a1);
    }
    *reinterpret_cast<uint32_t*>(out + h) = pack2<T>(a0, a1);
  }
}

// Block column blockIdx.x's ticket, once this block's rows are stored: true
// in the block that stores the last of the column's `active` rows (it then
// combines the column). The fences order this block's stores before its
// ticket and the other blocks' stores before the last block's loads. `flag`
// is shared memory no warp reads any more (the staged rows): no static
// shared memory, since the variants are set to take the maximum dynamic
// amount, which static memory would push over the limit.
__device__ __forceinline__ bool takes_last_ticket(unsigned int* tickets, unsigned active, volatile int* flag) {
  __syncthreads();
  if (threadIdx.x == 0) {
    __threadfence();
    *flag = atomicAdd(tickets + blockIdx.x, 1u) + 1u == active;
  }
  __syncthreads();
  const bool last = *flag;
  if (last) __threadfence();
  return last;
}
#endif

// Block: BULK_WARPS warps of one expert (blockIdx.y indexes the active
// experts). Warp w of block b owns pairs [first, first + ppw), first =
// (b * BULK_WARPS + w) * ppw, and reads them as `segs` K-segments each of
// seg_chunks chunks (rows over 16 KB a pair are split so that two slots fit):
// item i = pair i / segs, segment i % segs; its slot holds row n's segment,
// then row n+1's at + seg_chunks * 16. Shared memory: the staged token row,
// then the warps' barriers, then their rings (warp w's slot d at
// ring + (w * depth + d) * slot_bytes, slot_bytes = 2 * seg_chunks * 16 plus,
// MXFP4, the pair's scales behind the rows: mx_scale_stage_bytes),
// then (routed) the routed token (decode_route.cuh) at route_off.
// MR: token rows per pass (all staged); groups with more rows take several
// passes, each streaming the weights again.
// The groups come from the sort, or (routed: one token, GEMM1) the block
// routes the token itself first (decode_route.cuh).
//
// One kernel function for both one-token GEMVs: `routed` (MR == 1, not fp8)
// selects GEMV1's routing at run time rather than a second template
// instance, so GEMV2 runs the very code GEMV1 just ran on the same SMs, and
// the next forward's GEMV1 the code GEMV2 left: the instruction caches stay
// warm between them. (Nsight Compute on a later forward, H200: a quarter of
// the routed GEMV1's warp samples waited for instructions, stall_no_inst,
// with the two GEMVs as separate instances.)
// MR == 1: at least 7 blocks an SM, i.e. up to 72 registers a thread. The
// MXFP4 variant's shared memory (ring, staged row, routing) allows 6-7
// blocks an SM at gpt-oss' sizes (Nsight Compute, H200), so 8 only capped
// registers: the token row held across the routing and the deferred
// epilogue's kept pairs spilled 12-32 bytes at 64.
constexpr int BULK_ONE_ROW_MIN_BLOCKS = 7;
template <class T, WeightFormat WF, int MR>
__global__ void __launch_bounds__(BULK_WARPS * 32, MR == 1 ? BULK_ONE_ROW_MIN_BLOCKS : 0) gemv_bulk_kernel(const GemmParams p, const int ppw,
                                                                   const int depth, const int segs,
                                                                   const int seg_chunks, const int a_bytes,
                                                                   const DecodeFusion f, const int route_off,
                                                                   const CombineTail ct, const int routed_arg) {
#ifdef MOERT_GEMV_BULK
  constexpr bool kRoutable = MR == 1 && WF != WeightFormat::kFp8;
  const bool routed = kRoutable && routed_arg;
  extern __shared__ __align__(128) unsigned char bulk_smem[];
  DecodeRoute* route = reinterpret_cast<DecodeRoute*>(bulk_smem + route_off);
  using GC = GemvChunk<T, WF>;
  int expert = 0;
  int32_t rb = 0, re = 1;
  // Routed, MXFP4: the token row's first pieces are loaded before the
  // routing, which does not need them, so that their latency hides behind
  // it (Nsight Compute, H200, gpt-oss MXFP4: the staging's global loads were
  // 6% of the routed GEMV1's warp samples, the routing's barrier 8%). Not
  // for dense weights: held across the routing, the f16 variant spilled 28
  // bytes at its 72 registers.
  StagedPieces held;
  if (!routed) {
    pdl_begin();
    if (!gemv_group_of(p, expert, rb, re)) return;
  } else {
    if constexpr (kMxHalf2<WF, MR>)
      stage_load_pieces(static_cast<const uint4*>(p.a), p.k / GC::kElems * GC::kSubs, false, held);
    // The forward's first kernel (launched without PDL): nothing to wait for.
    // With pieces held, the shared-memory routing: the register one spilled
    // at this variant's 72 registers.
    decode_route_block<!kMxHalf2<WF, MR>>(f, route, reinterpret_cast<float*>(route + 1),
                                          blockIdx.x == 0 && blockIdx.y == 0);
    if ((int)blockIdx.y >= route->nact) return;
    expert = route->active[blockIdx.y];
    rb = blockIdx.y;  // one row per expert, in expert order
    re = rb + 1;
  }
  constexpr int EPL = GC::kElems;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int chunks = p.k / EPL;
  const int pairs = p.n >> 1;
  const int first = (blockIdx.x * BULK_WARPS + warp) * ppw;
  const int items = first < pairs ? min(ppw, pairs - first) * segs : 0;
  const int64_t row_bytes = (int64_t)p.k * GC::kRowBytesNum / GC::kRowBytesDen;
  const uint8_t* w_first = static_cast<const uint8_t*>(p.b) + (int64_t)expert * p.b_expert_bytes +
                           (int64_t)(2 * first) * row_bytes;
  const int scale_region = WF == WeightFormat::kMxfp4 ? mx_scale_stage_bytes(p) : 0;  // behind the rows
  const int slot_bytes = 2 * seg_chunks * 16 + scale_region;
  auto row_scales = [&](int row) {  // address of weight row `row`'s first scale byte (MXFP4)
    return reinterpret_cast<uintptr_t>(p.mx_scale + ((int64_t)expert * p.n + row) * (p.k >> 5));
  };

  const uint4* a_sm = reinterpret_cast<const uint4*>(bulk_smem);
  const uint32_t bars = smem_u32(bulk_smem) + a_bytes + (warp * depth) * 8;
  const uint32_t ring_off = a_bytes + ((BULK_WARPS * depth * 8 + 127) & ~127);
  unsigned char* ring = bulk_smem + ring_off + (size_t)warp * depth * slot_bytes;
  const uint32_t ring_u32 = smem_u32(ring);

  const uint64_t stream_policy = p.prefetch ? l2_policy_evict_first() : 0;
  // Lane 0: both rows' segment `seg` of pair q (item q * segs + seg) into slot d.
  auto issue = [&](int q, int seg, int d) {
    const int c0 = seg * seg_chunks;
    const uint32_t bytes = (uint32_t)min(seg_chunks, chunks - c0) * 16;
    const uint8_t* src = w_first + (int64_t)(2 * q) * row_bytes + (int64_t)c0 * 16;
    const uint32_t bar = bars + 8 * d, dst = ring_u32 + d * slot_bytes;
    uintptr_t s0 = 0, s1 = 0;  // the pair's scales: [s0, s1), 16-byte aligned
    if (scale_region) {
      const uintptr_t s = row_scales(2 * (first + q));
      s0 = s & ~uintptr_t{15};
      s1 = (s + 2 * (uintptr_t)chunks + 15) & ~uintptr_t{15};
    }
    mbar_arrive_expect_tx(bar, 2 * bytes + (uint32_t)(s1 - s0));
    const auto* scales_src = reinterpret_cast<const uint8_t*>(s0);
    // Whole rows (segs == 1): the pair is one span in memory and in the slot,
    // so one copy brings both rows (each copy costs lane 0 about 40
    // instructions, which the other lanes wait for).
    const uint32_t first_bytes = segs == 1 ? 2 * bytes : bytes;
    if (p.prefetch) {  // streamed once: leave L2 to the next GEMM's prefetched weights
      bulk_copy_hint(dst, src, first_bytes, bar, stream_policy);
      if (segs != 1) bulk_copy_hint(dst + seg_chunks * 16, src + row_bytes, bytes, bar, stream_policy);
      if (scale_region) bulk_copy_hint(dst + 2 * seg_chunks * 16, scales_src, (uint32_t)(s1 - s0), bar, stream_policy);
    } else {
      bulk_copy(dst, src, first_bytes, bar);
      if (segs != 1) bulk_copy(dst + seg_chunks * 16, src + row_bytes, bytes, bar);
      if (scale_region) bulk_copy(dst + 2 * seg_chunks * 16, scales_src, (uint32_t)(s1 - s0), bar);
    }
  };

  if (lane == 0) {
    for (int d = 0; d < depth; ++d) mbar_init(bars + 8 * d, 1);
    asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
  }
  __syncwarp();

  // The ring position of the next slot to consume, over all passes: slot d,
  // the parity of its next completion. Stepped, as are the item's pair and
  // segment, rather than divided out of counters: a division by a run-time
  // value costs about 20 instructions, and at one token with MXFP4 weights
  // these kernels are bound by instruction issue.
  int d = 0;
  uint32_t phase = 0;
  const int ahead = min(depth, items);  // items in flight at a pass's start
  for (int32_t r0 = rb; r0 < re; r0 += MR) {
    const int mr = min(MR, re - r0);
    // First copies before the token rows are staged: they need no A.
    if (lane == 0)
      for (int i = 0, di = d; i < ahead; ++i, di = di + 1 == depth ? 0 : di + 1) issue(i / segs, i % segs, di);
    if (p.prefetch && warp == 0 && r0 == rb) prefetch_next_gemm(p, expert, lane);  // warp 0: GEMV2's weights into L2
    float row_inv = 1.f;  // kMxHalf2: 2^-s, the staged row's scale taken back
    if (r0 != rb) __syncthreads();  // the previous pass is done reading the staged rows
    if constexpr (kMxHalf2<WF, MR>) {
      const int64_t row = !routed ? a_row_of(p, r0) : 0;
      const uint4* src = reinterpret_cast<const uint4*>(static_cast<const T*>(p.a) + row * p.lda);
      if (!routed) stage_load_pieces(src, chunks * GC::kSubs, false, held);
      row_inv = mx_h2_stage_held<T>(src, held, reinterpret_cast<uint4*>(bulk_smem), chunks,
                                    reinterpret_cast<float*>(bulk_smem + (size_t)p.k * sizeof(T)), false);
    } else {
      uint4* dst = reinterpret_cast<uint4*>(bulk_smem);
      const int pieces = chunks * GC::kSubs;
      for (int m = 0; m < mr; ++m) {
        // routed: the one token's row (a_index is published by block (0,0) only).
        const int64_t row = !routed ? a_row_of(p, r0 + m) : 0;
        const uint4* src = reinterpret_cast<const uint4*>(static_cast<const T*>(p.a) + row * p.lda);
        for (int g = threadIdx.x; g < pieces; g += BULK_WARPS * 32) {
          const int c = g / GC::kSubs, s = g - c * GC::kSubs;
          dst[a_sm_index<GC>(m, s, c, chunks)] = __ldg(src + g);
        }
      }
      __syncthreads();
    }

    float acc0[MR], acc1[MR];
#pragma unroll
    for (int m = 0; m < MR; ++m) acc0[m] = acc1[m] = 0.f;
    // Item i is segment seg of pair q; item i + depth, the refill, segment rseg of pair rq.
    int q = 0, seg = 0, rq = ahead / segs, rseg = ahead % segs;
    DeferredPairs kept;  // MR == 1: the finished pairs awaiting their epilogue
    for (int i = 0; i < items; ++i) {
      const int c0 = seg * seg_chunks, nc = min(seg_chunks, chunks - c0);
      const int n = 2 * (first + q);
      mbar_wait(bars + 8 * d, phase);
      const uint4* w0 = reinterpret_cast<const uint4*>(ring + (size_t)d * slot_bytes);
      const uint4* w1 = w0 + seg_chunks;
      // Scale of chunk cg of row n + r: staged (behind the rows), or from global memory.
      const unsigned char* staged = reinterpret_cast<const unsigned char*>(w0 + 2 * seg_chunks) +
                                    (scale_region ? (row_scales(n) & 15) : 0);
      auto scale_of = [&](int r, int cg) {
        if constexpr (WF == WeightFormat::kMxfp4) {
          if (scale_region) return mx_scale_x2p14(staged[r * chunks + cg]);
        }
        return gemv_chunk_scale<WF>(p, expert, n + r, cg * EPL);
      };
#pragma unroll(WF == WeightFormat::kMxfp4 ? 1 : 4)
      for (int c = lane; c < nc; c += 32) {
        const int cg = c0 + c;  // chunk of the whole row
        auto scales = [&] {
          return make_float2(scale_of(0, cg), scale_of(1, cg));
        };
        if constexpr (kMxHalf2<WF, MR>) mx_h2_pair_chunk(w0[c], w1[c], scales, a_sm, cg, chunks, acc0[0], acc1[0]);
        else gemv_pair_chunk<T, WF, MR>(w0[c], w1[c], scales, a_sm, cg, chunks, mr, acc0, acc1);
      }
      // Every lane is done reading the slot: refill it with item i + depth.
      // The fence orders those generic-proxy reads before the async-proxy write.
      __syncwarp();
      if (lane == 0 && i + depth < items) {
        asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
        issue(rq, rseg, d);
      }
      if (++rseg == segs) rseg = 0, ++rq;
      if (++d == depth) d = 0, phase ^= 1;
      if (seg == segs - 1) {
        if constexpr (kMxHalf2<WF, MR>) {
          acc0[0] *= row_inv;
          acc1[0] *= row_inv;
        }
        if constexpr (MR == 1) {
          kept.add(q, lane, acc0[0], acc1[0]);
          kept.flush<T>(p, expert, r0, 2 * first, q, lane, i == items - 1);
        } else {
          gemv_finish_pair<T, MR>(p, expert, r0, n, mr, lane, acc0, acc1);
        }
      }
      if (++seg == segs) seg = 0, ++q;
    }
  }
  // (Not for fp8 weights, which the one-token fused path never takes: the
  // tail pushed that variant into spills.)
  if constexpr (MR == 1 && WF != WeightFormat::kFp8) {
    // The last of the column's active rows to finish combines it.
    if (!routed && ct.tickets &&
        takes_last_ticket(ct.tickets, (unsigned)*p.active_count, reinterpret_cast<volatile int*>(bulk_smem)))
      combine_block_columns<T>(p.c, p.ldc, p.n, ct.weights, ct.local_ids, ct.top_k, ct.out, ppw);
  }
#endif  // MOERT_GEMV_BULK
}

// ---- One token, GEMV1 and GEMV2 in one cooperative kernel (fused12).
//
// Why: at one token the layer's time is mostly fixed costs between kernels:
// GEMV2's launch, its wait for GEMV1's memory, its chain of group lookups and
// its first weight copies all sit after GEMV1's last block. Here the blocks
// of the routed GEMV1 go on to GEMV2 after a grid barrier, and each warp
// issues its first GEMV2 weight copies (which depend on nothing GEMV1
// writes) before it arrives, so they land while the slowest blocks finish.
// The launch is cooperative, so every block is resident and the barrier
// cannot deadlock. The math and its order are the bulk kernel's, so the
// results are bit-identical to the two kernels'.

// One phase of a fused block: the warp's run of pairs of expert `expert`'s
// weights in p (warp_run: ppw each, or an even split when ppw is 0), segs
// K-segments each.
struct FusedPhase {
  int ppw, depth, segs, seg_chunks;
};

// Grid barrier over all blocks of the cooperative launch, in two halves so
// that a block can issue work between its arrival and its wait: cooperative
// groups' grid barrier (one release atomic a block on the driver's grid
// workspace, whose bit 31 flips when the last block arrives; the waiting
// blocks poll for the flip). The driver provides that word, zeroed, for each
// cooperative launch, so the forward has no memset node in front of the
// kernel (it had one for a barrier word in the workspace).
// Why the halves: the blocks left the barrier long after the last one
// arrived when GEMV2's first copies went out before the arrival, as if the
// fence before it waited for the arriving thread's outstanding bulk copies
// (time stamps, H200, gpt-oss bf16, MOERT_CUDA_FUSED_TRACE: 3.8 us with the
// counter-and-generation barrier this one replaces, 3.4 us with a flip bit,
// 8.2 us with two more pairs a warp prefetched into L2 before it; 2.2 us
// with the copies between arrival and wait).
#ifdef MOERT_GEMV_BULK
// All threads call both; thread 0 arrives (after the block's stores) and polls.
__device__ __forceinline__ unsigned fused_grid_arrive() { return cooperative_groups::this_grid().barrier_arrive(); }
__device__ __forceinline__ void fused_grid_wait(unsigned token) {
  cooperative_groups::this_grid().barrier_wait(std::move(token));
}
#endif

template <class T, WeightFormat WF>
__global__ void __launch_bounds__(BULK_WARPS * 32, WF == WeightFormat::kMxfp4 ? 4 : 1) gemv_bulk_fused_kernel(const GemmParams p1, const GemmParams p2,
                                                                         const FusedPhase f1, const FusedPhase f2,
                                                                         const int a_bytes, const int ring_stride,
                                                                         const DecodeFusion f, const int route_off) {
#ifdef MOERT_GEMV_BULK
  extern __shared__ __align__(128) unsigned char bulk_smem[];
  using GC = GemvChunk<T, WF>;
  DecodeRoute* route = reinterpret_cast<DecodeRoute*>(bulk_smem + route_off);
  // Phase 1's token row (row 0 of p1.a: one token) is loaded first, its
  // latency hidden behind the routing (as in the routed gemv_bulk_kernel).
  // Row 0 directly, not through p1.a_index: only block (0,0) publishes that.
  const uint4* row1 = static_cast<const uint4*>(p1.a);
  // Diagnostics (DecodeFusion::trace): thread 0's stamp of event e.
  auto stamp = [&](int e) {
    const unsigned block = blockIdx.y * gridDim.x + blockIdx.x;
    if (f.trace && threadIdx.x == 0 && block < kFusedTraceMaxBlocks) {
      unsigned long long t;
      asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
      f.trace[kFusedTraceHeader + block * kFusedTraceEvents + e] = t;
      if (e == kTraceStart && blockIdx.x == 0 && blockIdx.y == 0) f.trace[0] = gridDim.x, f.trace[1] = gridDim.y;
    }
  };
  stamp(kTraceStart);
  int trace_slot_event = kTraceFirstSlot1;  // kTraceFirstSlot2 in phase 2
  StagedPieces held;
  stage_load_pieces(row1, p1.k / GC::kElems * GC::kSubs, false, held);
  decode_route_block(f, route, reinterpret_cast<float*>(route + 1), blockIdx.x == 0 && blockIdx.y == 0,
                     [&](int step) { stamp(kTraceRouteBegin + step); });
  stamp(kTraceRouted);
  const bool active = (int)blockIdx.y < route->nact;  // uniform over the block; every block still meets the barrier
  const int expert = active ? route->active[blockIdx.y] : 0;
  const int row = blockIdx.y;  // one row per expert, in expert order
  constexpr int EPL = GC::kElems;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const uint4* a_sm = reinterpret_cast<const uint4*>(bulk_smem);
  const uint32_t bars = smem_u32(bulk_smem) + a_bytes + (warp * 8) * 8;
  const uint32_t ring_off = a_bytes + ((BULK_WARPS * 8 * 8 + 127) & ~127);
  unsigned char* ring = bulk_smem + ring_off + (size_t)warp * ring_stride;
  const uint32_t ring_u32 = smem_u32(ring);
  uint32_t parity = 0;  // bit d: the phase parity of slot d's next completion
  if (lane == 0) {
    for (int d = 0; d < 8; ++d) mbar_init(bars + 8 * d, 1);
    asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
  }
  __syncwarp();

  // The pieces of one phase over p / g: this warp's items, their copies
  // (lane 0), and the math over them against the staged token row.
  struct Stream {
    FusedPhase g;
    int first, items, chunks;
    int64_t row_bytes;
    const uint8_t* w_first;
    const uint8_t* mx_first;  // MXFP4: the scale bytes of row 2 * first (one a chunk)
  };
  auto make = [&](const GemmParams& p, const FusedPhase& g) {
    Stream st{};
    st.g = g;
    st.chunks = p.k / EPL;
    const int pairs = p.n >> 1;
    const WarpRun wr = warp_run(g.ppw, pairs, blockIdx.x * BULK_WARPS + warp, gridDim.x * BULK_WARPS);
    st.first = wr.first;
    st.items = active ? wr.count * g.segs : 0;
    st.row_bytes = (int64_t)p.k * GC::kRowBytesNum / GC::kRowBytesDen;
    st.w_first = static_cast<const uint8_t*>(p.b) + (int64_t)expert * p.b_expert_bytes +
                 (int64_t)(2 * st.first) * st.row_bytes;
    if constexpr (WF == WeightFormat::kMxfp4)
      st.mx_first = p.mx_scale + ((int64_t)expert * p.n + 2 * st.first) * st.chunks;
    return st;
  };
  // Both phases' weights are read once: evict-first, so that they do not push
  // out of L2 the GEMV2 weights that warp 0 prefetched and the small data
  // each forward reads first (logits, token row, kernel parameters). H200,
  // graph µs, same call, twice: gpt-oss bf16 62.0 / 62.2 -> 60.4 / 60.5,
  // MXFP4 37.6 / 37.5 -> 35.0 / 35.3 (2026-12-02 ~05:45 UTC).
  const uint64_t stream_policy = l2_policy_evict_first();
  auto issue = [&](const Stream& st, int q, int seg, int d) {  // lane 0: segment seg of pair q into slot d
    const int slot_bytes = 2 * st.g.seg_chunks * 16;
    const int c0 = seg * st.g.seg_chunks;
    const uint32_t bytes = (uint32_t)min(st.g.seg_chunks, st.chunks - c0) * 16;
    const uint8_t* src = st.w_first + (int64_t)(2 * q) * st.row_bytes + (int64_t)c0 * 16;
    const uint32_t bar = bars + 8 * d, dst = ring_u32 + d * slot_bytes;
    mbar_arrive_expect_tx(bar, 2 * bytes);
    if (st.g.segs == 1) {  // whole rows: one span (as in gemv_bulk_kernel)
      bulk_copy_hint(dst, src, 2 * bytes, bar, stream_policy);
    } else {
      bulk_copy_hint(dst, src, bytes, bar, stream_policy);
      bulk_copy_hint(dst + st.g.seg_chunks * 16, src + st.row_bytes, bytes, bar, stream_policy);
    }
  };
  auto start = [&](const Stream& st) {
    if (lane == 0)
      for (int i = 0; i < min(st.g.depth, st.items); ++i) issue(st, i / st.g.segs, i % st.g.segs, i);
  };
  // Token row `row` of p.a into the staged layout; coherent loads (L2) for
  // GEMV2, whose A was written by other blocks of this grid.
  float row_inv = 1.f;  // MXFP4: 2^-s of the staged row (gemv_mx_half2.cuh)
  // phase 0: row 0 of p1.a, its first pieces held; phase 1: GEMV2's A row
  // `row` (the intermediate, p2.a_index is null), coherent loads.
  auto stage = [&](const GemmParams& p, const Stream& st, int phase) {
    uint4* dst = reinterpret_cast<uint4*>(bulk_smem);
    const bool coherent = phase == 1;
    const uint4* src =
        phase == 0 ? row1 : reinterpret_cast<const uint4*>(static_cast<const T*>(p.a) + (int64_t)row * p.lda);
    if (phase == 1) stage_load_pieces(src, st.chunks * GC::kSubs, true, held);
    if constexpr (kMxHalf2<WF, 1>) {
      row_inv = mx_h2_stage_held<T>(src, held, dst, st.chunks, reinterpret_cast<float*>(bulk_smem + (size_t)p.k * sizeof(T)),
                                    coherent);
      return;
    }
    const int pieces = st.chunks * GC::kSubs;
#pragma unroll
    for (int j = 0; j < kStageHeld; ++j) {
      const int g = threadIdx.x + j * BULK_WARPS * 32;
      if (g < pieces) {
        const int c = g / GC::kSubs, s = g - c * GC::kSubs;
        dst[a_sm_index<GC>(0, s, c, st.chunks)] = held.held[j];
      }
    }
    for (int g = threadIdx.x + kStageHeld * BULK_WARPS * 32; g < pieces; g += BULK_WARPS * 32) {
      const int c = g / GC::kSubs, s = g - c * GC::kSubs;
      dst[a_sm_index<GC>(0, s, c, st.chunks)] = coherent ? __ldcg(src + g) : __ldg(src + g);
    }
    __syncthreads();
  };
  auto run = [&](const GemmParams& p, const Stream& st) {
    const int slot_bytes = 2 * st.g.seg_chunks * 16;
    float acc0[1] = {0.f}, acc1[1] = {0.f};
    // Stepped, not divided (as in gemv_bulk_kernel): slot d, item i's pair q
    // and segment seg, item i + depth's (the refill) rq and rseg.
    const int ahead = min(st.g.depth, st.items);
    int d = 0, q = 0, seg = 0, rq = ahead / st.g.segs, rseg = ahead % st.g.segs;
    DeferredPairs kept;  // the finished pairs awaiting their epilogue
    for (int i = 0; i < st.items; ++i) {
      const int c0 = seg * st.g.seg_chunks, nc = min(st.g.seg_chunks, st.chunks - c0);
      const int n = 2 * (st.first + q);
      mbar_wait(bars + 8 * d, (parity >> d) & 1u);
      parity ^= 1u << d;
      if (i == 0) stamp(trace_slot_event);
      const uint4* w0 = reinterpret_cast<const uint4*>(ring + (size_t)d * slot_bytes);
      const uint4* w1 = w0 + st.g.seg_chunks;
      // MXFP4: the pair's scale rows, from the phase's base (set up once in
      // make) rather than from p's fields in every chunk.
      const uint8_t* mx0 = WF == WeightFormat::kMxfp4 ? st.mx_first + (int64_t)(2 * q) * st.chunks : nullptr;
#pragma unroll(WF == WeightFormat::kMxfp4 ? 1 : 4)
      for (int c = lane; c < nc; c += 32) {
        const int cg = c0 + c;
        auto scales = [&] {
          if constexpr (WF == WeightFormat::kMxfp4)
            return make_float2(mx_scale_x2p14(__ldg(mx0 + cg)), mx_scale_x2p14(__ldg(mx0 + st.chunks + cg)));
          else
            return make_float2(gemv_chunk_scale<WF>(p, expert, n, cg * EPL),
                               gemv_chunk_scale<WF>(p, expert, n + 1, cg * EPL));
        };
        if constexpr (kMxHalf2<WF, 1>) mx_h2_pair_chunk(w0[c], w1[c], scales, a_sm, cg, st.chunks, acc0[0], acc1[0]);
        else gemv_pair_chunk<T, WF, 1>(w0[c], w1[c], scales, a_sm, cg, st.chunks, 1, acc0, acc1);
      }
      __syncwarp();
      if (lane == 0 && i + st.g.depth < st.items) {
        asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
        issue(st, rq, rseg, d);
      }
      if (++rseg == st.g.segs) rseg = 0, ++rq;
      if (seg == st.g.segs - 1) {
        if constexpr (kMxHalf2<WF, 1>) {
          acc0[0] *= row_inv;
          acc1[0] *= row_inv;
        }
        kept.add(q, lane, acc0[0], acc1[0]);
        kept.flush<T>(p, expert, row, 2 * st.first, q, lane, i == st.items - 1);
      }
      if (++seg == st.g.segs) seg = 0, ++q;
      if (++d == st.g.depth) d = 0;
    }
  };

  // Phase 1: GEMV1 (L2 prefetch of GEMV2's weights by warp 0, as the routed
  // bulk kernel), then phase 2: GEMV2 on the intermediate row that phase 1
  // wrote. One loop body for both (not unrolled), so phase 2 runs the
  // instructions phase 1 has just brought into the instruction caches
  // rather than a second, cold copy of them.
  Stream s = make(p1, f1);
  start(s);
  if (p1.prefetch && warp == 0 && active) prefetch_next_gemm(p1, expert, lane);
#pragma unroll 1
  for (int phase = 0; phase < 2; ++phase) {
    const GemmParams& p = phase == 0 ? p1 : p2;
    if (active) stage(p, s, phase);
    else __syncthreads();
    trace_slot_event = phase == 0 ? kTraceFirstSlot1 : kTraceFirstSlot2;
    run(p, s);
    if (f.trace) {  // diagnostics only: the block's warps are all done with this phase
      __syncthreads();
      stamp(phase == 0 ? kTracePhase1Done : kTracePhase2Done);
    }
    if (phase == 0) {
      // GEMV2's first copies need only the weights: out between the
      // arrival at the grid barrier and the wait.
      const unsigned arrival = fused_grid_arrive();
      s = make(p2, f2);
      __syncwarp();
      if (lane == 0) asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
      start(s);
      fused_grid_wait(arrival);
      stamp(kTraceBarrierDone);
    }
  }
  // With tickets (no shared expert): the combine, as GEMV2's CombineTail does
  // it. Block column x covers the same output columns for every active row;
  // the last active row of the column to finish sums them over the top-k
  // slots (the combine kernel's arithmetic and order). The tickets were
  // zeroed by block (0,0) before the grid barrier (decode_route_block), and
  // the routing outputs it published are visible after it.
  if (f.tickets && active &&
      takes_last_ticket(f.tickets, (unsigned)route->nact, reinterpret_cast<volatile int*>(bulk_smem)))
    combine_block_columns<T>(p2.c, p2.ldc, p2.n, f.route.topk_weights, f.route.local_ids, f.route.top_k, f.out,
                             f2.ppw);
  stamp(kTraceEnd);
#endif  // MOERT_GEMV_BULK
}

// Lets the variant take up to BULK_SMEM_MAX of dynamic shared memory. A
// function attribute, not stream work (allowed during graph capture); once
// per variant. It must come before the occupancy query: without it the query
// fails for more than 48 KB, and the grid was planned for 1 block per SM
// (qwen3 and gpt-oss bf16 at one token, whose GEMV1 takes 71 / 98 KB).
template <class T, WeightFormat WF, int MR>
void bulk_allow_smem() {
  static const cudaError_t attr = cudaFuncSetAttribute(gemv_bulk_kernel<T, WF, MR>,
                                                       cudaFuncAttributeMaxDynamicSharedMemorySize, BULK_SMEM_MAX);
  cuda_check(attr, "cudaFuncSetAttribute(grouped_gemv_bulk)");
}

// Blocks of this variant one SM holds with `smem` bytes (occupancy query,
// cached per device and KB of shared memory).
template <class T, WeightFormat WF, int MR>
int bulk_blocks_per_sm(size_t smem) {
  bulk_allow_smem<T, WF, MR>();
  static std::atomic<signed char> cache[64][228];
  const int dev = current_device();
  const size_t kb = std::min<size_t>(227, smem / 1024);
  signed char v = cache[dev][kb].load(std::memory_order_relaxed);
  if (v) return v;
  int blocks = 0;
  if (cudaOccupancyMaxActiveBlocksPerMultiprocessor(&blocks, gemv_bulk_kernel<T, WF, MR>, BULK_WARPS * 32,
                                                    smem) != cudaSuccess ||
      blocks < 1) {
    (void)cudaGetLastError();  // not sticky; plan for one block per SM
    blocks = 1;
  }
  v = static_cast<signed char>(std::min(blocks, 32));
  cache[dev][kb].store(v, std::memory_order_relaxed);
  return v;
}

// How a call runs: segments, ring, shared memory, pairs per warp, grid.
struct BulkPlan {
  bool ok = false;  // false: the call cannot take this kernel
  int ppw = 0, depth = 0, segs = 0, seg_chunks = 0;
  int64_t a_region = 0, route_off = 0, row_bytes = 0;
  size_t smem = 0;
  dim3 grid;
};

int even_knob(const char* name) {  // a tuning knob's value (experiments), 0 when unset
  const char* e = std::getenv(name);
  return e && std::atoi(e) > 0 ? std::atoi(e) : 0;
}

// ROUTED: num_experts routed experts (shared-memory scores), max_groups the
// token's top_k.
template <class T, WeightFormat WF, int MR, bool ROUTED>
BulkPlan bulk_plan(const GemmParams& p, int64_t max_groups, int forced_ppw, int num_experts) {
  using GC = GemvChunk<T, WF>;
  BulkPlan b;
  b.row_bytes = (int64_t)p.k * GC::kRowBytesNum / GC::kRowBytesDen;
  const int64_t a_bytes = (int64_t)MR * p.k * (int64_t)sizeof(T) + (kMxHalf2<WF, MR> ? MX_HALF2_RED_BYTES : 0);
  if (!device_is_sm90() || p.k % GC::kElems != 0 || a_bytes > BULK_A_MAX || (b.row_bytes & 15) ||
      (p.b_expert_bytes & 15) || (reinterpret_cast<uintptr_t>(p.b) & 15) || (p.lda % 8) ||
      (reinterpret_cast<uintptr_t>(p.a) & 15))
    return b;
  if (ROUTED && (MR != 1 || WF == WeightFormat::kFp8 || max_groups > 32 || num_experts > kDecodeRouteMaxExperts))
    return b;
  static const int64_t ring_bytes = [] {
    const char* e = std::getenv("MOERT_CUDA_BULK_RING");  // tuning knob: ring bytes per warp
    return e && std::atoi(e) > 0 ? (int64_t)std::atoi(e) : (int64_t)BULK_RING_BYTES;
  }();
  // Segments: a slot (both rows' segment) of at most BULK_SLOT_MAX bytes.
  const int chunks = static_cast<int>(b.row_bytes / 16);
  b.segs = static_cast<int>((2 * b.row_bytes + BULK_SLOT_MAX - 1) / BULK_SLOT_MAX);
  b.seg_chunks = (chunks + b.segs - 1) / b.segs;
  const int64_t slot = 2 * (int64_t)b.seg_chunks * 16 + (WF == WeightFormat::kMxfp4 ? mx_scale_stage_bytes(p) : 0);
  b.depth = static_cast<int>(std::max<int64_t>(2, std::min<int64_t>(8, ring_bytes / slot)));
  b.a_region = (a_bytes + 127) & ~int64_t{127};
  b.route_off = b.a_region + ((BULK_WARPS * b.depth * 8 + 127) & ~127) + (int64_t)BULK_WARPS * b.depth * slot;
  b.smem = (size_t)b.route_off + (ROUTED ? decode_route_smem(num_experts) : 0);
  if (b.smem > (size_t)BULK_SMEM_MAX) return b;
  // Pairs per warp: every warp in one wave (max_groups is exact for one
  // token, an upper bound of the active experts otherwise).
  const int pairs = p.n / 2;
  b.ppw = forced_ppw;
  if (!b.ppw) {
    const int64_t warps = (int64_t)device_sm_count() * bulk_blocks_per_sm<T, WF, MR>(b.smem) * BULK_WARPS;
    b.ppw = static_cast<int>(std::max<int64_t>(1, ((int64_t)pairs * max_groups + warps - 1) / warps));
  }
  b.grid = dim3(ceil_div(pairs, (int64_t)BULK_WARPS * b.ppw), static_cast<unsigned>(max_groups));
  b.ok = true;
  return b;
}

template <class T, WeightFormat WF, int MR, bool ROUTED>
bool launch_bulk_format(const GemmParams& p, int64_t max_groups, int forced_ppw, const DecodeFusion& f,
                        const CombineTail& ct, cudaStream_t stream) {
  const BulkPlan b = bulk_plan<T, WF, MR, ROUTED>(p, max_groups, forced_ppw, f.route.num_experts);
  if (!b.ok) return false;
  bulk_allow_smem<T, WF, MR>();
  // ROUTED is the forward's first kernel: no PDL, it starts after all earlier work.
  launch_pdl(!ROUTED, gemv_bulk_kernel<T, WF, MR>, b.grid, BULK_WARPS * 32, b.smem, stream, "grouped_gemv_bulk", p,
             b.ppw, b.depth, b.segs, b.seg_chunks, static_cast<int>(b.a_region), f, static_cast<int>(b.route_off), ct,
             static_cast<int>(ROUTED));
  return true;
}

template <class T, int MR, bool ROUTED>
bool launch_bulk_rows(const GemmParams& p, WeightFormat wf, int64_t max_groups, int forced_ppw, const DecodeFusion& f,
                      cudaStream_t stream, const CombineTail& ct = CombineTail{}) {
  switch (wf) {
    case WeightFormat::kDense:
      return launch_bulk_format<T, WeightFormat::kDense, MR, ROUTED>(p, max_groups, forced_ppw, f, ct, stream);
    case WeightFormat::kFp8:
      return launch_bulk_format<T, WeightFormat::kFp8, MR, ROUTED>(p, max_groups, forced_ppw, f, ct, stream);
    case WeightFormat::kMxfp4:
      return launch_bulk_format<T, WeightFormat::kMxfp4, MR, ROUTED>(p, max_groups, forced_ppw, f, ct, stream);
  }
  return false;
}

// The fused kernel's plan: both phases' rings (the larger per warp), the
// larger staged row, the routed token; a one-wave grid of co-resident blocks
// (a cooperative launch needs all of them resident) with GEMV1's pairs
// spread over it, and GEMV2's pairs over the same blocks.
struct FusedPlan {
  bool ok = false;
  FusedPhase f1{}, f2{};
  int a_bytes = 0, ring_stride = 0, route_off = 0;
  size_t smem = 0;
  dim3 grid;
  int64_t run2_bytes = 0;  // GEMV2 bytes per warp run (the L2 prefetch period)
};

// Blocks of the fused kernel one SM holds with `smem` bytes (after its
// shared-memory attribute; cached per device and KB, as bulk_blocks_per_sm),
// 0 when the query fails.
template <class T, WeightFormat WF>
int fused_blocks_per_sm(size_t smem) {
  static const cudaError_t attr = cudaFuncSetAttribute(gemv_bulk_fused_kernel<T, WF>,
                                                       cudaFuncAttributeMaxDynamicSharedMemorySize, BULK_SMEM_MAX);
  cuda_check(attr, "cudaFuncSetAttribute(grouped_gemv_bulk_fused)");
  static std::atomic<signed char> cache[64][228];
  const int dev = current_device();
  const size_t kb = std::min<size_t>(227, smem / 1024);
  signed char v = cache[dev][kb].load(std::memory_order_relaxed);
  if (v) return v < 0 ? 0 : v;
  int blocks = 0;
  if (cudaOccupancyMaxActiveBlocksPerMultiprocessor(&blocks, gemv_bulk_fused_kernel<T, WF>, BULK_WARPS * 32, smem) !=
      cudaSuccess) {
    (void)cudaGetLastError();
    blocks = 0;
  }
  v = static_cast<signed char>(blocks < 1 ? -1 : std::min(blocks, 32));
  cache[dev][kb].store(v, std::memory_order_relaxed);
  return v < 0 ? 0 : v;
}

template <class T, WeightFormat WF>
FusedPlan fused_plan(const GemmParams& p1, const GemmParams& p2, const DecodeFusion& f) {
  FusedPlan fp;
  const int K = f.route.top_k;
  const BulkPlan b1 = bulk_plan<T, WF, 1, true>(p1, K, 1, f.route.num_experts);
  const BulkPlan b2 = bulk_plan<T, WF, 1, false>(p2, K, 1, 0);
  if (!b1.ok || !b2.ok || b1.depth > 8 || b2.depth > 8) return fp;
  fp.f1 = {1, b1.depth, b1.segs, b1.seg_chunks};
  fp.f2 = {1, b2.depth, b2.segs, b2.seg_chunks};
  fp.a_bytes = static_cast<int>(std::max(b1.a_region, b2.a_region));
  fp.ring_stride = std::max(b1.depth * 2 * b1.seg_chunks * 16, b2.depth * 2 * b2.seg_chunks * 16);
  fp.route_off = fp.a_bytes + ((BULK_WARPS * 8 * 8 + 127) & ~127) + BULK_WARPS * fp.ring_stride;
  fp.smem = (size_t)fp.route_off + decode_route_smem(f.route.num_experts);
  if (fp.smem > (size_t)BULK_SMEM_MAX) return fp;
  // Tuning knob (experiments): MOERT_CUDA_FUSED_BPS caps the blocks per SM
  // (1: gpt-oss bf16's 2 blocks of 4 warps become 1, with twice the pairs a
  // warp and GEMV2's pairs spread 10.9 against 11 a warp instead of 5.45
  // against 6).
  static const int bps_cap = [] {
    const char* e = std::getenv("MOERT_CUDA_FUSED_BPS");
    return e && std::atoi(e) > 0 ? std::atoi(e) : 32;
  }();
  const int bps = std::min(bps_cap, fused_blocks_per_sm<T, WF>(fp.smem));
  if (bps < 1) return fp;
  const int64_t max_blocks = (int64_t)bps * device_sm_count();
  if (K > max_blocks) return fp;
  const int64_t pairs1 = p1.n / 2, pairs2 = p2.n / 2;
  // Tuning knob (experiments): MOERT_CUDA_FUSED_EVEN=1 splits both phases
  // evenly (warp_run) over all the blocks that fit, one wave.
  static const bool even = even_knob("MOERT_CUDA_FUSED_EVEN") > 0;
  if (even) {
    const int64_t gx = std::max<int64_t>(1, std::min<int64_t>(max_blocks / K, std::min(pairs1, pairs2) / BULK_WARPS));
    fp.f1.ppw = fp.f2.ppw = 0;
    fp.grid = dim3(static_cast<unsigned>(gx), static_cast<unsigned>(K));
    fp.run2_bytes = (int64_t)p2.n * b2.row_bytes;  // uneven runs: the caller prefetches a prefix of each expert
    fp.ok = true;
    return fp;
  }
  int64_t ppw1 = std::max<int64_t>(1, (pairs1 * K + max_blocks * BULK_WARPS - 1) / (max_blocks * BULK_WARPS));
  int64_t gx = (pairs1 + BULK_WARPS * ppw1 - 1) / (BULK_WARPS * ppw1);
  while (gx * K > max_blocks) gx = (pairs1 + BULK_WARPS * ++ppw1 - 1) / (BULK_WARPS * ppw1);
  fp.f1.ppw = static_cast<int>(ppw1);
  fp.f2.ppw = static_cast<int>(std::max<int64_t>(1, (pairs2 + BULK_WARPS * gx - 1) / (BULK_WARPS * gx)));
  fp.grid = dim3(static_cast<unsigned>(gx), static_cast<unsigned>(K));
  fp.run2_bytes = (int64_t)fp.f2.ppw * 2 * b2.row_bytes;
  fp.ok = true;
  return fp;
}

template <class T, WeightFormat WF>
bool launch_fused_format(const GemmParams& p1, const GemmParams& p2, const DecodeFusion& f, cudaStream_t stream) {
  const FusedPlan fp = fused_plan<T, WF>(p1, p2, f);
  if (!fp.ok) return false;
  cudaLaunchConfig_t cfg{};
  cfg.gridDim = fp.grid;
  cfg.blockDim = dim3(BULK_WARPS * 32);
  cfg.dynamicSmemBytes = fp.smem;
  cfg.stream = stream;
  cudaLaunchAttribute attr[1];
  attr[0].id = cudaLaunchAttributeCooperative;
  attr[0].val.cooperative = 1;
  cfg.attrs = attr;
  cfg.numAttrs = 1;
  cuda_check(cudaLaunchKernelEx(&cfg, gemv_bulk_fused_kernel<T, WF>, p1, p2, fp.f1, fp.f2, fp.a_bytes, fp.ring_stride,
                                f, fp.route_off),
             "launching grouped_gemv_bulk_fused");
  return true;
}

// The plan of the one-token-row, not-routed bulk kernel for this call.
template <class T>
BulkPlan one_row_plan(const GemmParams& p, WeightFormat wf, int64_t max_groups, int forced_ppw) {
  switch (wf) {
    case WeightFormat::kDense: return bulk_plan<T, WeightFormat::kDense, 1, false>(p, max_groups, forced_ppw, 0);
    case WeightFormat::kFp8: return bulk_plan<T, WeightFormat::kFp8, 1, false>(p, max_groups, forced_ppw, 0);
    case WeightFormat::kMxfp4: return bulk_plan<T, WeightFormat::kMxfp4, 1, false>(p, max_groups, forced_ppw, 0);
  }
  return BulkPlan{};
}

}  // namespace

template <class T>
bool launch_gemv_bulk(const GemmParams& p, WeightFormat wf, int64_t max_groups, int64_t max_rows, int forced_ppw,
                      cudaStream_t stream) {
  if (max_groups <= 0 || p.n <= 0) return true;
  const DecodeFusion none{};
  return max_rows <= 1 ? launch_bulk_rows<T, 1, false>(p, wf, max_groups, forced_ppw, none, stream)
                       : launch_bulk_rows<T, BULK_MULTI_ROWS, false>(p, wf, max_groups, forced_ppw, none, stream);
}

template <class T>
bool launch_gemv_bulk_routed(const GemmParams& p, WeightFormat wf, const DecodeFusion& f, int forced_ppw,
                             cudaStream_t stream) {
  if (p.n <= 0 || p.a_scale || f.route.tokens != 1) return false;
  const bool ok = launch_bulk_rows<T, 1, true>(p, wf, f.route.top_k, forced_ppw, f, stream);
  if (ok) MOERT_CUDA_LAUNCH_CHECK("grouped_gemv_bulk (routed)");
  return ok;
}

template <class T>
bool launch_gemv_bulk_combine(const GemmParams& p, WeightFormat wf, int64_t max_groups, const CombineTail& ct,
                              int forced_ppw, cudaStream_t stream) {
  if (max_groups <= 0 || p.n <= 0 || !ct.tickets || (p.n & 1) || (p.ldc & 1) || wf == WeightFormat::kFp8) return false;
  const DecodeFusion none{};
  const bool ok = launch_bulk_rows<T, 1, false>(p, wf, max_groups, forced_ppw, none, stream, ct);
  if (ok) MOERT_CUDA_LAUNCH_CHECK("grouped_gemv_bulk (combine)");
  return ok;
}

template <class T>
int64_t gemv_bulk_combine_tickets(const GemmParams& p, WeightFormat wf, int64_t max_groups, int forced_ppw) {
  const BulkPlan b = one_row_plan<T>(p, wf, max_groups, forced_ppw);
  return b.ok ? (int64_t)b.grid.x : 0;
}

template <class T>
int64_t gemv_bulk_run_bytes(const GemmParams& p, WeightFormat wf, int64_t max_groups, int forced_ppw) {
  const BulkPlan b = one_row_plan<T>(p, wf, max_groups, forced_ppw);
  return b.ok ? (int64_t)b.ppw * 2 * b.row_bytes : 0;
}

template <class T>
bool launch_gemv_bulk_fused(const GemmParams& p1, const GemmParams& p2, WeightFormat wf, const DecodeFusion& f,
                            cudaStream_t stream) {
  if (p1.n <= 0 || p2.n <= 0 || p1.a_scale || f.route.tokens != 1 || f.route.top_k > 32 ||
      f.route.num_experts > kDecodeRouteMaxExperts)
    return false;
  bool ok = false;
  switch (wf) {
    case WeightFormat::kDense: ok = launch_fused_format<T, WeightFormat::kDense>(p1, p2, f, stream); break;
    case WeightFormat::kMxfp4: ok = launch_fused_format<T, WeightFormat::kMxfp4>(p1, p2, f, stream); break;
    case WeightFormat::kFp8: return false;  // not measured
  }
  if (ok) MOERT_CUDA_LAUNCH_CHECK("grouped_gemv_bulk_fused");
  return ok;
}

template <class T>
int64_t gemv_bulk_fused_combine_tickets(const GemmParams& p1, const GemmParams& p2, WeightFormat wf,
                                        const DecodeFusion& f) {
  if (p1.n <= 0 || p2.n <= 0 || (p2.n & 1) || (p2.ldc & 1) || f.route.tokens != 1 || f.route.top_k > 32 ||
      f.route.num_experts > kDecodeRouteMaxExperts)
    return 0;
  FusedPlan fp;
  if (wf == WeightFormat::kDense) fp = fused_plan<T, WeightFormat::kDense>(p1, p2, f);
  else if (wf == WeightFormat::kMxfp4) fp = fused_plan<T, WeightFormat::kMxfp4>(p1, p2, f);
  return fp.ok ? (int64_t)fp.grid.x : 0;
}

template <class T>
int64_t gemv_bulk_fused_run_bytes(const GemmParams& p1, const GemmParams& p2, WeightFormat wf, const DecodeFusion& f) {
  if (p1.n <= 0 || p2.n <= 0 || f.route.tokens != 1 || f.route.top_k > 32 || f.route.num_experts > kDecodeRouteMaxExperts)
    return 0;
  FusedPlan fp;
  if (wf == WeightFormat::kDense) fp = fused_plan<T, WeightFormat::kDense>(p1, p2, f);
  else if (wf == WeightFormat::kMxfp4) fp = fused_plan<T, WeightFormat::kMxfp4>(p1, p2, f);
  return fp.ok ? fp.run2_bytes : 0;
}

#define MOERT_GEMV_BULK_INSTANTIATE(T)                                                                        \
  template bool launch_gemv_bulk<T>(const GemmParams&, WeightFormat, int64_t, int64_t, int, cudaStream_t);   \
  template bool launch_gemv_bulk_routed<T>(const GemmParams&, WeightFormat, const DecodeFusion&, int,        \
                                           cudaStream_t);                                                    \
  template int64_t gemv_bulk_run_bytes<T>(const GemmParams&, WeightFormat, int64_t, int);                    \
  template bool launch_gemv_bulk_combine<T>(const GemmParams&, WeightFormat, int64_t, const CombineTail&, int,  \
                                            cudaStream_t);                                                     \
  template int64_t gemv_bulk_combine_tickets<T>(const GemmParams&, WeightFormat, int64_t, int);              \
  template bool launch_gemv_bulk_fused<T>(const GemmParams&, const GemmParams&, WeightFormat, const DecodeFusion&, \
                                          cudaStream_t);                                                       \
  template int64_t gemv_bulk_fused_run_bytes<T>(const GemmParams&, const GemmParams&, WeightFormat,           \
                                                const DecodeFusion&);                                         \
  template int64_t gemv_bulk_fused_combine_tickets<T>(const GemmParams&, const GemmParams&, WeightFormat,     \
                                                      const DecodeFusion&);
MOERT_GEMV_BULK_INSTANTIATE(__nv_bfloat16)
MOERT_GEMV_BULK_INSTANTIATE(__half)

}  // namespace moert_cuda
