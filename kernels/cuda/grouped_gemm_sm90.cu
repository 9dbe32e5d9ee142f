// Grouped GEMM, Hopper wgmma variant (see grouped_gemm_sm90.cuh).
//
// Persistent blocks of 384 threads = 3 warpgroups, one block per SM (about
// 197 KB of shared memory). Warpgroup 0 is the producer: for each work item
// (BM-row tile x BN columns; 128 x 128, 128 x 256 or 64 x 256) it gathers
// the BM A rows (a_index) with
// cp.async into a ring of STAGES stages, in the 128-byte-swizzled K-major
// layout wgmma reads (16-byte chunk c of row r at r*128 + ((c ^ (r % 8)) * 16),
// stage bases 1024-byte aligned), and thread 0 brings the BN x 64 weight tile
// with one bulk tensor copy (TMA, same swizzle) per stage. Each stage's
// `full` mbarrier completes when every producer thread's cp.async copies have
// landed (cp.async.mbarrier.arrive.noinc) and the TMA bytes have arrived.
// Warpgroups 1 and 2 each own 64 rows (BM 128) or half the columns (BM 64):
// after the wait they fence the cp.async writes into the async proxy, issue
// wgmma.mma_async m64nWNk16 (WN = BN, or BN / 2 at BM 64)
// (4 per 64-deep k tile, f32 accumulators in registers), keep one k tile of
// MMAs in flight (wait_group 1) and release the previous stage through its
// `empty` mbarrier. The producer runs ahead into the next item while the
// consumers run the epilogue on the accumulator fragments (fragment_epilogue.cuh:
// epilogue_pair's arithmetic, specialized per kind), so the results are those
// of grouped_mma's epilogue. From 128 rows per expert the gated and plain
// stores go through a 2 KB shared-memory tile per consumer warp
// (staged_epilogue.cuh; option cuda.wgmma_epilogue), and the staged kernels
// move registers from the producer to the consumers (setmaxnreg).
//
// Tuning knobs, read once: MOERT_CUDA_WG_BN (128/256; default 256),
// MOERT_CUDA_WG_GROUP (row tiles per rasterization group, 8),
// MOERT_CUDA_WG_HINTS=1 (L2 eviction hints, as option cuda.wgmma_l2_hints;
// 2: the A rows' only), MOERT_CUDA_WG_DYN=0 (static work items, ItemFeed),
// MOERT_CUDA_WG_TMA=0 (weights by cp.async too, as when the tensor map
// cannot be encoded), MOERT_CUDA_WG_STAGED=0-3 (which epilogue kinds are
// staged, over the option); MOERT_CUDA_WGMMA64=0 (grouped_gemm.cu) keeps
// 64-row tiles on the mma.sync kernel.
#include <cudaTypedefs.h>  // PFN_cuTensorMapEncodeTiled (the driver entry point, fetched through the runtime)

#include "grouped_gemm_sm90.cuh"
#include "mbarrier.cuh"
#include "fragment_epilogue.cuh"
#include "staged_epilogue.cuh"

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900 && defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define MOERT_SM90_WGMMA 1
#endif

