// The decode path of the grouped GEMM (see grouped_gemm.cuh): few token rows
// per expert, so the time is the time to stream the touched weights once.
// Two kernels, chosen per call by what measured faster on the H100:
//
// - the rows kernel (gemv_rows_kernel): each warp streams one output row pair
//   (n, n+1) with 16-byte loads, two chunks ahead, and applies it to up to 8
//   token rows read through L1; very long rows split K over several warps.
// - the streaming kernel (gemv_stream_kernel), for one token row: each warp
//   owns a list of row pairs and reads them as one stream of chunks whose
//   loads run GEMV_DEPTH steps ahead of the math across pair boundaries; the
//   token rows are staged once in shared memory, the grid is sized to one
//   wave, and quantized chunks are dotted unscaled and scaled once per chunk
//   (an MXFP4 scale covers exactly the 32 elements of a chunk, an fp8 scale
//   at least 128 columns).
//
// Both decode e2m1 eight at a time with 32-bit shifts and masks (GemvChunk).
// A third, bulk-copy kernel for one token row on sm_90 lives in
// grouped_gemv_bulk.cu; launch_gemv_format picks among the three.
#include "gemm_epilogue.cuh"
#include "gemv_chunk.cuh"
#include "grouped_gemm.cuh"
#include "grouped_gemv_bulk.cuh"
#include "mbarrier.cuh"

