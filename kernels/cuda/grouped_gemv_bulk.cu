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
// ring + (w * depth + d) * slot_bytes, slot_bytes = 2 * seg_chunks * 16).
// MR: token rows per pass (all staged); groups with more rows take several
// passes, each streaming the weights again.
template <class T, WeightFormat WF, int MR>
__global__ void __launch_bounds__(BULK_WARPS * 32) gemv_bulk_kernel(const GemmParams p, const int ppw,
                                                                   const int depth, const int segs,
                                                                   const int seg_chunks, const int a_bytes) {
#ifdef MOERT_GEMV_BULK
  pdl_begin();
  int expert;
  int32_t rb, re;
  if (!gemv_group_of(p, expert, rb, re)) return;
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

  extern __shared__ __align__(128) unsigned char bulk_smem[];
  const uint4* a_sm = reinterpret_cast<const uint4*>(bulk_smem);
  const uint32_t bars = smem_u32(bulk_smem) + a_bytes + (warp * depth) * 8;
  const uint32_t ring_off = a_bytes + ((BULK_WARPS * depth * 8 + 127) & ~127);
  unsigned char* ring = bulk_smem + ring_off + (size_t)warp * depth * slot_bytes;
  const uint32_t ring_u32 = smem_u32(ring);

  // Lane 0: both rows' segment of item i into slot d.
  auto issue = [&](int i, int d) {
    const int q = i / segs, c0 = (i - q * segs) * seg_chunks;
    const uint32_t bytes = (uint32_t)min(seg_chunks, chunks - c0) * 16;
    const uint8_t* src = w_first + (int64_t)(2 * q) * row_bytes + (int64_t)c0 * 16;
    const uint32_t bar = bars + 8 * d, dst = ring_u32 + d * slot_bytes;
    mbar_arrive_expect_tx(bar, 2 * bytes);
    bulk_copy(dst, src, bytes, bar);
    bulk_copy(dst + seg_chunks * 16, src + row_bytes, bytes, bar);
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
    {
      if (r0 != rb) __syncthreads();  // the previous pass is done reading the staged rows
      uint4* dst = reinterpret_cast<uint4*>(bulk_smem);
      const int pieces = chunks * GC::kSubs;
      for (int m = 0; m < mr; ++m) {
        const uint4* src =
            reinterpret_cast<const uint4*>(static_cast<const T*>(p.a) + (int64_t)a_row_of(p, r0 + m) * p.lda);
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

// Blocks of this variant one SM holds with `smem` bytes (occupancy query,
// cached per device and KB of shared memory).
template <class T, WeightFormat WF, int MR>
int bulk_blocks_per_sm(size_t smem) {
  static std::atomic<signed char> cache[64][228];
  const int dev = current_device();
  const size_t kb = std::min<size_t>(227, smem / 1024);
  signed char v = cache[dev][kb].load(std::memory_order_relaxed);
  if (v) return v;
  int blocks = 0;
  if (cudaOccupancyMaxActiveBlocksPerMultiprocessor(&blocks, gemv_bulk_kernel<T, WF, MR>, BULK_WARPS * 32, smem) !=
          cudaSuccess ||
      blocks < 1)
    blocks = 1;
  v = static_cast<signed char>(std::min(blocks, 32));
  cache[dev][kb].store(v, std::memory_order_relaxed);
  return v;
}

template <class T, WeightFormat WF, int MR>
bool launch_bulk_format(const GemmParams& p, int64_t max_groups, int forced_ppw, cudaStream_t stream) {
  using GC = GemvChunk<T, WF>;
  const int64_t row_bytes = (int64_t)p.k * GC::kRowBytesNum / GC::kRowBytesDen;
  const int64_t a_bytes = (int64_t)MR * p.k * sizeof(T);
  if (!device_is_sm90() || p.k % GC::kElems != 0 || a_bytes > BULK_A_MAX || (row_bytes & 15) ||
      (p.b_expert_bytes & 15) || (reinterpret_cast<uintptr_t>(p.b) & 15) || (p.lda % 8) ||
      (reinterpret_cast<uintptr_t>(p.a) & 15))
    return false;
  // Segments: a slot (both rows' segment) of at most BULK_SLOT_MAX bytes.
  const int chunks = static_cast<int>(row_bytes / 16);
  const int segs = static_cast<int>((2 * row_bytes + BULK_SLOT_MAX - 1) / BULK_SLOT_MAX);
  const int seg_chunks = (chunks + segs - 1) / segs;
  const int64_t slot = 2 * (int64_t)seg_chunks * 16;
  static const int64_t ring_bytes = [] {
    const char* e = std::getenv("MOERT_CUDA_BULK_RING");  // tuning knob: ring bytes per warp
    return e && std::atoi(e) > 0 ? (int64_t)std::atoi(e) : (int64_t)BULK_RING_BYTES;
  }();
  const int depth = static_cast<int>(std::max<int64_t>(2, std::min<int64_t>(8, ring_bytes / slot)));
  const int64_t a_region = (a_bytes + 127) & ~int64_t{127};
  const size_t smem = (size_t)(a_region + ((BULK_WARPS * depth * 8 + 127) & ~127) + (int64_t)BULK_WARPS * depth * slot);
  if (smem > (size_t)BULK_SMEM_MAX) return false;
  // A function attribute, not stream work: allowed during graph capture; once per variant.
  static const cudaError_t attr = cudaFuncSetAttribute(gemv_bulk_kernel<T, WF, MR>,
                                                       cudaFuncAttributeMaxDynamicSharedMemorySize, BULK_SMEM_MAX);
  cuda_check(attr, "cudaFuncSetAttribute(grouped_gemv_bulk)");
  // Pairs per warp: every warp in one wave (max_groups is exact for one
  // token, an upper bound of the active experts otherwise).
  const int pairs = p.n / 2;
  int ppw = forced_ppw;
  if (!ppw) {
    const int64_t warps = (int64_t)device_sm_count() * bulk_blocks_per_sm<T, WF, MR>(smem) * BULK_WARPS;
    ppw = static_cast<int>(std::max<int64_t>(1, ((int64_t)pairs * max_groups + warps - 1) / warps));
  }
  const dim3 grid(ceil_div(pairs, (int64_t)BULK_WARPS * ppw), static_cast<unsigned>(max_groups));
  launch_pdl(true, gemv_bulk_kernel<T, WF, MR>, grid, BULK_WARPS * 32, smem, stream, "grouped_gemv_bulk", p, ppw, depth,
             segs, seg_chunks, static_cast<int>(a_region));
  return true;
}

template <class T, int MR>
bool launch_bulk_rows(const GemmParams& p, WeightFormat wf, int64_t max_groups, int forced_ppw, cudaStream_t stream) {
  switch (wf) {
    case WeightFormat::kDense: return launch_bulk_format<T, WeightFormat::kDense, MR>(p, max_groups, forced_ppw, stream);
    case WeightFormat::kFp8: return launch_bulk_format<T, WeightFormat::kFp8, MR>(p, max_groups, forced_ppw, stream);
    case WeightFormat::kMxfp4: return launch_bulk_format<T, WeightFormat::kMxfp4, MR>(p, max_groups, forced_ppw, stream);
  }
  return false;
}

}  // namespace

template <class T>
bool launch_gemv_bulk(const GemmParams& p, WeightFormat wf, int64_t max_groups, int64_t max_rows, int forced_ppw,
                      cudaStream_t stream) {
  if (max_groups <= 0 || p.n <= 0) return true;
  return max_rows <= 1 ? launch_bulk_rows<T, 1>(p, wf, max_groups, forced_ppw, stream)
                       : launch_bulk_rows<T, BULK_MULTI_ROWS>(p, wf, max_groups, forced_ppw, stream);
}

template bool launch_gemv_bulk<__nv_bfloat16>(const GemmParams&, WeightFormat, int64_t, int64_t, int, cudaStream_t);
template bool launch_gemv_bulk<__half>(const GemmParams&, WeightFormat, int64_t, int64_t, int, cudaStream_t);

}  // namespace moert_cuda