namespace moert_cuda {
namespace {

constexpr int WG_BK = 64, WG_THREADS = 384;

// Ring depth: stages of A (BM x 64) and B (BN x 64) in about 200 KB of
// shared memory. A 7th stage of the 128 x 128 tile (225 KB) measured 1-3%
// slower on the H200 for qwen3 and gpt-oss at 4096-16384 tokens.
template <int BM, int BN> constexpr int wg_stages() {
  return BM == 128 ? (BN == 256 ? 4 : 6) : 5;
}
// Work items handed from the scheduling thread to the block (dynamic
// scheduling): a ring of this many item numbers, each with a full and an
// empty mbarrier.
constexpr int WG_ITEM_SLOTS = 4;
// Behind the barriers and item slots (128-byte aligned): the staged
// epilogue's tiles, one per consumer warp.
template <int BM, int BN> constexpr size_t wg_smem_bytes() {
  return 1024 + (size_t)wg_stages<BM, BN>() * (BM * 128 + BN * 128) + 2 * 8 * wg_stages<BM, BN>() +
         2 * 8 * WG_ITEM_SLOTS + 4 * WG_ITEM_SLOTS + 128 + 8 * kStagedTileBytes;
}
static_assert(wg_smem_bytes<128, 128>() <= 227 * 1024 && wg_smem_bytes<128, 256>() <= 227 * 1024 &&
                  wg_smem_bytes<64, 256>() <= 227 * 1024,
              "shared memory of a block");

#ifdef MOERT_SM90_WGMMA
// Registers per thread after setmaxnreg, with the weights by TMA (the
// producer's cp.async of weight rows needs more): 128 x 56 + 256 x 224 <=
// 384 x 168, the launch's allotment. The consumers' share keeps the 128 x
// 256 tile's staged epilogue from spilling (at 168 it spilled 8-36 bytes);
// only the staged kernels take it (with direct stores it measured 0.5-1%
// slower, inside the noise). -DMOERT_WG_SETMAXNREG=0: none (experiments).
#ifndef MOERT_WG_SETMAXNREG
#define MOERT_WG_SETMAXNREG 1
#endif
constexpr int WG_PRODUCER_REGS = 56, WG_CONSUMER_REGS = 224;

// Whether mask (bits as STAGED below) stages finisher kind `kind` (F::kStaged).
constexpr bool stages_kind(int mask, int kind) { return kind > 0 && ((mask >> (kind > 0 ? kind - 1 : 0)) & 1); }

// Loads with L2 policies (mbarrier.cuh): A rows are re-read by every column
// tile of their row tile (keep), weight tiles by the few row tiles running at
// the same time (stream).
__device__ __forceinline__ void cp_async16_hint(uint32_t dst, const void* src, bool valid, uint64_t pol) {
  asm volatile("cp.async.cg.shared.global.L2::cache_hint [%0], [%1], 16, %2, %3;\n" ::"r"(dst), "l"(src),
               "r"(valid ? 16 : 0), "l"(pol)
               : "memory");
}
__device__ __forceinline__ void tma_load_3d_hint(uint32_t dst, const CUtensorMap* map, int k0, int n0, int e, uint32_t bar,
                                                 uint64_t pol) {
  asm volatile(
      "cp.async.bulk.tensor.3d.shared::cluster.global.tile.mbarrier::complete_tx::bytes.L2::cache_hint [%0], [%1, {%2, %3, %4}], [%5], %6;\n" ::"r"(dst),
      "l"(reinterpret_cast<uint64_t>(map)), "r"(k0), "r"(n0), "r"(e), "r"(bar), "l"(pol)
      : "memory");
}
__device__ __forceinline__ void cp_async16_s(uint32_t dst, const void* src, bool valid) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src), "r"(valid ? 16 : 0)
               : "memory");
}
// Bulk tensor copy of box (k0, n0, e) of a 3-D tensor map into shared memory,
// completing on `bar` (transaction bytes).
__device__ __forceinline__ void tma_load_3d(uint32_t dst, const CUtensorMap* map, int k0, int n0, int e, uint32_t bar) {
  asm volatile(
      "cp.async.bulk.tensor.3d.shared::cluster.global.tile.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3, %4}], [%5];\n" ::"r"(dst),
      "l"(reinterpret_cast<uint64_t>(map)), "r"(k0), "r"(n0), "r"(e), "r"(bar)
      : "memory");
}
__device__ __forceinline__ void cp_async_arrive_noinc(uint32_t bar) {
  asm volatile("cp.async.mbarrier.arrive.noinc.shared::cta.b64 [%0];\n" ::"r"(bar) : "memory");
}
template <int N>
__device__ __forceinline__ void cp_async_wait_s() { asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory"); }
__device__ __forceinline__ void fence_proxy_async() { asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory"); }
__device__ __forceinline__ void wgmma_fence() { asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory"); }
__device__ __forceinline__ void wgmma_commit() { asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory"); }
template <int N>
__device__ __forceinline__ void wgmma_wait() { asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(N) : "memory"); }

// Shared-memory matrix descriptor: K-major, 128-byte swizzle, 8-row groups
// 1024 bytes apart (SBO); LBO is unused in this mode.
__device__ __forceinline__ uint64_t smem_desc(uint32_t addr) {
  return (uint64_t)((addr & 0x3FFFF) >> 4) | ((uint64_t)1 << 16) | ((uint64_t)(1024 >> 4) << 32) |
         ((uint64_t)1 << 62);
}

// D[64 x N] += A[64 x 16] * B[N x 16]^T, both from shared memory. One asm
// body per N; TY is the PTX input type (bf16 or f16).
#define MOERT_WGMMA_D0_63 \
  "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), \
  "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), \
  "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), \
  "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), \
  "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), \
  "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), \
  "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), \
  "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63])