namespace moert_cuda {
namespace {

constexpr int GEMV_WARPS = 8;      // warps per block
constexpr int GEMV_DEPTH = 4;      // steps of loads in flight per warp
constexpr int GEMV_SMEM_MAX = 96 * 1024;  // A rows staged in shared memory up to this size

// MR: token rows per pass, all staged in shared memory. Launched with MR = 1
// only: 8 and 2 rows per pass measured about 2x slower than the rows kernel
// at 16 and 24 tokens (qwen3, gpt-oss); 2 blocks per SM keep the ring in
// registers.
template <class T, WeightFormat WF, int MR>
__global__ void __launch_bounds__(GEMV_WARPS * 32, 2) gemv_stream_kernel(const GemmParams p, const int ppw) {
  pdl_begin();
  int expert;
  int32_t rb, re;
  if (!gemv_group_of(p, expert, rb, re)) return;
  using GC = GemvChunk<T, WF>;
  constexpr int EPL = GC::kElems;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int chunks = p.k / EPL;
  const int J = (chunks + 31) >> 5;  // steps per row pair
  const int pairs = p.n >> 1;
  // This warp's pairs: pair0 + q * GEMV_WARPS for q < my_pairs (the block's
  // warps read neighbouring rows at the same step).
  const int pair0 = blockIdx.x * GEMV_WARPS * ppw + warp;
  const int my_pairs = pair0 < pairs ? min(ppw, (pairs - pair0 + GEMV_WARPS - 1) / GEMV_WARPS) : 0;
  const int steps = my_pairs * J;

  const int64_t w_row_bytes = (int64_t)p.k * GC::kRowBytesNum / GC::kRowBytesDen;
  const uint8_t* Wb = static_cast<const uint8_t*>(p.b) + (int64_t)expert * p.b_expert_bytes;
  const T* A = static_cast<const T*>(p.a);
  extern __shared__ uint4 a_sm[];

  for (int32_t r0 = rb; r0 < re; r0 += MR) {
    const int mr = min(MR, re - r0);
    int32_t arow[MR];
#pragma unroll
    for (int m = 0; m < MR; ++m) arow[m] = a_row_of(p, r0 + min(m, mr - 1));
    // The load ring: slot d holds the chunks of step s with s % GEMV_DEPTH == d.
    // Its first loads go out before the A rows are staged: they need no A.
    uint4 q0[GEMV_DEPTH], q1[GEMV_DEPTH];
    float sc0[GEMV_DEPTH], sc1[GEMV_DEPTH];
    int lq = 0, lj = 0;  // pair index and step of the next load
    auto issue = [&](int d) {
      const int c = lane + 32 * lj;
      const int n = 2 * (pair0 + lq * GEMV_WARPS);
      if (lq < my_pairs && c < chunks) {
        const uint4* w0 = reinterpret_cast<const uint4*>(Wb + (int64_t)n * w_row_bytes);
        const uint4* w1 = reinterpret_cast<const uint4*>(Wb + (int64_t)(n + 1) * w_row_bytes);
        q0[d] = __ldg(w0 + c);
        q1[d] = __ldg(w1 + c);
        sc0[d] = gemv_chunk_scale<WF, true>(p, expert, n, c * EPL);
        sc1[d] = gemv_chunk_scale<WF, true>(p, expert, n + 1, c * EPL);
      }
      if (++lj == J) { lj = 0; ++lq; }
    };
#pragma unroll
    for (int d = 0; d < GEMV_DEPTH; ++d) issue(d);

    {
      if (r0 != rb) __syncthreads();  // the previous pass is done reading
      const int pieces = chunks * GC::kSubs;  // 16-byte pieces per row
#pragma unroll
      for (int m = 0; m < MR; ++m) {
        if (m < mr) {
          const uint4* src = reinterpret_cast<const uint4*>(A + (int64_t)arow[m] * p.lda);
#pragma unroll 4
          for (int g = threadIdx.x; g < pieces; g += GEMV_WARPS * 32) {
            const int c = g / GC::kSubs, s = g - c * GC::kSubs;
            a_sm[a_sm_index<GC>(m, s, c, chunks)] = __ldg(src + g);
          }
        }
      }
      __syncthreads();
    }

    float acc0[MR], acc1[MR];
#pragma unroll
    for (int m = 0; m < MR; ++m) acc0[m] = acc1[m] = 0.f;

    int uq = 0, uj = 0;  // pair index and step of the next use
    for (int base = 0; base < steps; base += GEMV_DEPTH) {
#pragma unroll
      for (int d = 0; d < GEMV_DEPTH; ++d) {
        if (base + d >= steps) break;  // uniform over the warp
        const uint4 w0 = q0[d], w1 = q1[d];
        const float s0 = sc0[d], s1 = sc1[d];
        issue(d);
        const int c = lane + 32 * uj;
        if (c < chunks)
          gemv_pair_chunk<T, WF, MR>(w0, w1, [&] { return make_float2(s0, s1); }, a_sm, c, chunks, mr, acc0, acc1);
        if (++uj == J) {
          gemv_finish_pair<T, MR>(p, expert, r0, 2 * (pair0 + uq * GEMV_WARPS), mr, lane, acc0, acc1);
          uj = 0;
          ++uq;
        }
      }
    }
  }
}

// ---------------------------------------------------------------- rows kernel

// Token rows per pass of the rows kernel (its MR): 8, or 2 where the experts
// average at most 2 rows, which frees the registers of 6 rows' accumulators
// and row indices so that one more block fits on each SM.
constexpr int GEMV_ROWS = 8, GEMV_ROWS_FEW = 2;

// Acc += W[8 elements] . A[row m][k .. k+8) for rows m < mr.
// A rows are kept as 32-bit row indices (not pointers) to save registers.
template <class T, int MR>
__device__ __forceinline__ void gemv_fma8(const float (&f0)[8], const float (&f1)[8], const T* A, int64_t lda,
                                          const int32_t (&arow)[MR], int k, int mr, float (&acc0)[MR],
                                          float (&acc1)[MR]) {
#pragma unroll
  for (int m = 0; m < MR; ++m) {
    if (m < mr) {
      const uint4 av = __ldg(reinterpret_cast<const uint4*>(A + arow[m] * lda + k));
      const uint32_t aw[4] = {av.x, av.y, av.z, av.w};
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        const float2 x = unpack2<T>(aw[i]);
        acc0[m] = fmaf(f0[2 * i], x.x, fmaf(f0[2 * i + 1], x.y, acc0[m]));
        acc1[m] = fmaf(f1[2 * i], x.x, fmaf(f1[2 * i + 1], x.y, acc1[m]));
      }
    }
  }
}

template <class T, WeightFormat WF, int sub, int MR>
__device__ __forceinline__ void gemv_sub(const uint4& q0, const uint4& q1, float s0, float s1, const T* A,
                                         int64_t lda, const int32_t (&arow)[MR], int k, int mr, float (&acc0)[MR],
                                         float (&acc1)[MR]) {
  using GC = GemvChunk<T, WF>;
  if constexpr (sub < GC::kSubs) {
    float f0[8], f1[8];
    GC::template decode8<sub>(q0, f0);
    GC::template decode8<sub>(q1, f1);
    if constexpr (WF != WeightFormat::kDense) {
#pragma unroll
      for (int i = 0; i < 8; ++i) {
        f0[i] *= s0;
        f1[i] *= s1;
      }
    }
    gemv_fma8<T, MR>(f0, f1, A, lda, arow, k + sub * 8, mr, acc0, acc1);
    gemv_sub<T, WF, sub + 1, MR>(q0, q1, s0, s1, A, lda, arow, k, mr, acc0, acc1);
  }
}

// The rows kernel, for experts with several token rows: each output row pair
// (n, n+1) is computed by `wpp` warps that split K
// (interleaved 16-byte chunks, so every warp load stays coalesced); partial
// sums meet in shared memory. One block = 8 warps = 8/wpp row pairs of one
// expert at a time, for `groups` consecutive groups of pairs (fewer, longer
// lived blocks: at 16 tokens the 1-group grid ran ~41 waves of blocks that
// each lived about one DRAM round trip). Within a group the weights are read
// once per pass of up to MR token rows.
template <WeightFormat WF, int MR> constexpr int gemv_rows_min_blocks() {
  return WF == WeightFormat::kMxfp4 ? 2 : MR <= GEMV_ROWS_FEW ? 4 : 3;
}

// One pass of the rows kernel: row pair (n, n+1) against token rows
// r0 .. r0 + mr of `expert`.
template <class T, WeightFormat WF, int MR>
__device__ __forceinline__ void gemv_rows_pass(const GemmParams& p, int expert, const uint8_t* Wb,
                                               int64_t w_row_bytes, int n, bool live, int32_t r0, int mr,
                                               const int32_t (&arow)[MR], int wpp, int ks, int warp, int lane,
                                               float (*part)[MR][2], int one_trip) {
  using GC = GemvChunk<T, WF>;
  constexpr int EPL = GC::kElems;
  const int chunks = p.k / EPL;
  const T* A = static_cast<const T*>(p.a);
  const int nn = live ? n : 0;
  const uint4* w0 = reinterpret_cast<const uint4*>(Wb + (int64_t)nn * w_row_bytes);
  const uint4* w1 = reinterpret_cast<const uint4*>(Wb + (int64_t)(nn + 1) * w_row_bytes);
  float acc0[MR], acc1[MR];
#pragma unroll
  for (int m = 0; m < MR; ++m) acc0[m] = acc1[m] = 0.f;

  if (live) {
    const int stride = 32 * wpp;
    int c = ks * 32 + lane;
    // Short dense rows (at most 3 chunks per lane: qwen3's GEMV2, K = 768)
    // in one trip: all six loads in flight at once instead of a trip of two
    // chunks and then one of the last. MOERT_CUDA_ROWS_ONETRIP=0 turns it off.
    if constexpr (WF == WeightFormat::kDense && MR <= GEMV_ROWS_FEW) {
      if (one_trip && chunks > 2 * stride && chunks <= 3 * stride) {
        const int c2 = c + 2 * stride;
        const bool third = c2 < chunks;
        const uint4 q0 = __ldg(w0 + c), q1 = __ldg(w1 + c);
        const uint4 r0_ = __ldg(w0 + c + stride), r1_ = __ldg(w1 + c + stride);
        const uint4 t0 = third ? __ldg(w0 + c2) : uint4{}, t1 = third ? __ldg(w1 + c2) : uint4{};
        gemv_sub<T, WF, 0, MR>(q0, q1, 1.f, 1.f, A, p.lda, arow, c * EPL, mr, acc0, acc1);
        gemv_sub<T, WF, 0, MR>(r0_, r1_, 1.f, 1.f, A, p.lda, arow, (c + stride) * EPL, mr, acc0, acc1);
        if (third) gemv_sub<T, WF, 0, MR>(t0, t1, 1.f, 1.f, A, p.lda, arow, c2 * EPL, mr, acc0, acc1);
        c = chunks;  // done: skip the loops below
      }
    }
    // Two chunks per trip: four 16-byte weight loads in flight per lane.
    for (; c + stride < chunks; c += 2 * stride) {
      const uint4 q0 = __ldg(w0 + c), q1 = __ldg(w1 + c);
      const uint4 r0_ = __ldg(w0 + c + stride), r1_ = __ldg(w1 + c + stride);
      const int k = c * EPL, k2 = (c + stride) * EPL;
      gemv_sub<T, WF, 0, MR>(q0, q1, gemv_chunk_scale<WF>(p, expert, n, k), gemv_chunk_scale<WF>(p, expert, n + 1, k),
                             A, p.lda, arow, k, mr, acc0, acc1);
      gemv_sub<T, WF, 0, MR>(r0_, r1_, gemv_chunk_scale<WF>(p, expert, n, k2),
                             gemv_chunk_scale<WF>(p, expert, n + 1, k2), A, p.lda, arow, k2, mr, acc0, acc1);
    }
    if (c < chunks) {
      const uint4 q0 = __ldg(w0 + c), q1 = __ldg(w1 + c);
      const int k = c * EPL;
      gemv_sub<T, WF, 0, MR>(q0, q1, gemv_chunk_scale<WF>(p, expert, n, k), gemv_chunk_scale<WF>(p, expert, n + 1, k),
                             A, p.lda, arow, k, mr, acc0, acc1);
    }
  }
#pragma unroll
  for (int m = 0; m < MR; ++m) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) {
      acc0[m] += __shfl_xor_sync(0xffffffffu, acc0[m], o);
      acc1[m] += __shfl_xor_sync(0xffffffffu, acc1[m], o);
    }
  }
  if (wpp == 1) {
    if (live && lane < mr) {
      // Lane m writes row m (register indices stay compile-time through the select).
      float v0 = 0.f, v1 = 0.f;
#pragma unroll
      for (int m = 0; m < MR; ++m)
        if (m == lane) { v0 = acc0[m]; v1 = acc1[m]; }
      epilogue_pair<T>(p, expert, r0 + lane, n, v0, v1);
    }
    return;
  }
  if (lane == 0) {
#pragma unroll
    for (int m = 0; m < MR; ++m) { part[warp][m][0] = acc0[m]; part[warp][m][1] = acc1[m]; }
  }
  __syncthreads();
  if (live && ks == 0 && lane < mr) {
    float v0 = 0.f, v1 = 0.f;
    for (int w = 0; w < wpp; ++w) { v0 += part[warp + w][lane][0]; v1 += part[warp + w][lane][1]; }
    epilogue_pair<T>(p, expert, r0 + lane, n, v0, v1);
  }
  __syncthreads();
}

