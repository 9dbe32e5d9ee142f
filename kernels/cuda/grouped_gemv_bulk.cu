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
#include "grouped_gemv_bulk.cuh"
#include "mbarrier.cuh"

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


// Block: BULK_WARPS warps of one expert (blockIdx.y indexes the active
// experts). Warp w of block b owns pairs [first, first + ppw), first =
// (b * BULK_WARPS + w) * ppw, and reads them as `segs` K-segments each of
// seg_chunks chunks (rows over 16 KB a pair are split so that two slots fit):
// item i = pair i / segs, segment i % segs; its slot holds row n's segment,
// then row n+1's at + seg_chunks * 16. Shared memory: the staged token row,
// then the warps' barriers, then their rings (warp w's slot d at
// ring + (w * depth + d) * slot_bytes, slot_bytes = 2 * seg_chunks * 16),
// then (ROUTED) the routed token (decode_route.cuh) at route_off.
// MR: token rows per pass (all staged); groups with more rows take several
// passes, each streaming the weights again.
// The groups come from the sort, or (ROUTED: one token, GEMM1) the block
// routes the token itself first (decode_route.cuh).
template <class T, WeightFormat WF, int MR, bool ROUTED>
__global__ void __launch_bounds__(BULK_WARPS * 32) gemv_bulk_kernel(const GemmParams p, const int ppw,
                                                                   const int depth, const int segs,
                                                                   const int seg_chunks, const int a_bytes,
                                                                   const DecodeFusion f, const int route_off) {
#ifdef MOERT_GEMV_BULK
  static_assert(!ROUTED || MR == 1, "the fused mode is for one token");
  extern __shared__ __align__(128) unsigned char bulk_smem[];
  DecodeRoute* route = reinterpret_cast<DecodeRoute*>(bulk_smem + route_off);
  int expert = 0;
  int32_t rb = 0, re = 1;
  if constexpr (!ROUTED) {
    pdl_begin();
    if (!gemv_group_of(p, expert, rb, re)) return;
  } else {
    // The forward's first kernel (launched without PDL): nothing to wait for.
    decode_route_block(f, route, reinterpret_cast<float*>(route + 1), blockIdx.x == 0 && blockIdx.y == 0);
    if ((int)blockIdx.y >= route->nact) return;
    expert = route->active[blockIdx.y];
    rb = blockIdx.y;  // one row per expert, in expert order
    re = rb + 1;
  }
  using GC = GemvChunk<T, WF>;
  constexpr int EPL = GC::kElems;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int chunks = p.k / EPL;
  const int pairs = p.n >> 1;
  const int first = (blockIdx.x * BULK_WARPS + warp) * ppw;
  const int items = first < pairs ? min(ppw, pairs - first) * segs : 0;
  const int64_t row_bytes = (int64_t)p.k * GC::kRowBytesNum / GC::kRowBytesDen;
  const uint8_t* w_first = static_cast<const uint8_t*>(p.b) + (int64_t)expert * p.b_expert_bytes +
                           (int64_t)(2 * first) * row_bytes;
  const int slot_bytes = 2 * seg_chunks * 16;

  const uint4* a_sm = reinterpret_cast<const uint4*>(bulk_smem);
  const uint32_t bars = smem_u32(bulk_smem) + a_bytes + (warp * depth) * 8;
  const uint32_t ring_off = a_bytes + ((BULK_WARPS * depth * 8 + 127) & ~127);
  unsigned char* ring = bulk_smem + ring_off + (size_t)warp * depth * slot_bytes;
  const uint32_t ring_u32 = smem_u32(ring);

  const uint64_t stream_policy = p.prefetch ? l2_policy_evict_first() : 0;
  // Lane 0: both rows' segment of item i into slot d.
  auto issue = [&](int i, int d) {
    const int q = i / segs, c0 = (i - q * segs) * seg_chunks;
    const uint32_t bytes = (uint32_t)min(seg_chunks, chunks - c0) * 16;
    const uint8_t* src = w_first + (int64_t)(2 * q) * row_bytes + (int64_t)c0 * 16;
    const uint32_t bar = bars + 8 * d, dst = ring_u32 + d * slot_bytes;
    mbar_arrive_expect_tx(bar, 2 * bytes);
    if (p.prefetch) {  // streamed once: leave L2 to the next GEMM's prefetched weights
      bulk_copy_hint(dst, src, bytes, bar, stream_policy);
      bulk_copy_hint(dst + seg_chunks * 16, src + row_bytes, bytes, bar, stream_policy);
    } else {
      bulk_copy(dst, src, bytes, bar);
      bulk_copy(dst + seg_chunks * 16, src + row_bytes, bytes, bar);
    }
  };
  // Warp 0: this block's share of the next GEMM's weights of its expert into
  // L2: the first prefetch_bytes of every prefetch_period bytes (a warp run
  // of the next GEMM, so each of its warps finds the same share in L2), in
  // pieces of at most 32 KB spread over the lanes.
  auto prefetch_next = [&] {
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
  };

  if (lane == 0) {
    for (int d = 0; d < depth; ++d) mbar_init(bars + 8 * d, 1);
    asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
  }
  __syncwarp();

  int used = 0;  // slots consumed by this warp so far (all passes): slot used % depth, phase (used / depth) & 1
  for (int32_t r0 = rb; r0 < re; r0 += MR) {
    const int mr = min(MR, re - r0);
    // First copies before the token rows are staged: they need no A.
    if (lane == 0)
      for (int i = 0; i < min(depth, items); ++i) issue(i, (used + i) % depth);
    if (p.prefetch && warp == 0 && r0 == rb) prefetch_next();
    {
      if (r0 != rb) __syncthreads();  // the previous pass is done reading the staged rows
      uint4* dst = reinterpret_cast<uint4*>(bulk_smem);
      const int pieces = chunks * GC::kSubs;
      for (int m = 0; m < mr; ++m) {
        // ROUTED: the one token's row (a_index is published by block (0,0) only).
        const int64_t row = !ROUTED ? a_row_of(p, r0 + m) : 0;
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
    for (int i = 0; i < items; ++i, ++used) {
      const int d = used % depth;
      const int q = i / segs, seg = i - q * segs;
      const int c0 = seg * seg_chunks, nc = min(seg_chunks, chunks - c0);
      const int n = 2 * (first + q);
      mbar_wait(bars + 8 * d, (used / depth) & 1);
      const uint4* w0 = reinterpret_cast<const uint4*>(ring + (size_t)d * slot_bytes);
      const uint4* w1 = w0 + seg_chunks;
#pragma unroll(WF == WeightFormat::kMxfp4 ? 1 : 4)
      for (int c = lane; c < nc; c += 32) {
        const int cg = c0 + c;  // chunk of the whole row
        auto scales = [&] {
          return make_float2(gemv_chunk_scale<WF>(p, expert, n, cg * EPL), gemv_chunk_scale<WF>(p, expert, n + 1, cg * EPL));
        };
        gemv_pair_chunk<T, WF, MR>(w0[c], w1[c], scales, a_sm, cg, chunks, mr, acc0, acc1);
      }
      // Every lane is done reading the slot: refill it with item i + depth.
      // The fence orders those generic-proxy reads before the async-proxy write.
      __syncwarp();
      if (lane == 0 && i + depth < items) {
        asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
        issue(i + depth, d);
      }
      if (seg == segs - 1) gemv_finish_pair<T, MR>(p, expert, r0, n, mr, lane, acc0, acc1);
    }
  }
#endif  // MOERT_GEMV_BULK
}

// Lets the variant take up to BULK_SMEM_MAX of dynamic shared memory. A
// function attribute, not stream work (allowed during graph capture); once
// per variant. It must come before the occupancy query: without it the query
// fails for more than 48 KB, and the grid was planned for 1 block per SM
// (qwen3 and gpt-oss bf16 at one token, whose GEMV1 takes 71 / 98 KB).
template <class T, WeightFormat WF, int MR, bool ROUTED>
void bulk_allow_smem() {
  static const cudaError_t attr = cudaFuncSetAttribute(gemv_bulk_kernel<T, WF, MR, ROUTED>,
                                                       cudaFuncAttributeMaxDynamicSharedMemorySize, BULK_SMEM_MAX);
  cuda_check(attr, "cudaFuncSetAttribute(grouped_gemv_bulk)");
}

// Blocks of this variant one SM holds with `smem` bytes (occupancy query,
// cached per device and KB of shared memory).
template <class T, WeightFormat WF, int MR, bool ROUTED>
int bulk_blocks_per_sm(size_t smem) {
  bulk_allow_smem<T, WF, MR, ROUTED>();
  static std::atomic<signed char> cache[64][228];
  const int dev = current_device();
  const size_t kb = std::min<size_t>(227, smem / 1024);
  signed char v = cache[dev][kb].load(std::memory_order_relaxed);
  if (v) return v;
  int blocks = 0;
  if (cudaOccupancyMaxActiveBlocksPerMultiprocessor(&blocks, gemv_bulk_kernel<T, WF, MR, ROUTED>, BULK_WARPS * 32,
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

// ROUTED: num_experts routed experts (shared-memory scores), max_groups the
// token's top_k.
template <class T, WeightFormat WF, int MR, bool ROUTED>
BulkPlan bulk_plan(const GemmParams& p, int64_t max_groups, int forced_ppw, int num_experts) {
  using GC = GemvChunk<T, WF>;
  BulkPlan b;
  b.row_bytes = (int64_t)p.k * GC::kRowBytesNum / GC::kRowBytesDen;
  const int64_t a_bytes = (int64_t)MR * p.k * (int64_t)sizeof(T);
  if (!device_is_sm90() || p.k % GC::kElems != 0 || a_bytes > BULK_A_MAX || (b.row_bytes & 15) ||
      (p.b_expert_bytes & 15) || (reinterpret_cast<uintptr_t>(p.b) & 15) || (p.lda % 8) ||
      (reinterpret_cast<uintptr_t>(p.a) & 15))
    return b;
  if (ROUTED && (max_groups > 32 || num_experts > kDecodeRouteMaxExperts)) return b;
  static const int64_t ring_bytes = [] {
    const char* e = std::getenv("MOERT_CUDA_BULK_RING");  // tuning knob: ring bytes per warp
    return e && std::atoi(e) > 0 ? (int64_t)std::atoi(e) : (int64_t)BULK_RING_BYTES;
  }();
  // Segments: a slot (both rows' segment) of at most BULK_SLOT_MAX bytes.
  const int chunks = static_cast<int>(b.row_bytes / 16);
  b.segs = static_cast<int>((2 * b.row_bytes + BULK_SLOT_MAX - 1) / BULK_SLOT_MAX);
  b.seg_chunks = (chunks + b.segs - 1) / b.segs;
  const int64_t slot = 2 * (int64_t)b.seg_chunks * 16;
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
    const int64_t warps = (int64_t)device_sm_count() * bulk_blocks_per_sm<T, WF, MR, ROUTED>(b.smem) * BULK_WARPS;
    b.ppw = static_cast<int>(std::max<int64_t>(1, ((int64_t)pairs * max_groups + warps - 1) / warps));
  }
  b.grid = dim3(ceil_div(pairs, (int64_t)BULK_WARPS * b.ppw), static_cast<unsigned>(max_groups));
  b.ok = true;
  return b;
}

template <class T, WeightFormat WF, int MR, bool ROUTED>
bool launch_bulk_format(const GemmParams& p, int64_t max_groups, int forced_ppw, const DecodeFusion& f,
                        cudaStream_t stream) {
  const BulkPlan b = bulk_plan<T, WF, MR, ROUTED>(p, max_groups, forced_ppw, f.route.num_experts);
  if (!b.ok) return false;
  bulk_allow_smem<T, WF, MR, ROUTED>();
  // ROUTED is the forward's first kernel: no PDL, it starts after all earlier work.
  launch_pdl(!ROUTED, gemv_bulk_kernel<T, WF, MR, ROUTED>, b.grid, BULK_WARPS * 32, b.smem, stream,
             "grouped_gemv_bulk", p, b.ppw, b.depth, b.segs, b.seg_chunks, static_cast<int>(b.a_region), f,
             static_cast<int>(b.route_off));
  return true;
}

template <class T, int MR, bool ROUTED>
bool launch_bulk_rows(const GemmParams& p, WeightFormat wf, int64_t max_groups, int forced_ppw, const DecodeFusion& f,
                      cudaStream_t stream) {
  switch (wf) {
    case WeightFormat::kDense:
      return launch_bulk_format<T, WeightFormat::kDense, MR, ROUTED>(p, max_groups, forced_ppw, f, stream);
    case WeightFormat::kFp8:
      return launch_bulk_format<T, WeightFormat::kFp8, MR, ROUTED>(p, max_groups, forced_ppw, f, stream);
    case WeightFormat::kMxfp4:
      return launch_bulk_format<T, WeightFormat::kMxfp4, MR, ROUTED>(p, max_groups, forced_ppw, f, stream);
  }
  return false;
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
int64_t gemv_bulk_run_bytes(const GemmParams& p, WeightFormat wf, int64_t max_groups, int forced_ppw) {
  auto run = [&](const BulkPlan& b) { return b.ok ? (int64_t)b.ppw * 2 * b.row_bytes : int64_t{0}; };
  switch (wf) {
    case WeightFormat::kDense: return run(bulk_plan<T, WeightFormat::kDense, 1, false>(p, max_groups, forced_ppw, 0));
    case WeightFormat::kFp8: return run(bulk_plan<T, WeightFormat::kFp8, 1, false>(p, max_groups, forced_ppw, 0));
    case WeightFormat::kMxfp4: return run(bulk_plan<T, WeightFormat::kMxfp4, 1, false>(p, max_groups, forced_ppw, 0));
  }
  return 0;
}

#define MOERT_GEMV_BULK_INSTANTIATE(T)                                                                        \
  template bool launch_gemv_bulk<T>(const GemmParams&, WeightFormat, int64_t, int64_t, int, cudaStream_t);   \
  template bool launch_gemv_bulk_routed<T>(const GemmParams&, WeightFormat, const DecodeFusion&, int,        \
                                           cudaStream_t);                                                    \
  template int64_t gemv_bulk_run_bytes<T>(const GemmParams&, WeightFormat, int64_t, int);
MOERT_GEMV_BULK_INSTANTIATE(__nv_bfloat16)
MOERT_GEMV_BULK_INSTANTIATE(__half)

}  // namespace moert_cuda