#define MOERT_WGMMA_D64_127 \
  "+f"(d[64]), "+f"(d[65]), "+f"(d[66]), "+f"(d[67]), "+f"(d[68]), "+f"(d[69]), "+f"(d[70]), "+f"(d[71]), \
  "+f"(d[72]), "+f"(d[73]), "+f"(d[74]), "+f"(d[75]), "+f"(d[76]), "+f"(d[77]), "+f"(d[78]), "+f"(d[79]), \
  "+f"(d[80]), "+f"(d[81]), "+f"(d[82]), "+f"(d[83]), "+f"(d[84]), "+f"(d[85]), "+f"(d[86]), "+f"(d[87]), \
  "+f"(d[88]), "+f"(d[89]), "+f"(d[90]), "+f"(d[91]), "+f"(d[92]), "+f"(d[93]), "+f"(d[94]), "+f"(d[95]), \
  "+f"(d[96]), "+f"(d[97]), "+f"(d[98]), "+f"(d[99]), "+f"(d[100]), "+f"(d[101]), "+f"(d[102]), "+f"(d[103]), \
  "+f"(d[104]), "+f"(d[105]), "+f"(d[106]), "+f"(d[107]), "+f"(d[108]), "+f"(d[109]), "+f"(d[110]), "+f"(d[111]), \
  "+f"(d[112]), "+f"(d[113]), "+f"(d[114]), "+f"(d[115]), "+f"(d[116]), "+f"(d[117]), "+f"(d[118]), "+f"(d[119]), \
  "+f"(d[120]), "+f"(d[121]), "+f"(d[122]), "+f"(d[123]), "+f"(d[124]), "+f"(d[125]), "+f"(d[126]), "+f"(d[127])
#define MOERT_WGMMA_N128(TY)                                                                       \
  asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, 1, 0;\n"                                          \
               "wgmma.mma_async.sync.aligned.m64n128k16.f32." TY "." TY " {" \
               "%0,%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13,%14,%15," \
               "%16,%17,%18,%19,%20,%21,%22,%23,%24,%25,%26,%27,%28,%29,%30,%31," \
               "%32,%33,%34,%35,%36,%37,%38,%39,%40,%41,%42,%43,%44,%45,%46,%47," \
               "%48,%49,%50,%51,%52,%53,%54,%55,%56,%57,%58,%59,%60,%61,%62,%63" \
               "}, %64, %65, p, 1, 1, 0, 0;\n}\n" \
               : MOERT_WGMMA_D0_63                                                                 \
               : "l"(da), "l"(db))
#define MOERT_WGMMA_N256(TY)                                                                       \
  asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, 1, 0;\n"                                          \
               "wgmma.mma_async.sync.aligned.m64n256k16.f32." TY "." TY " {" \
               "%0,%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13,%14,%15," \
               "%16,%17,%18,%19,%20,%21,%22,%23,%24,%25,%26,%27,%28,%29,%30,%31," \
               "%32,%33,%34,%35,%36,%37,%38,%39,%40,%41,%42,%43,%44,%45,%46,%47," \
               "%48,%49,%50,%51,%52,%53,%54,%55,%56,%57,%58,%59,%60,%61,%62,%63," \
               "%64,%65,%66,%67,%68,%69,%70,%71,%72,%73,%74,%75,%76,%77,%78,%79," \
               "%80,%81,%82,%83,%84,%85,%86,%87,%88,%89,%90,%91,%92,%93,%94,%95," \
               "%96,%97,%98,%99,%100,%101,%102,%103,%104,%105,%106,%107,%108,%109,%110,%111," \
               "%112,%113,%114,%115,%116,%117,%118,%119,%120,%121,%122,%123,%124,%125,%126,%127" \
               "}, %128, %129, p, 1, 1, 0, 0;\n}\n" \
               : MOERT_WGMMA_D0_63, MOERT_WGMMA_D64_127                                            \
               : "l"(da), "l"(db))
template <class T, int N>
__device__ __forceinline__ void wgmma_k16(float (&d)[N / 2], uint64_t da, uint64_t db);
template <>
__device__ __forceinline__ void wgmma_k16<__nv_bfloat16, 128>(float (&d)[64], uint64_t da, uint64_t db) {
  MOERT_WGMMA_N128("bf16");
}
template <>
__device__ __forceinline__ void wgmma_k16<__half, 128>(float (&d)[64], uint64_t da, uint64_t db) {
  MOERT_WGMMA_N128("f16");
}
template <>
__device__ __forceinline__ void wgmma_k16<__nv_bfloat16, 256>(float (&d)[128], uint64_t da, uint64_t db) {
  MOERT_WGMMA_N256("bf16");
}
template <>
__device__ __forceinline__ void wgmma_k16<__half, 256>(float (&d)[128], uint64_t da, uint64_t db) {
  MOERT_WGMMA_N256("f16");
}

// Keeps the compiler from moving accesses to the accumulators across the
// wgmma waits.
template <int N>
__device__ __forceinline__ void fence_acc(float (&d)[N]) {
#pragma unroll
  for (int i = 0; i < N; ++i) asm volatile("" : "+f"(d[i])::"memory");
}

// Position in the ring of STAGES stages: stage s of round `round` (k tile
// number round * STAGES + s of this block), stepped without dividing by
// STAGES (5 or 6) in the k loop.
template <int STAGES>
struct RingPos {
  int s = 0, round = 0;
  __device__ __forceinline__ void next() {
    if (++s == STAGES) {
      s = 0;
      ++round;
    }
  }
};