// Before the rows kernel's PDL wait (GemmParams::pre_wait_l2_bytes): the
// block's first weight rows into L2. Why this may run before the wait: PDL
// schedules this grid only once every block of the previous kernel has passed
// its own wait, so the kernel before that one (the sort that wrote the group
// arrays read here) has completed and its writes are visible; the weights are
// inputs. What it buys: the previous kernel's last wave leaves SMs and DRAM
// idle, and this grid's first blocks sit in their wait there anyway.
template <class T, WeightFormat WF>
__device__ __forceinline__ void gemv_rows_pre_wait_l2(const GemmParams& p, int groups, int pairs_per_block) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  if (threadIdx.x != 0 || p.pre_wait_l2_bytes <= 0) return;
  int expert;
  int32_t rb, re;
  if (!gemv_group_of(p, expert, rb, re)) return;
  using GC = GemvChunk<T, WF>;
  const int64_t w_row_bytes = (int64_t)p.k * GC::kRowBytesNum / GC::kRowBytesDen;
  const int64_t n0 = (int64_t)blockIdx.x * groups * pairs_per_block * 2;  // the block's first row
  const int64_t bytes = min((int64_t)p.pre_wait_l2_bytes, (p.n - n0) * w_row_bytes) & ~int64_t{15};
  const uint8_t* src = static_cast<const uint8_t*>(p.b) + (int64_t)expert * p.b_expert_bytes + n0 * w_row_bytes;
  if (bytes <= 0 || (reinterpret_cast<uintptr_t>(src) & 15)) return;
  for (int64_t off = 0; off < bytes; off += 32 * 1024)
    bulk_prefetch_l2(src + off, (uint32_t)min(bytes - off, (int64_t)32 * 1024));
