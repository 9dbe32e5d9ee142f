// Grouped GEMM kernels (see grouped_gemm.cuh).
#include "activation.cuh"
#include "dequant.cuh"
#include "fragment_epilogue.cuh"
#include "gemv_chunk.cuh"
#include "grouped_gemm.cuh"
#include "grouped_gemm_sm90.cuh"

namespace moert_cuda {
namespace {

// ---------------------------------------------------------------- PTX helpers

__device__ __forceinline__ void cp_async16(void* smem, const void* gmem, bool valid) {
  const unsigned s = static_cast<unsigned>(__cvta_generic_to_shared(smem));
  const int n = valid ? 16 : 0;  // 0: zero-fill, nothing read
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(s), "l"(gmem), "r"(n));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int N>
__device__ __forceinline__ void cp_async_wait() { asm volatile("cp.async.wait_group %0;\n" ::"n"(N)); }

__device__ __forceinline__ void ldmatrix_x4(uint32_t (&r)[4], const void* smem) {
  const unsigned s = static_cast<unsigned>(__cvta_generic_to_shared(smem));
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(s));
}

template <class T>
__device__ __forceinline__ void mma16816(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]);
template <>
__device__ __forceinline__ void mma16816<__nv_bfloat16>(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
      "{%0,%1,%2,%3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}
template <>
__device__ __forceinline__ void mma16816<__half>(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
      "{%0,%1,%2,%3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

// ---------------------------------------------------------------- weight decoding

// Scale of weight row n at column k (fp8).
__device__ __forceinline__ float fp8_scale(const GemmParams& p, int expert, int n, int k) {
  const int kb = p.w_scale_kb;
  return p.w_scale[((int64_t)expert * p.n + n) * kb + (kb > 1 ? (k >> 7) : 0)];
}

// 16 bytes of weights -> EPL floats (8 dense, 16 fp8, 32 MXFP4), scaled:
// the decode kernels' GemvChunk, 8 at a time, times the chunk's scale.
template <class T, WeightFormat WF>
struct WeightChunk : GemvChunk<T, WF> {
  using Base = GemvChunk<T, WF>;
  static constexpr int kElems = Base::kElems;
  __device__ __forceinline__ static void decode(const uint4& q, float scale, float (&f)[kElems]) {
    decode_from<0>(q, scale, f);
  }
  template <int sub>
  __device__ __forceinline__ static void decode_from(const uint4& q, float scale, float (&f)[kElems]) {
    if constexpr (sub < Base::kSubs) {
      float g[8];
      Base::template decode8<sub>(q, g);
#pragma unroll
      for (int i = 0; i < 8; ++i) f[8 * sub + i] = WF == WeightFormat::kDense ? g[i] : g[i] * scale;
      decode_from<sub + 1>(q, scale, f);
    }
  }
};

template <class T, WeightFormat WF>
__device__ __forceinline__ float chunk_scale(const GemmParams& p, int expert, int n, int k) {
  if constexpr (WF == WeightFormat::kFp8) {
    return fp8_scale(p, expert, n, k);
  } else if constexpr (WF == WeightFormat::kMxfp4) {
    return mx_scale_x2p14(p.mx_scale[((int64_t)expert * p.n + n) * (p.k >> 5) + (k >> 5)]);
  } else {
    return 1.f;
  }
}

// ---------------------------------------------------------------- tensor-core kernel

// Tile BM x 128 x BK, 8 warps as 2 (M) x 4 (N), warp tile (BM/2) x 32;
// a cp.async ring in dynamic shared memory (4 stages of BK 32, 3 of BK 64).
// BK 64 reads 128 contiguous bytes per weight row and stage (BK 32: 64), which
// DRAM serves much better when the kernel streams weights (few rows/expert);
// the quantized formats stage through registers and use BK 32.
constexpr int BN = 128, MMA_THREADS = 256;
template <int BK_> __host__ __device__ constexpr int stages_for() { return BK_ == 64 ? 3 : 4; }

template <int BM_, int BK_>
constexpr size_t mma_smem_bytes() { return (size_t)stages_for<BK_>() * (BM_ + BN) * (BK_ + 8) * 2; }

template <class T, WeightFormat WF, int BM_, int BK_>
__global__ void __launch_bounds__(MMA_THREADS) grouped_mma_kernel(const GemmParams p) {
  pdl_begin();
  static_assert(BK_ == 32 || (BK_ == 64 && WF == WeightFormat::kDense), "BK 64 only for dense weights");
  constexpr int BK = BK_, LDS = BK_ + 8, STAGES = stages_for<BK_>();
  constexpr int MI = BM_ / 32;                         // m16 fragments per warp
  constexpr int PIECES_PER_ROW = BK / 8;               // 16-byte pieces per row and stage
  constexpr int ROWS_PER_PASS = MMA_THREADS / PIECES_PER_ROW;
  constexpr int A_PER = BM_ / ROWS_PER_PASS;           // A pieces per thread and stage
  constexpr int B_PER = BN / ROWS_PER_PASS;            // dense B pieces per thread and stage
  int expert;
  int32_t row0, row_end;
  if (!mma_tile_of(p, blockIdx.y, BM_, expert, row0, row_end)) return;
  const int n0 = blockIdx.x * BN;

  extern __shared__ __align__(16) unsigned char smem_raw[];
  T (*As)[BM_][LDS] = reinterpret_cast<T (*)[BM_][LDS]>(smem_raw);
  T (*Bs)[BN][LDS] = reinterpret_cast<T (*)[BN][LDS]>(smem_raw + (size_t)STAGES * BM_ * LDS * sizeof(T));

  const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
  const T* A = static_cast<const T*>(p.a);
  const uint8_t* Wb = static_cast<const uint8_t*>(p.b) + (int64_t)expert * p.b_expert_bytes;
  using WC = WeightChunk<T, WF>;
  const int64_t w_row_bytes = (int64_t)p.k * WC::kRowBytesNum / WC::kRowBytesDen;

  // This thread's A pieces: rows a_r + ROWS_PER_PASS*i, columns a_c .. a_c+8.
  const int a_r = tid / PIECES_PER_ROW, a_c = (tid % PIECES_PER_ROW) * 8;
  const T* a_src[A_PER];
  bool a_ok[A_PER];
#pragma unroll
  for (int i = 0; i < A_PER; ++i) {
    a_ok[i] = row0 + a_r + ROWS_PER_PASS * i < row_end;
    a_src[i] = A + (int64_t)(a_ok[i] ? a_row_of(p, row0 + a_r + ROWS_PER_PASS * i) : 0) * p.lda + a_c;
  }

  // This thread's B piece(s).
  int b_r, b_c;
  if constexpr (WF == WeightFormat::kDense) { b_r = tid / PIECES_PER_ROW; b_c = (tid % PIECES_PER_ROW) * 8; }
  else if constexpr (WF == WeightFormat::kFp8) { b_r = tid >> 1; b_c = (tid & 1) * 16; }
  else { b_r = tid; b_c = 0; }
  const bool b_thread = WF != WeightFormat::kMxfp4 || tid < BN;

  uint4 b_raw = make_uint4(0, 0, 0, 0);  // staged quantized weights
  float b_scale = 0.f;

  auto load_a = [&](int stage, int kt) {
#pragma unroll
    for (int i = 0; i < A_PER; ++i)
      cp_async16(&As[stage][a_r + ROWS_PER_PASS * i][a_c], a_src[i] + kt * BK, a_ok[i]);
  };
  auto load_b_dense = [&](int stage, int kt) {
#pragma unroll
    for (int h = 0; h < B_PER; ++h) {
      const int r = b_r + h * ROWS_PER_PASS, n = n0 + r;
      const bool ok = n < p.n;
      const uint8_t* src = Wb + (int64_t)(ok ? n : 0) * w_row_bytes + (int64_t)(kt * BK + b_c) * sizeof(T);
      cp_async16(&Bs[stage][r][b_c], src, ok);
    }
  };
  auto fetch_b_quant = [&](int kt) {
    const int n = n0 + b_r;
    if (!b_thread || n >= p.n) { b_raw = make_uint4(0, 0, 0, 0); b_scale = 0.f; return; }
    const int k = kt * BK + b_c;
    const uint8_t* src = Wb + (int64_t)n * w_row_bytes + (int64_t)k * WC::kRowBytesNum / WC::kRowBytesDen;
    b_raw = __ldg(reinterpret_cast<const uint4*>(src));
    b_scale = chunk_scale<T, WF>(p, expert, n, k);
  };
  auto store_b_quant = [&](int stage) {
    if (!b_thread) return;
    float f[WC::kElems];
    WC::decode(b_raw, b_scale, f);
    uint32_t packed[WC::kElems / 2];
#pragma unroll
    for (int i = 0; i < WC::kElems / 2; ++i) packed[i] = pack2<T>(f[2 * i], f[2 * i + 1]);
#pragma unroll
    for (int i = 0; i < WC::kElems / 8; ++i)
      *reinterpret_cast<uint4*>(&Bs[stage][b_r][b_c + 8 * i]) =
          make_uint4(packed[4 * i], packed[4 * i + 1], packed[4 * i + 2], packed[4 * i + 3]);
  };

  float acc[MI][4][4];
#pragma unroll
  for (int i = 0; i < MI; ++i)
#pragma unroll
    for (int j = 0; j < 4; ++j)
#pragma unroll
      for (int q = 0; q < 4; ++q) acc[i][j][q] = 0.f;

  const int ktiles = p.k / BK;
#pragma unroll
  for (int s = 0; s < STAGES - 1; ++s) {
    if (s < ktiles) {
      load_a(s, s);
      if constexpr (WF == WeightFormat::kDense) load_b_dense(s, s);
      else { fetch_b_quant(s); store_b_quant(s); }
    }
    cp_async_commit();
  }

  const int wm = warp >> 2, wn = warp & 3;
  for (int kt = 0; kt < ktiles; ++kt) {
    cp_async_wait<STAGES - 2>();
    __syncthreads();
    const int nk = kt + STAGES - 1, ns = nk % STAGES;
    const bool more = nk < ktiles;
    if (more) {
      load_a(ns, nk);
      if constexpr (WF == WeightFormat::kDense) load_b_dense(ns, nk);
      else fetch_b_quant(nk);  // registers now, shared memory after the math
    }
    cp_async_commit();

    const int s = kt % STAGES;
#pragma unroll
    for (int kk = 0; kk < BK; kk += 16) {
      uint32_t af[MI][4], bf[4][2];
#pragma unroll
      for (int mi = 0; mi < MI; ++mi)
        ldmatrix_x4(af[mi], &As[s][wm * (BM_ / 2) + mi * 16 + (lane & 15)][kk + (lane >> 4) * 8]);
#pragma unroll
      for (int nb = 0; nb < 2; ++nb) {
        uint32_t r[4];
        const int mat = lane >> 3, rr = lane & 7;
        ldmatrix_x4(r, &Bs[s][wn * 32 + nb * 16 + (mat >> 1) * 8 + rr][kk + (mat & 1) * 8]);
        bf[2 * nb][0] = r[0];
        bf[2 * nb][1] = r[1];
        bf[2 * nb + 1][0] = r[2];
        bf[2 * nb + 1][1] = r[3];
      }
#pragma unroll
      for (int mi = 0; mi < MI; ++mi)
#pragma unroll
        for (int nj = 0; nj < 4; ++nj) mma16816<T>(acc[mi][nj], af[mi], bf[nj]);
    }
    if constexpr (WF != WeightFormat::kDense) {
      if (more) store_b_quant(ns);  // stage ns was last read in iteration kt-1
    }
  }

  with_fragment_finish<T>(p, expert, [&](const auto& f) {
#pragma unroll
    for (int mi = 0; mi < MI; ++mi) {
#pragma unroll
      for (int half = 0; half < 2; ++half) {
        const int32_t pos = row0 + wm * (BM_ / 2) + mi * 16 + (lane >> 2) + half * 8;
        if (pos >= row_end) continue;
        const auto row = f.row_of(pos);
#pragma unroll
        for (int nj = 0; nj < 4; ++nj) {
          const int n = n0 + wn * 32 + nj * 8 + 2 * (lane & 3);
          if (n < p.n) f.pair(row, n, acc[mi][nj][2 * half], acc[mi][nj][2 * half + 1]);
        }
      }
    }
  });
}

template <class T, WeightFormat WF, int BM_, int BK_>
void launch_mma_variant(const GemmParams& p, int64_t max_tiles, cudaStream_t stream) {
  constexpr size_t smem = mma_smem_bytes<BM_, BK_>();
  // Raising the dynamic shared-memory limit is a function attribute, not
  // stream work: allowed during graph capture; done once per variant.
  static const cudaError_t attr = cudaFuncSetAttribute(grouped_mma_kernel<T, WF, BM_, BK_>,
                                                       cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem);
  cuda_check(attr, "cudaFuncSetAttribute(grouped_mma)");
  const dim3 grid(ceil_div(p.n, BN), static_cast<unsigned>(max_tiles));
  launch_pdl(true, grouped_mma_kernel<T, WF, BM_, BK_>, grid, MMA_THREADS, smem, stream, "grouped_mma", p);
}

}  // namespace

bool wgmma_can_run(WeightFormat wf, int k_tile, int64_t k) {
  return wf == WeightFormat::kDense && k_tile == 64 && k % 64 == 0 && grouped_mma_sm90_usable();
}

// MOERT_CUDA_WGMMA=0 keeps every call on the mma.sync kernel, and
// MOERT_CUDA_WGMMA64=0 the 64-row tiles.
bool grouped_mma_takes_sm90(const GemmParams& p, WeightFormat wf, int tile_rows, int k_tile) {
  static const bool wg64 = [] {
    const char* e = std::getenv("MOERT_CUDA_WGMMA64");
    return !(e && e[0] == '0');
  }();
  if (!wgmma_can_run(wf, k_tile, p.k)) return false;
  if (tile_rows == 128) return true;
  // Measured on the H200 (64-row tiles, wgmma against mma.sync): mixtral
  // 256 tokens (64 rows per expert) 1246 -> 928 us; qwen3 64 / 256 tokens
  // (4 / 16 rows) 341 -> 395 / 370 -> 456 us.
  const int64_t rows = p.expert_offsets ? p.slots : p.m, groups = p.expert_offsets ? p.groups : 1;
  return tile_rows == 64 && wg64 && groups > 0 && rows >= 32 * groups;
}

template <class T>
void launch_grouped_mma(const GemmParams& p, WeightFormat wf, int tile_rows, int k_tile, int64_t max_tiles,
                        cudaStream_t stream) {
  if (max_tiles <= 0 || p.n <= 0) return;
  if (tile_rows != 64 && tile_rows != 128) throw std::runtime_error("grouped_mma: tile_rows must be 64 or 128");
  const bool big = tile_rows == 128;
  if (grouped_mma_takes_sm90(p, wf, tile_rows, k_tile)) {
    launch_grouped_mma_sm90<T>(p, tile_rows, max_tiles, stream);
    return;
  }
  // BK 64 needs K % 64 == 0 and dense weights; BK 32 otherwise.
  const bool bk64 = k_tile == 64 && wf == WeightFormat::kDense && p.k % 64 == 0;
  switch (wf) {
    case WeightFormat::kDense:
      if (bk64)
        big ? launch_mma_variant<T, WeightFormat::kDense, 128, 64>(p, max_tiles, stream)
            : launch_mma_variant<T, WeightFormat::kDense, 64, 64>(p, max_tiles, stream);
      else
        big ? launch_mma_variant<T, WeightFormat::kDense, 128, 32>(p, max_tiles, stream)
            : launch_mma_variant<T, WeightFormat::kDense, 64, 32>(p, max_tiles, stream);
      break;
    case WeightFormat::kFp8:
      big ? launch_mma_variant<T, WeightFormat::kFp8, 128, 32>(p, max_tiles, stream)
          : launch_mma_variant<T, WeightFormat::kFp8, 64, 32>(p, max_tiles, stream);
      break;
    case WeightFormat::kMxfp4:
      big ? launch_mma_variant<T, WeightFormat::kMxfp4, 128, 32>(p, max_tiles, stream)
          : launch_mma_variant<T, WeightFormat::kMxfp4, 64, 32>(p, max_tiles, stream);
      break;
  }
  MOERT_CUDA_LAUNCH_CHECK("grouped_mma");
}

template void launch_grouped_mma<__nv_bfloat16>(const GemmParams&, WeightFormat, int, int, int64_t, cudaStream_t);
template void launch_grouped_mma<__half>(const GemmParams&, WeightFormat, int, int, int64_t, cudaStream_t);

}  // namespace moert_cuda