// The work items of one block, in the order all its threads see them.
// Static: items b, b + gridDim.x, ...; dynamic (a counter, zero at launch):
// the block's first item is b, and thread 0 takes each next one from the
// counter one item ahead of its use (so the atomic's round trip overlaps an
// item's loads) and hands it to the block's 384 threads through a ring of
// WG_ITEM_SLOTS shared-memory slots. The blocks then run the items in about
// their order, a window of about gridDim.x consecutive items at any time,
// however unequal the items' times (an expert's last row tile is partial),
// so the row tiles that share a weight tile read it at about the same time;
// a static assignment drifts apart. H200: qwen3 / gpt-oss at 4096 tokens
// 5% / 10% faster (with groups of 8); gpt-oss GEMM1's DRAM reads only 5.9 -> 5.3 GB, about 4x its
// distinct bytes, for reasons not found (docs/cuda-backend.md, "Work items").
struct ItemFeed {
  int32_t* counter;      // null: static
  uint32_t full, empty;  // WG_ITEM_SLOTS mbarriers each, 8 bytes apart
  uint32_t ids;          // WG_ITEM_SLOTS ints
  int it = 0, ahead = 0;
  __device__ __forceinline__ int next(int items) {
    if (!counter) return (int)blockIdx.x + it++ * (int)gridDim.x;
    const int slot = it % WG_ITEM_SLOTS;
    const uint32_t parity = (uint32_t)(it / WG_ITEM_SLOTS) & 1u;
    if (threadIdx.x == 0) {
      if (it >= WG_ITEM_SLOTS) mbar_wait(empty + 8 * slot, parity ^ 1u);
      const int v = it == 0 ? (int)blockIdx.x : ahead;
      if (v < items) ahead = (int)gridDim.x + atomicAdd(counter, 1);
      asm volatile("st.shared.b32 [%0], %1;\n" ::"r"(ids + 4 * slot), "r"(v) : "memory");
      mbar_arrive(full + 8 * slot);  // release: the id is visible to the waiters
    }
    mbar_wait(full + 8 * slot, parity);
    int v;
    asm volatile("ld.shared.b32 %0, [%1];\n" : "=r"(v) : "r"(ids + 4 * slot) : "memory");
    mbar_arrive(empty + 8 * slot);
    ++it;
    return v;
  }
};

// Persistent blocks take the ntiles x ntn work items (ntiles: the row tiles
// the sort built, read on the device) in the order ItemFeed gives them.
// Item v -> (row tile, column tile) in groups of `group_rows` row
// tiles, row tile fastest inside a group, so the blocks working at one time
// share weight columns (several row tiles of an expert read the same B tile
// at about the same time) and a group's A rows stay in L2 across its column
// tiles. The producer runs ahead into the next item while the consumers
// finish the last one's epilogue.
__device__ __forceinline__ void wg_item(int v, int ntiles, int ntn, int group_rows, int& tile, int& nt) {
  const int per_group = group_rows * ntn;
  const int grp = v / per_group;
  const int first = grp * group_rows;
  const int gm = min(group_rows, ntiles - first);
  const int rem = v - grp * per_group;
  tile = first + rem % gm;
  nt = rem / gm;
}
#endif  // MOERT_SM90_WGMMA