#endif
}

template <class T, WeightFormat WF, int MR>
__global__ void __launch_bounds__(GEMV_WARPS * 32, gemv_rows_min_blocks<WF, MR>())
    gemv_rows_kernel(const GemmParams p, const int wpp, const int groups, const int one_trip) {
  gemv_rows_pre_wait_l2<T, WF>(p, groups, GEMV_WARPS / wpp);
  pdl_begin();
  int expert;
  int32_t rb, re;
  if (!gemv_group_of(p, expert, rb, re)) return;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int pairs_per_block = GEMV_WARPS / wpp;
  const int pair = warp / wpp, ks = warp % wpp;
  using GC = GemvChunk<T, WF>;
  const int64_t w_row_bytes = (int64_t)p.k * GC::kRowBytesNum / GC::kRowBytesDen;
  const uint8_t* Wb = static_cast<const uint8_t*>(p.b) + (int64_t)expert * p.b_expert_bytes;
  __shared__ float part[GEMV_WARPS][MR][2];
  // Every warp runs every pass, live or not (barriers inside the pass).
  if constexpr (MR <= GEMV_ROWS_FEW) {
    // Groups outside, passes inside: an expert's later passes re-read the
    // pair just read. With passes outside, qwen3 at 16 tokens read 573 MB
    // from DRAM in GEMV1 for 518 MB of weights (Nsight Compute, H200): the
    // block's other groups streamed in between and most re-reads missed L2.
    for (int g = 0; g < groups; ++g) {
      const int n = ((blockIdx.x * groups + g) * pairs_per_block + pair) * 2;  // rows n, n+1 (gate, up when paired)
      for (int32_t r0 = rb; r0 < re; r0 += MR) {
        const int mr = min(MR, re - r0);
        int32_t arow[MR];
#pragma unroll
        for (int m = 0; m < MR; ++m) arow[m] = a_row_of(p, r0 + min(m, mr - 1));
        gemv_rows_pass<T, WF, MR>(p, expert, Wb, w_row_bytes, n, n < p.n, r0, mr, arow, wpp, ks, warp, lane, part,
                                  one_trip);
      }
    }
  } else {
    // Passes of 8 rows rarely repeat; this order (row indices read once per
    // pass) keeps the MXFP4 variant within its 128 registers.
    for (int32_t r0 = rb; r0 < re; r0 += MR) {
      const int mr = min(MR, re - r0);
      int32_t arow[MR];
#pragma unroll
      for (int m = 0; m < MR; ++m) arow[m] = a_row_of(p, r0 + min(m, mr - 1));
      for (int g = 0; g < groups; ++g) {
        const int n = ((blockIdx.x * groups + g) * pairs_per_block + pair) * 2;  // rows n, n+1 (gate, up when paired)
        gemv_rows_pass<T, WF, MR>(p, expert, Wb, w_row_bytes, n, n < p.n, r0, mr, arow, wpp, ks, warp, lane, part,
                                  one_trip);
      }
    }
  }
}


