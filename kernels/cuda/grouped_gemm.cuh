// Grouped GEMMs over tokens sorted by expert: out rows = A rows x W_e^T, with
// W_e [N, K] row-major per expert (bf16/f16, fp8 e4m3 or MXFP4, dequantized in
// the load path) and a fused epilogue (bias, per-token scale, activation).
//   - grouped_mma: tensor cores (mma.sync m16n8k16), 64 or 128 x 128 x 32
//     tiles, 4-stage cp.async pipeline; for many rows per expert.
//   - grouped_gemv (grouped_gemv.cu, grouped_gemv_bulk.cu): the decode path;
//     each warp streams a list of weight row pairs once (16-byte loads kept a
//     few steps ahead of the math, or bulk copies into a shared-memory ring)
//     and applies them to up to 8 staged token rows.
// Gated activations need w13 rows interleaved (gate i at 2i, up i at 2i+1),
// which the plugin's set_weights produces from either layout.
#pragma once

#include "common.cuh"

namespace moert_cuda {

enum class Epilogue : int {
  kActPairs = 0,   // out[row, n/2] = act(v[n] + b[n], v[n+1] + b[n+1]); n even
  kActSingle = 1,  // out[row, n] = act(v[n] + b[n])
  kStore = 2       // out[c_row, n] = v[n] + b[n]
};

// The wgmma kernel's epilogue (staged_epilogue.cuh): through shared memory
// (staged), the fragments' own stores (direct), or what measured faster
// for the epilogue kind (auto).
enum class WgEpilogue : int32_t { kAuto = 0, kStaged = 1, kDirect = 2 };

struct GemmParams {
  // A [rows, K] in the activation dtype; the A row of sorted position p is
  // a_index ? a_index[p] / a_index_div : p.
  const void* a;
  int64_t lda;
  const int32_t* a_index;
  int32_t a_index_div;
  const float* a_scale;  // per A row (fp8 per-token), or null

  // Weights of expert e at b + e * b_expert_bytes, [N, K] in the weight format.
  const void* b;
  int64_t b_expert_bytes;
  const float* w_scale;  // fp8: [E][N][w_scale_kb] (kb = ceil(K/128) for 128-blocks, else 1)
  int32_t w_scale_kb;
  const uint8_t* mx_scale;  // MXFP4: [E][N][K/32] scale bytes in the plugin's layout (dequant.cuh)
  const float* bias;        // [E][N] f32 or null
  int32_t n, k;

  // Groups: expert_offsets [E+1] of sorted rows (null: one group of m rows).
  const int32_t* expert_offsets;
  const int32_t* active_experts;  // gemv grid
  const int32_t* active_count;
  const int32_t* tile_expert;     // mma grid (rows of kMmaTileRows)
  const int32_t* tile_row0;
  const int32_t* tile_count;
  int32_t m;
  int32_t slots;   // grouped: an upper bound of the sorted rows (launch heuristics only; 0 = unknown)
  int32_t groups;  // grouped: the number of groups (launch heuristics only; 0 = unknown)

  // Output: row of sorted position p is c_index ? c_index[p] : p.
  void* c;
  int64_t ldc;
  const int32_t* c_index;
  Epilogue epi;
  int32_t act;
  float alpha, limit;

  // Decode GEMV1 at one token (bulk kernel): the next GEMM's weights of the
  // same experts (expert e's prefetch_expert_bytes at prefetch + e *
  // prefetch_expert_bytes), of which the first prefetch_bytes of every
  // prefetch_period bytes are brought into L2 while this GEMM streams its
  // own weights (with an evict-first hint), so the next GEMM reads them from
  // L2. Null: none.
  const void* prefetch;
  int64_t prefetch_expert_bytes, prefetch_period, prefetch_bytes;

  // Rows GEMV, grouped calls whose group arrays were final before the
  // previous kernel in the stream started (GEMV2, after GEMV1): each block
  // brings up to this many bytes of its first weight rows into L2 before its
  // PDL wait, while the previous kernel's last blocks finish. 0: none.
  int32_t pre_wait_l2_bytes;

  // wgmma kernel: L2 eviction hints on its loads (A evict_last, weights
  // evict_first; option cuda.wgmma_l2_hints, off by default).
  int32_t l2_hints;
  // wgmma kernel: how its epilogue stores (option cuda.wgmma_epilogue).
  WgEpilogue wg_epilogue;
  // wgmma kernel, grouped calls: a device counter, zero at launch (the sort
  // zeroes it, SortBuffers::tile_count), from which the persistent blocks
  // take their work items in order; null: block b takes items b, b + grid, ...
  int32_t* item_counter;
};

// Smallest row tile of the tensor-core kernel (it also runs 128-row tiles).
constexpr int kMmaTileRows = 64;

// grid.y = max_tiles: an upper bound of the row tiles of `tile_rows` (64 or
// 128; the sort built them; k_tile 32 or 64, 64 for dense weights only) or, for the gemv, of the active experts; 1 group of
// m rows when expert_offsets is null.
template <class T>
void launch_grouped_mma(const GemmParams& p, WeightFormat wf, int tile_rows, int k_tile, int64_t max_tiles,
                        cudaStream_t stream);
// Whether launch_grouped_mma sends this call to the Hopper wgmma kernel
// (grouped_gemm_sm90.cu): compute capability 9.0, dense weights in 64-deep k
// tiles, K % 64 == 0, and for 64-row tiles experts averaging >= 32 rows
// (with fewer, the many small blocks of the mma.sync kernel stream the
// weights faster).
bool grouped_mma_takes_sm90(const GemmParams& p, WeightFormat wf, int tile_rows, int k_tile);
// The part of that test that does not depend on the rows: a GEMM of depth k
// in this weight format and k tile can run on the wgmma kernel here.
bool wgmma_can_run(WeightFormat wf, int k_tile, int64_t k);

// Which decode kernel (grouped_gemv.cu): auto picks by what measured faster.
enum class GemvKernel : int { kAuto = 0, kRows = 1, kStream = 2, kBulk = 3 };
struct GemvTuning {
  GemvKernel kernel = GemvKernel::kAuto;  // option cuda.gemv_kernel
  int pairs_per_warp = 0;                 // option cuda.gemv_pairs_per_warp (streaming kernel; 0 = one wave)
  int rows_groups = 0;                    // option cuda.gemv_rows_groups (rows kernel: pair groups per block; 0 = auto)
  int rows_per_pass = 0;                  // option cuda.gemv_rows_per_pass (rows kernel: 2, 8; 0 = auto)
};

// max_rows: an upper bound of the rows of any one group (the token count for
// routed experts). The bulk-copy and streaming kernels take only calls with
// max_rows <= 1 whose K fits their shared-memory staging; others use the rows
// kernel.
template <class T>
void launch_grouped_gemv(const GemmParams& p, WeightFormat wf, int64_t max_groups, int64_t max_rows,
                         const GemvTuning& tuning, cudaStream_t stream);

}  // namespace moert_cuda