// BM: rows of a tile, 128 (each consumer warpgroup owns 64 rows and all BN
// columns) or 64 (both own the 64 rows and half of the BN columns each, for
// experts of few rows: the weights stream once with half the A traffic of a
// 128-row tile).
// TMA_B: the weight tile comes by one bulk tensor copy per stage (tensor map
// over [E][N][K], 128-byte swizzle, rows past N zero-filled), issued by
// producer thread 0; otherwise by cp.async like A. The A rows are gathered
// through a_index by the 128 producer threads with cp.async.
// STAGED: the finisher kinds whose epilogue goes through shared memory
// (staged_epilogue.cuh), bit 0 the plain stores, bit 1 the gated ones; the
// host checks staged_epilogue_fits.
template <class T, int BM, int BN, bool TMA_B, int STAGED>
__global__ void __launch_bounds__(WG_THREADS, 1)
    grouped_wgmma_kernel(const GemmParams p, const __grid_constant__ CUtensorMap b_map, int group_rows, int hints,
                         int dynamic) {
#ifdef MOERT_SM90_WGMMA
  pdl_begin();
  constexpr int STAGES = wg_stages<BM, BN>();
  constexpr int A_STAGE = BM * 128, B_STAGE = BN * 128;
  constexpr int WN = BM == 128 ? BN : BN / 2;  // columns of one consumer warpgroup
  const int ntn = (p.n + BN - 1) / BN;
  const int ntiles = p.expert_offsets ? *p.tile_count : (p.m + BM - 1) / BM;
  const int items = ntiles * ntn;
  if ((int)blockIdx.x >= items) return;

  extern __shared__ __align__(1024) unsigned char wg_smem_raw[];
  const uint32_t base = (smem_u32(wg_smem_raw) + 1023u) & ~1023u;
  const uint32_t sA = base, sB = base + STAGES * A_STAGE;
  const uint32_t bar_full = sB + STAGES * B_STAGE, bar_empty = bar_full + 8 * STAGES;
  const uint32_t item_full = bar_empty + 8 * STAGES, item_empty = item_full + 8 * WG_ITEM_SLOTS;
  const uint32_t staged_tiles = (item_empty + 8 * WG_ITEM_SLOTS + 4 * WG_ITEM_SLOTS + 127u) & ~127u;
  const int tid = threadIdx.x;
  if (tid == 0) {
#pragma unroll
    for (int s = 0; s < STAGES; ++s) {
      mbar_init(bar_full + 8 * s, TMA_B ? 129 : 128);  // the producer's threads (cp.async arrivals) + expect_tx
      mbar_init(bar_empty + 8 * s, 256);  // the consumers' threads
    }
#pragma unroll
    for (int j = 0; j < WG_ITEM_SLOTS; ++j) {
      mbar_init(item_full + 8 * j, 1);             // thread 0, once it wrote the id
      mbar_init(item_empty + 8 * j, WG_THREADS);   // every thread, once it read it
    }
  }
  __syncthreads();
  ItemFeed feed{p.expert_offsets && dynamic ? p.item_counter : nullptr, item_full, item_empty,
                item_empty + 8 * WG_ITEM_SLOTS};
  const int ktiles = p.k / WG_BK;

  if (tid < 128) {
    // ---------------------------------------------------------------- producer
    if constexpr (TMA_B && STAGED != 0 && MOERT_WG_SETMAXNREG) asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;\n" ::"n"(WG_PRODUCER_REGS));
    const int c = tid & 7, r = tid >> 3;  // chunk c of rows r + 16 i
    const uint32_t swz = (uint32_t)(r * 128 + ((c ^ (r & 7)) << 4));
    const int64_t wrow = (int64_t)p.k * (int64_t)sizeof(T);
    const uint64_t pol_a = l2_policy_evict_last(), pol_b = l2_policy_evict_first();
    RingPos<STAGES> ring;
    for (int v = feed.next(items); v < items; v = feed.next(items)) {
      int tile, nt, expert;
      int32_t row0, row_end;
      wg_item(v, ntiles, ntn, group_rows, tile, nt);
      if (!mma_tile_of(p, tile, BM, expert, row0, row_end)) continue;  // same test as the consumers
      const int n0 = nt * BN;
      const T* A = static_cast<const T*>(p.a) + c * 8;
      int32_t arow[BM / 16];
      uint32_t aok = 0;
#pragma unroll
      for (int i = 0; i < BM / 16; ++i) {
        const int32_t pos = row0 + r + 16 * i;
        const bool ok = pos < row_end;
        arow[i] = ok ? a_row_of(p, pos) : 0;
        aok |= (uint32_t)ok << i;
      }
      const char* Wb = static_cast<const char*>(p.b) + (int64_t)expert * p.b_expert_bytes + c * 16;
      uint32_t bok = 0;
#pragma unroll
      for (int i = 0; i < BN / 16; ++i) bok |= (uint32_t)(n0 + r + 16 * i < p.n) << i;
      const char* Bsrc = Wb + (int64_t)(n0 + r) * wrow;

      for (int kt = 0; kt < ktiles; ++kt, ring.next()) {
        const int s = ring.s;
        if (ring.round > 0) mbar_wait(bar_empty + 8 * s, (ring.round - 1) & 1);
        const uint32_t a_dst = sA + s * A_STAGE + swz;
#pragma unroll
        for (int i = 0; i < BM / 16; ++i)
          if (hints) cp_async16_hint(a_dst + i * 2048, A + (int64_t)arow[i] * p.lda + kt * WG_BK, (aok >> i) & 1, pol_a);
          else cp_async16_s(a_dst + i * 2048, A + (int64_t)arow[i] * p.lda + kt * WG_BK, (aok >> i) & 1);
        if constexpr (TMA_B) {
          if (tid == 0) {
            mbar_arrive_expect_tx(bar_full + 8 * s, B_STAGE);
            if (hints == 1)
              tma_load_3d_hint(sB + s * B_STAGE, &b_map, kt * WG_BK, n0, p.expert_offsets ? expert : 0, bar_full + 8 * s,
                               pol_b);
            else
              tma_load_3d(sB + s * B_STAGE, &b_map, kt * WG_BK, n0, p.expert_offsets ? expert : 0, bar_full + 8 * s);
          }
        } else {
          const uint32_t b_dst = sB + s * B_STAGE + swz;
#pragma unroll
          for (int i = 0; i < BN / 16; ++i) {
            const bool ok = (bok >> i) & 1;
            cp_async16_s(b_dst + i * 2048, ok ? Bsrc + (int64_t)i * 16 * wrow + kt * 128 : Wb, ok);
          }
        }
        // Arrives on the stage's `full` barrier once this thread's copies have landed.
        cp_async_arrive_noinc(bar_full + 8 * s);
      }
    }
    cp_async_wait_s<0>();
  } else {
    // ---------------------------------------------------------------- consumers
    if constexpr (TMA_B && STAGED != 0 && MOERT_WG_SETMAXNREG) asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;\n" ::"n"(WG_CONSUMER_REGS));
    const int cw = (tid >> 7) - 1;  // BM 128: rows cw*64.. of the tile; BM 64: columns cw*BN/2..
    const int warp = (tid >> 5) & 3, lane = tid & 31;
    const uint32_t a_base = sA + (BM == 128 ? cw * 64 * 128 : 0);
    const uint32_t b_base = sB + (BM == 128 ? 0 : cw * WN * 128);
    const int row_off = BM == 128 ? cw * 64 : 0, col_off = BM == 128 ? 0 : cw * WN;
    // Descriptors of stage 0; a stage's are these plus its byte offset / 16
    // (smem_desc keeps address / 16 in its low 14 bits, and every address
    // here is below 256 KB, so the addition never carries out of them).
    const uint64_t da0 = smem_desc(a_base), db0 = smem_desc(b_base);
    RingPos<STAGES> ring;
    int prev_s = 0;  // stage of the previous k tile, released one k tile late
    for (int v = feed.next(items); v < items; v = feed.next(items)) {
      int tile, nt, expert;
      int32_t row0, row_end;
      wg_item(v, ntiles, ntn, group_rows, tile, nt);
      if (!mma_tile_of(p, tile, BM, expert, row0, row_end)) continue;
      const int n0 = nt * BN + col_off;
      const bool active = row0 + row_off < row_end && n0 < p.n;
      float acc[WN / 2];
#pragma unroll
      for (int i = 0; i < WN / 2; ++i) acc[i] = 0.f;
      for (int kt = 0; kt < ktiles; ++kt, ring.next()) {
        const int s = ring.s;
        mbar_wait(bar_full + 8 * s, ring.round & 1);
        if (active) {
          fence_proxy_async();  // cp.async (generic proxy) writes -> wgmma (async proxy) reads
          fence_acc<WN / 2>(acc);
          wgmma_fence();
#pragma unroll
          for (int kk = 0; kk < WG_BK / 16; ++kk)
            wgmma_k16<T, WN>(acc, da0 + (uint64_t)((s * A_STAGE + kk * 32) >> 4),
                             db0 + (uint64_t)((s * B_STAGE + kk * 32) >> 4));
          wgmma_commit();
        }
        wgmma_wait<1>();
        if (kt > 0) mbar_arrive(bar_empty + 8 * prev_s);
        prev_s = s;
      }
      wgmma_wait<0>();
      fence_acc<WN / 2>(acc);
      mbar_arrive(bar_empty + 8 * prev_s);
      if (!active) continue;

      const int32_t rbase = row0 + row_off + warp * 16 + (lane >> 2);
      const int nl = n0 + 2 * (lane & 3);
      with_fragment_finish<T>(p, expert, [&](const auto& f) {
        using F = std::decay_t<decltype(f)>;
        if constexpr (stages_kind(STAGED, F::kStaged)) {
          staged_epilogue<T, WN>(f, acc, staged_tiles + (uint32_t)(((tid >> 5) - 4) * kStagedTileBytes), lane, n0, p.n,
                                 row0 + row_off + warp * 16, row_end);
        } else {
#pragma unroll
          for (int half = 0; half < 2; ++half) {
            const int32_t pos = rbase + 8 * half;
            if (pos >= row_end) continue;
            const auto row = f.row_of(pos);
#pragma unroll
            for (int j = 0; j < WN / 8; ++j)
              if (nl + 8 * j < p.n) f.pair(row, nl + 8 * j, acc[4 * j + 2 * half], acc[4 * j + 2 * half + 1]);
          }
        }
      });
    }
  }
#endif  // MOERT_SM90_WGMMA
}