// ---------------------------------------------------------------- launchers

// Warps of this kernel variant the GPU holds at once with `smem` bytes of
// staged rows per block (occupancy query, cached per device and size class;
// each class is probed at its largest size, so the answer is a lower bound).
template <class T, WeightFormat WF, int MR>
int64_t resident_gemv_warps(size_t smem) {
  static std::atomic<int64_t> cache[64][3];
  const int dev = current_device();
  const int cls = smem == 0 ? 0 : smem <= 48 * 1024 ? 1 : 2;
  int64_t v = cache[dev][cls].load(std::memory_order_relaxed);
  if (v) return v;
  const size_t probe = cls == 0 ? 0 : cls == 1 ? 48 * 1024 : GEMV_SMEM_MAX;
  const int sms = device_sm_count();
  int blocks = 0;
  if (cudaOccupancyMaxActiveBlocksPerMultiprocessor(&blocks, gemv_stream_kernel<T, WF, MR>, GEMV_WARPS * 32,
                                                    probe) != cudaSuccess)
    return 132 * 16;
  v = std::max<int64_t>(1, (int64_t)sms * std::max(blocks, 1) * GEMV_WARPS);
  cache[dev][cls].store(v, std::memory_order_relaxed);
  return v;
}

template <class T, WeightFormat WF, int MR>
void launch_gemv_stream(const GemmParams& p, int64_t max_groups, int forced_ppw, cudaStream_t stream) {
  const int pairs = p.n / 2;
  const size_t smem = (size_t)MR * p.k * sizeof(T);  // <= GEMV_SMEM_MAX (checked by the caller)
  static const cudaError_t attr = cudaFuncSetAttribute(gemv_stream_kernel<T, WF, MR>,
                                                       cudaFuncAttributeMaxDynamicSharedMemorySize, GEMV_SMEM_MAX);
  cuda_check(attr, "cudaFuncSetAttribute(grouped_gemv)");
  // Pairs per warp: all warps in one wave. Each warp then streams its pairs
  // back to back with the ring full, and no second, partial wave of blocks
  // leaves most SMs idle at the end (max_groups is exact for one token and
  // an upper bound otherwise).
  int ppw = forced_ppw;
  if (!ppw) {
    const int64_t total_pairs = (int64_t)pairs * max_groups;
    const int64_t resident = resident_gemv_warps<T, WF, MR>(smem);
    ppw = static_cast<int>(std::min<int64_t>(64, std::max<int64_t>(1, (total_pairs + resident - 1) / resident)));
  }
  const dim3 grid(ceil_div(pairs, GEMV_WARPS * ppw), static_cast<unsigned>(max_groups));
  launch_pdl(true, gemv_stream_kernel<T, WF, MR>, grid, GEMV_WARPS * 32, smem, stream, "grouped_gemv", p, ppw);
}

// groups: consecutive groups of 8 / wpp row pairs per block (option
// cuda.gemv_rows_groups). few_rows: passes of GEMV_ROWS_FEW token rows
// (MR = 2) instead of GEMV_ROWS.
template <class T, WeightFormat WF>
void launch_gemv_rows(const GemmParams& p, int64_t max_groups, int groups, bool few_rows, cudaStream_t stream) {
  // Warps per row pair: split K only for very long rows (short warps lose
  // more to latency than they gain).
  const int chunks = p.k / GemvChunk<T, WF>::kElems;
  int wpp = 1;
  while (wpp < GEMV_WARPS && chunks >= 32 * 16 * (2 * wpp)) wpp *= 2;
  const int pairs_per_block = GEMV_WARPS / wpp;
  // auto (0): 4 groups per block, or 2 where 4 would leave an expert fewer
  // than 32 blocks. H200, same call, graph µs, 16 tokens (2 groups for GEMV1
  // / GEMV2): qwen3 (GEMV1 N = 1536: 24 blocks an expert with 4) 235.5 ->
  // 229.2 with GEMV1 alone at 2, 234.2 with both, 241.8 with GEMV2 alone at 2
  // (N = 2048: 32 blocks); gpt-oss bf16 (N = 5760 / 2880: 90 / 45 blocks)
  // 651.6 -> 670.5 / 667.8 with either at 2 (bench/results/h200-2026-12-01l/knobs_ab.txt).
  if (groups <= 0) groups = ceil_div(p.n, 2 * pairs_per_block * 4) < 32 ? 2 : 4;
  const dim3 grid(ceil_div(p.n, 2 * pairs_per_block * groups), static_cast<unsigned>(max_groups));
  static const int one_trip = [] {
    const char* e = std::getenv("MOERT_CUDA_ROWS_ONETRIP");
    return e && e[0] == '0' ? 0 : 1;
  }();
  if (few_rows)
    launch_pdl(true, gemv_rows_kernel<T, WF, GEMV_ROWS_FEW>, grid, GEMV_WARPS * 32, 0, stream, "grouped_gemv", p, wpp,
               groups, one_trip);
  else
    launch_pdl(true, gemv_rows_kernel<T, WF, GEMV_ROWS>, grid, GEMV_WARPS * 32, 0, stream, "grouped_gemv", p, wpp,
               groups, one_trip);
}