int env_int(const char* name, int def) {
  const char* e = std::getenv(name);
  return e && *e ? std::atoi(e) : def;
}

// The weights as a 3-D tensor map [E][N][K] (E: a bound; only the tiles of
// real experts are read), box 64 (K) x BN (N), 128-byte swizzle. Host-only
// encoding (no device work), so it may run during graph capture. False when
// the driver entry point is missing or the layout is not encodable.
bool make_b_map(const GemmParams& p, int bn, bool f16, CUtensorMap* map) {
  static PFN_cuTensorMapEncodeTiled_v12000 encode = [] {
    void* fn = nullptr;
    cudaDriverEntryPointQueryResult q{};
    if (cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &fn, 12000, cudaEnableDefault, &q) != cudaSuccess ||
        q != cudaDriverEntryPointSuccess)
      fn = nullptr;
    return reinterpret_cast<PFN_cuTensorMapEncodeTiled_v12000>(fn);
  }();
  if (!encode || (reinterpret_cast<uintptr_t>(p.b) & 15)) return false;
  const uint64_t row = (uint64_t)p.k * 2;
  const bool grouped = p.expert_offsets != nullptr;
  const uint64_t e_stride = grouped ? (uint64_t)p.b_expert_bytes : row * (uint64_t)p.n;
  if (e_stride == 0 || (e_stride & 15)) return false;
  const cuuint64_t dims[3] = {(cuuint64_t)p.k, (cuuint64_t)p.n, grouped ? (cuuint64_t)65536 : (cuuint64_t)1};
  const cuuint64_t strides[2] = {row, e_stride};
  const cuuint32_t box[3] = {(cuuint32_t)WG_BK, (cuuint32_t)bn, 1};
  const cuuint32_t estr[3] = {1, 1, 1};
  return encode(map, f16 ? CU_TENSOR_MAP_DATA_TYPE_FLOAT16 : CU_TENSOR_MAP_DATA_TYPE_BFLOAT16, 3, const_cast<void*>(p.b),
                dims, strides, box, estr, CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_128B,
                CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE) == CUDA_SUCCESS;
}

template <class T, int BM, int BN, bool TMA_B, int STAGED>
void launch_wgmma_kernel(const GemmParams& p, const CUtensorMap& b_map, int64_t max_tiles, cudaStream_t stream) {
  constexpr size_t smem = wg_smem_bytes<BM, BN>();
  // A function attribute, not stream work: allowed during graph capture; once per variant.
  static const cudaError_t attr = cudaFuncSetAttribute(grouped_wgmma_kernel<T, BM, BN, TMA_B, STAGED>,
                                                       cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem);
  cuda_check(attr, "cudaFuncSetAttribute(grouped_mma_sm90)");
  // Row tiles per rasterization group: 8. With the items from the counter,
  // H200, same call, twice, graph µs, groups of 4 / 8 / 16: qwen3 4096 tokens
  // 759 / 761 / 766, gpt-oss 4096 2260 / 2280 / 2393, gpt-oss 16384 6880 /
  // 6802 / 6779, mixtral 1024 1487 / 1484 / 1503
  // (bench/results/h200-2026-12-02m/group_sweep.txt).
  static const int group_rows = std::max(1, env_int("MOERT_CUDA_WG_GROUP", 8));
  // L2 hints (A evict_last, weights evict_first): off unless option
  // cuda.wgmma_l2_hints (p.l2_hints) or MOERT_CUDA_WG_HINTS=1. They were on from about 800 rows per expert
  // (rows >= 110 x max_tiles; H100, with the old epilogue: mixtral 16384
  // tokens 31.0 -> 27.1 ms). With the specialized epilogue they cost time
  // there (H200, same call, on -> off, graph / eager µs): mixtral 4096 tokens
  // 5653 -> 5289 / 5333 -> 5107, 16384 20230 -> 19719 / 20783 -> 19699, qwen3
  // 16384 3132 -> 2908 / 2917 -> 2692.
  // MOERT_CUDA_WG_HINTS=2: A rows evict_last, weights without a hint.
  static const int forced_hints = env_int("MOERT_CUDA_WG_HINTS", 0);
  const int hints = forced_hints == 1 || forced_hints == 2 ? forced_hints : p.l2_hints ? 1 : 0;
  // Work items from the sort's counter (ItemFeed); MOERT_CUDA_WG_DYN=0: static.
  static const int dynamic = env_int("MOERT_CUDA_WG_DYN", 1) != 0;
  // One block per SM (persistent), at most one per work item of the upper bound.
  const int64_t items = max_tiles * (int64_t)ceil_div(p.n, BN);
  if (items > 0x7fffffff) throw std::runtime_error("grouped_mma_sm90: too many tiles");
  const int64_t blocks = std::min<int64_t>(items, device_sm_count());
  launch_pdl(true, grouped_wgmma_kernel<T, BM, BN, TMA_B, STAGED>, dim3(static_cast<unsigned>(blocks)),
             dim3(WG_THREADS), smem, stream, "grouped_mma_sm90", p, b_map, group_rows, hints,
             dynamic);
}