// Auto, at one token row per expert: the bulk-copy kernel
// (grouped_gemv_bulk.cu) for dense and MXFP4 weights on sm_90, where it
// measured fastest on the H100 (graph-replayed layer, 1 token: mixtral
// 286 -> 278 us, qwen3 51.6 -> 47.3, gpt-oss bf16 104.5 -> 91.5, gpt-oss
// MXFP4 64.3 -> 59.9); elsewhere (other GPUs, rows it cannot take) the
// streaming kernel for MXFP4 and dense rows of <= 12 steps of 32 chunks, as
// measured before it (qwen3 56.6 -> 53.6 us, gpt-oss bf16 113 -> 104, MXFP4
// 119 -> 64). fp8 (not measured) and several token rows keep the rows kernel
// (docs/cuda-backend.md).
template <class T, WeightFormat WF>
void launch_gemv_format(const GemmParams& p, int64_t max_groups, int64_t max_rows, const GemvTuning& t,
                        cudaStream_t stream) {
  const bool fits = max_rows <= 1 && (size_t)p.k * sizeof(T) <= GEMV_SMEM_MAX;
  const int steps_per_pair = (p.k / GemvChunk<T, WF>::kElems + 31) / 32;
  const bool auto_stream =
      WF == WeightFormat::kMxfp4 || (WF == WeightFormat::kDense && steps_per_pair <= 12);
  const bool stream_kernel =
      fits && (t.kernel == GemvKernel::kStream || (t.kernel == GemvKernel::kAuto && auto_stream));
  const bool auto_bulk = WF != WeightFormat::kFp8;
  if ((t.kernel == GemvKernel::kBulk || (t.kernel == GemvKernel::kAuto && auto_bulk && max_rows <= 1)) &&
      launch_gemv_bulk<T>(p, WF, max_groups, max_rows, t.pairs_per_warp, stream))
    return;
  if (stream_kernel) return launch_gemv_stream<T, WF, 1>(p, max_groups, t.pairs_per_warp, stream);
  // Passes of 2 token rows when the experts average at most 2 (sorted rows
  // <= 2 x groups), as at 16 tokens of qwen3 / gpt-oss.
  const bool few_rows = t.rows_per_pass == GEMV_ROWS_FEW ||
                        (t.rows_per_pass == 0 && p.expert_offsets && p.groups > 0 && p.slots > 0 &&
                         p.slots <= GEMV_ROWS_FEW * p.groups);
  launch_gemv_rows<T, WF>(p, max_groups, t.rows_groups, few_rows, stream);
}

}  // namespace

template <class T>
void launch_grouped_gemv(const GemmParams& p, WeightFormat wf, int64_t max_groups, int64_t max_rows,
                         const GemvTuning& tuning, cudaStream_t stream) {
  if (max_groups <= 0 || p.n <= 0) return;
  switch (wf) {
    case WeightFormat::kDense: launch_gemv_format<T, WeightFormat::kDense>(p, max_groups, max_rows, tuning, stream); break;
    case WeightFormat::kFp8: launch_gemv_format<T, WeightFormat::kFp8>(p, max_groups, max_rows, tuning, stream); break;
    case WeightFormat::kMxfp4: launch_gemv_format<T, WeightFormat::kMxfp4>(p, max_groups, max_rows, tuning, stream); break;
  }
  MOERT_CUDA_LAUNCH_CHECK("grouped_gemv");
}

template void launch_grouped_gemv<__nv_bfloat16>(const GemmParams&, WeightFormat, int64_t, int64_t, const GemvTuning&,
                                                  cudaStream_t);
template void launch_grouped_gemv<__half>(const GemmParams&, WeightFormat, int64_t, int64_t, const GemvTuning&, cudaStream_t);

}  // namespace moert_cuda