// The kinds option cuda.wgmma_epilogue: auto stages (bits as STAGED): both,
// from 128 rows per group on average (the sort's slots over the groups, or
// the rows of an ungrouped call). H200, same call, twice, graph µs (eager
// at qwen3 16384), direct -> staged: qwen3 4096 / 16384 tokens 768 / 2505
// -> 738 / 2316, gpt-oss 4096 / 16384 2330 / 6970 -> 2263 / 6646, mixtral
// 1024 1517 -> 1456; at 64 rows per expert it cost 1-2% (qwen3 1024 387 ->
// 395, mixtral 256 734 -> 746). Staging the plain stores alone bought
// about half (docs/cuda-backend.md, "The staged epilogue").
int wg_staged_auto(const GemmParams& p) {
  const int64_t rows = p.expert_offsets ? (p.groups > 0 ? (int64_t)p.slots / p.groups : 0) : p.m;
  return rows >= 128 ? 3 : 0;
}

template <class T, int BM, int BN, bool TMA_B>
void launch_wgmma_epilogue(const GemmParams& p, const CUtensorMap& b_map, int64_t max_tiles, cudaStream_t stream) {
  // Which kinds are staged (bits as STAGED): option cuda.wgmma_epilogue, or
  // for experiments MOERT_CUDA_WG_STAGED (0-3), which overrides it.
  static const int forced = env_int("MOERT_CUDA_WG_STAGED", -1);
  const int staged = forced >= 0 ? forced & 3
                     : p.wg_epilogue == WgEpilogue::kStaged ? 3
                     : p.wg_epilogue == WgEpilogue::kDirect ? 0
                                                            : wg_staged_auto(p);
  const int kind = p.epi == Epilogue::kStore ? 1 : 2;
  if (!(staged & kind) || !staged_epilogue_fits(p))
    launch_wgmma_kernel<T, BM, BN, TMA_B, 0>(p, b_map, max_tiles, stream);
  else if (kind == 1)
    launch_wgmma_kernel<T, BM, BN, TMA_B, 1>(p, b_map, max_tiles, stream);
  else
    launch_wgmma_kernel<T, BM, BN, TMA_B, 2>(p, b_map, max_tiles, stream);
}

// MOERT_CUDA_WG_TMA=0: weights by cp.async too.
template <class T, int BM, int BN>
void launch_wgmma_variant(const GemmParams& p, int64_t max_tiles, cudaStream_t stream) {
  static const bool tma = env_int("MOERT_CUDA_WG_TMA", 1) != 0;
  CUtensorMap b_map{};
  if (tma && make_b_map(p, BN, std::is_same<T, __half>::value, &b_map))
    launch_wgmma_epilogue<T, BM, BN, true>(p, b_map, max_tiles, stream);
  else
    launch_wgmma_epilogue<T, BM, BN, false>(p, b_map, max_tiles, stream);
}

}  // namespace

bool grouped_mma_sm90_usable() {
  static const bool env_off = [] {
    const char* e = std::getenv("MOERT_CUDA_WGMMA");
    return e && e[0] == '0';
  }();
  return !env_off && device_is_sm90();
}

template <class T>
void launch_grouped_mma_sm90(const GemmParams& p, int tile_rows, int64_t max_tiles, cudaStream_t stream) {
  if (max_tiles <= 0 || p.n <= 0) return;
  if (p.k % WG_BK != 0) throw std::runtime_error("grouped_mma_sm90: K must be a multiple of 64");
  if (tile_rows == 64) {
    // 64-row tiles: 64 x 256, the two consumer warpgroups side by side.
    launch_wgmma_variant<T, 64, 256>(p, max_tiles, stream);
    MOERT_CUDA_LAUNCH_CHECK("grouped_mma_sm90");
    return;
  }
  if (tile_rows != 128) throw std::runtime_error("grouped_mma_sm90: tile_rows must be 64 or 128");
  // Column tile: 256 (half the A traffic per flop of 128). Until the
  // epilogue was specialized (fragment_epilogue.cuh) K < 4096 took 128; on
  // the H200 since, same call: qwen3 / gpt-oss at 16384 tokens 3445 -> 2976
  // / 8679 -> 7422 µs with 256, 1024-4096 tokens within noise.
  // MOERT_CUDA_WG_BN=128/256 forces one.
  static const int forced = env_int("MOERT_CUDA_WG_BN", 0);
  const int bn = forced == 128 || forced == 256 ? forced : 256;
  if (bn == 128) launch_wgmma_variant<T, 128, 128>(p, max_tiles, stream);
  else launch_wgmma_variant<T, 128, 256>(p, max_tiles, stream);
  MOERT_CUDA_LAUNCH_CHECK("grouped_mma_sm90");
}

template void launch_grouped_mma_sm90<__nv_bfloat16>(const GemmParams&, int, int64_t, cudaStream_t);
template void launch_grouped_mma_sm90<__half>(const GemmParams&, int, int64_t, cudaStream_t);

}  // namespace moert_cuda
