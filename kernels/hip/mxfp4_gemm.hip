// Grouped MXFP4 GEMM over the aligned tiles: each block takes one kTileM-row
// tile of one expert and BN output columns, dequantizes the weights straight
// from aiter's shuffle_weight(16,16) / e8m0_shuffle layouts into bf16 in
// shared memory (exact: e2m1 * 2^k fits bf16) and accumulates in f32.
//
// Math paths (the tiles in shared memory are the same for all):
//   - NVIDIA sm_80+ (the HIP-on-CUDA build): mma.sync m16n8k16 bf16 tensor
//     cores, guarded by MOERT_HIP_ON_CUDA && __CUDA_ARCH__ >= 800.
//   - portable path (AMD gfx90a/gfx940 today, any other target): f32 FMA on
//     CUDA/SIMT cores. An MFMA path for CDNA would slot in at the same place
//     (see docs/rocm-backend.md); it is not written yet.
// Loads are plain global loads on every target (no AMD buffer loads), with a
// one-step register prefetch of the next K slice.
#include "aiter_layout.h"
#include "moe_kernels.h"
#include "numeric_formats.h"

#if defined(MOERT_HIP_ON_CUDA) && defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
#define MOERT_GEMM_MMA_SYNC 1
#endif

namespace moert_hip {
namespace {

constexpr int kSub = 2;             // 64-value K slices per pipeline stage
constexpr int kBK = 64 * kSub;      // K values per stage (2 x 32 bytes of fp4 per row)
constexpr int kLds = kBK + 8;       // bf16 row stride in shared memory (bank spread)

struct alignas(16) U4 { uint32_t x, y, z, w; };

template <int BN>
struct alignas(16) Tiles {  // 16-byte vector stores into both tiles
  uint16_t a[kTileM][kLds];
  uint16_t w[BN][kLds];
};

__device__ __forceinline__ uint32_t pack_bf16x2(float lo, float hi) {
  // Exact for e2m1 * 2^k and for e4m3 values: truncation loses nothing.
  return (f32_to_bits(lo) >> 16) | (f32_to_bits(hi) & 0xffff0000u);
}

#if defined(MOERT_GEMM_MMA_SYNC) && __CUDA_ARCH__ >= 900
#define MOERT_GEMM_BF16X2_MUL 1
// Two bf16 products in one instruction (sm_90); exact for a power-of-two scale.
__device__ __forceinline__ uint32_t mul_bf16x2(uint32_t a, uint32_t b) {
  uint32_t r;
  asm("mul.rn.bf16x2 %0, %1, %2;" : "=r"(r) : "r"(a), "r"(b));
  return r;
}
#endif

template <int BN, int AKIND>
__global__ void __launch_bounds__(2 * BN) mxfp4_gemm_kernel(GemmArgs p) {
  constexpr int kThreads = 2 * BN;
  constexpr int kAChunks = kTileM * 8;  // per 64-value slice: 32 rows x 8 chunks of 8 values
  constexpr int kAPerThread = kAChunks / kThreads;
  __shared__ Tiles<BN> sm;

  const int64_t tile = blockIdx.y;
  const int32_t e = p.tile_expert[tile];
  if (e < 0) return;  // the whole block leaves: unused tile
  const int tid = threadIdx.x;
  const int64_t n_base = static_cast<int64_t>(blockIdx.x) * BN;
  const int64_t Kb = p.K / 2, n64 = p.K / 64, nk = (n64 + kSub - 1) / kSub;
  const int64_t pc = scale_padded_cols(p.K / 32);
  const int32_t* rows = p.sorted_slots + tile * kTileM;

#if defined(MOERT_GEMM_BF16X2_MUL)
  __shared__ uint32_t lut[256];  // byte -> two unscaled bf16 e2m1 values
  for (int i = tid; i < 256; i += kThreads) lut[i] = pack_bf16x2(e2m1_to_f32(i & 15u), e2m1_to_f32(i >> 4));
  __syncthreads();
#endif

  // --- this thread's share of the loads ---
  const int w_group = tid / 32, w_k1 = (tid % 32) / 16, w_n1 = tid % 16;
  const int64_t w_n = n_base + w_group * 16 + w_n1;
  const bool w_valid = w_n < p.N;
  int a_row[kAPerThread], a_chunk[kAPerThread];
  int64_t a_src[kAPerThread];
  for (int i = 0; i < kAPerThread; ++i) {
    const int c = tid + i * kThreads;
    a_row[i] = c / 8;
    a_chunk[i] = c % 8;
    const int32_t s = rows[a_row[i]];
    a_src[i] = s < 0 ? -1 : (AKIND == kA_SlotBf16 ? s : s / p.top_k);
  }

  U4 w_reg[kSub];
  uint8_t s_reg[kSub];
  U4 a_reg[kSub][kAPerThread];
  auto load_global = [&](int64_t kk) {
#pragma unroll
    for (int q = 0; q < kSub; ++q) {
      const int64_t k64 = kk * kSub + q;
      const bool live = k64 < n64;  // the last stage may be half empty
      w_reg[q] = U4{0, 0, 0, 0};
      s_reg[q] = 127;
      if (w_valid && live) {
        w_reg[q] = *reinterpret_cast<const U4*>(p.w + shuffled_weight_offset(e, w_n, k64 * 32 + w_k1 * 16, p.N, Kb));
        s_reg[q] = p.w_scale[shuffled_scale_offset(static_cast<int64_t>(e) * p.N + w_n, k64 * 2 + w_k1, pc)];
      }
#pragma unroll
      for (int i = 0; i < kAPerThread; ++i) {
        a_reg[q][i] = U4{0, 0, 0, 0};
        if (a_src[i] < 0 || !live) continue;
        const int64_t k0 = k64 * 64 + a_chunk[i] * 8;
        if (AKIND == kA_TokenFp8) {
          const uint2 v = *reinterpret_cast<const uint2*>(static_cast<const uint8_t*>(p.a) + a_src[i] * p.K + k0);
          a_reg[q][i].x = v.x;
          a_reg[q][i].y = v.y;
        } else {
          a_reg[q][i] = *reinterpret_cast<const U4*>(static_cast<const uint16_t*>(p.a) + a_src[i] * p.K + k0);
        }
      }
    }
  };
  auto store_shared = [&]() {
#pragma unroll
    for (int q = 0; q < kSub; ++q) {
      const uint32_t wv[4] = {w_reg[q].x, w_reg[q].y, w_reg[q].z, w_reg[q].w};
      uint32_t* dst = reinterpret_cast<uint32_t*>(&sm.w[w_group * 16 + w_n1][q * 64 + w_k1 * 32]);
#if defined(MOERT_GEMM_BF16X2_MUL)
      const uint32_t sb = f32_to_bits(e8m0_to_f32(s_reg[q])) >> 16;
      const uint32_t s2 = sb | (sb << 16);
#else
      const float scale = e8m0_to_f32(s_reg[q]);
#endif
#pragma unroll
      for (int c = 0; c < 4; ++c) {
        U4 out;
        uint32_t* o = &out.x;
#pragma unroll
        for (int b = 0; b < 4; ++b) {
          const uint32_t byte = (wv[c] >> (8 * b)) & 0xffu;
#if defined(MOERT_GEMM_BF16X2_MUL)
          o[b] = mul_bf16x2(lut[byte], s2);
#else
          o[b] = pack_bf16x2(e2m1_to_f32(byte & 15u) * scale, e2m1_to_f32(byte >> 4) * scale);
#endif
        }
        *reinterpret_cast<U4*>(dst + 4 * c) = out;
      }
#pragma unroll
      for (int i = 0; i < kAPerThread; ++i) {
        U4 v = a_reg[q][i];
        if (AKIND == kA_TokenFp8) {
          const uint32_t bytes[2] = {a_reg[q][i].x, a_reg[q][i].y};
          uint32_t* o = &v.x;
#pragma unroll
          for (int h = 0; h < 2; ++h)
#pragma unroll
            for (int b = 0; b < 2; ++b)
              o[2 * h + b] = pack_bf16x2(e4m3_to_f32((bytes[h] >> (16 * b)) & 0xffu),
                                         e4m3_to_f32((bytes[h] >> (16 * b + 8)) & 0xffu));
        }
        *reinterpret_cast<U4*>(&sm.a[a_row[i]][q * 64 + a_chunk[i] * 8]) = v;
      }
    }
  };

#if defined(MOERT_GEMM_MMA_SYNC)
  // 2 x (BN/32) warps; each owns 16 rows x 32 columns = 4 mma tiles of 16x8.
  const int warp = tid / 32, lane = tid % 32, g = lane / 4, tq = lane % 4;
  const int wm = warp / (BN / 32), wn = warp % (BN / 32);
  float acc[4][4] = {};
  auto compute = [&]() {
#pragma unroll
    for (int ks = 0; ks < kBK; ks += 16) {
      const uint32_t a0 = *reinterpret_cast<const uint32_t*>(&sm.a[wm * 16 + g][ks + 2 * tq]);
      const uint32_t a1 = *reinterpret_cast<const uint32_t*>(&sm.a[wm * 16 + g + 8][ks + 2 * tq]);
      const uint32_t a2 = *reinterpret_cast<const uint32_t*>(&sm.a[wm * 16 + g][ks + 2 * tq + 8]);
      const uint32_t a3 = *reinterpret_cast<const uint32_t*>(&sm.a[wm * 16 + g + 8][ks + 2 * tq + 8]);
#pragma unroll
      for (int nt = 0; nt < 4; ++nt) {
        const int col = wn * 32 + nt * 8 + g;
        const uint32_t b0 = *reinterpret_cast<const uint32_t*>(&sm.w[col][ks + 2 * tq]);
        const uint32_t b1 = *reinterpret_cast<const uint32_t*>(&sm.w[col][ks + 2 * tq + 8]);
        asm volatile(
            "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
            "{%0,%1,%2,%3};\n"
            : "+f"(acc[nt][0]), "+f"(acc[nt][1]), "+f"(acc[nt][2]), "+f"(acc[nt][3])
            : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
      }
    }
  };
#else
  // Portable f32 FMA path: thread owns rows tid/32 + i*(kThreads/32), columns tid%32 + 32*j.
  constexpr int kRowStep = kThreads / 32, kRI = kTileM / kRowStep, kCJ = BN / 32;
  const int r0 = tid / 32, c0 = tid % 32;
  float acc[kRI][kCJ] = {};
  auto compute = [&]() {
    for (int k = 0; k < kBK; k += 2) {
      float a[kRI][2], w[kCJ][2];
#pragma unroll
      for (int i = 0; i < kRI; ++i) {
        const uint32_t v = *reinterpret_cast<const uint32_t*>(&sm.a[r0 + i * kRowStep][k]);
        a[i][0] = bits_to_f32(v << 16);
        a[i][1] = bits_to_f32(v & 0xffff0000u);
      }
#pragma unroll
      for (int j = 0; j < kCJ; ++j) {
        const uint32_t v = *reinterpret_cast<const uint32_t*>(&sm.w[c0 + 32 * j][k]);
        w[j][0] = bits_to_f32(v << 16);
        w[j][1] = bits_to_f32(v & 0xffff0000u);
      }
#pragma unroll
      for (int i = 0; i < kRI; ++i)
#pragma unroll
        for (int j = 0; j < kCJ; ++j) acc[i][j] += a[i][0] * w[j][0] + a[i][1] * w[j][1];
    }
  };
#endif

  load_global(0);
  for (int64_t kk = 0; kk < nk; ++kk) {
    store_shared();
    __syncthreads();
    if (kk + 1 < nk) load_global(kk + 1);
    compute();
    __syncthreads();
  }

  auto emit = [&](int r, int64_t n, float v) {
    const int32_t s = rows[r];
    if (s < 0 || n >= p.N) return;
    if (AKIND == kA_TokenFp8) v *= p.a_scale[s / p.top_k];
    if (p.bias) v += p.bias[static_cast<int64_t>(e) * p.N + n];
    p.out[static_cast<int64_t>(s) * p.N + n] = v;
  };
#if defined(MOERT_GEMM_MMA_SYNC)
#pragma unroll
  for (int nt = 0; nt < 4; ++nt) {
    const int64_t n = n_base + wn * 32 + nt * 8 + 2 * tq;
    emit(wm * 16 + g, n, acc[nt][0]);
    emit(wm * 16 + g, n + 1, acc[nt][1]);
    emit(wm * 16 + g + 8, n, acc[nt][2]);
    emit(wm * 16 + g + 8, n + 1, acc[nt][3]);
  }
#else
#pragma unroll
  for (int i = 0; i < kRI; ++i)
#pragma unroll
    for (int j = 0; j < kCJ; ++j) emit(r0 + i * kRowStep, n_base + c0 + 32 * j, acc[i][j]);
#endif
}

template <int BN>
hipError_t launch_bn(const GemmArgs& p, hipStream_t stream) {
  dim3 grid(static_cast<unsigned>((p.N + BN - 1) / BN), static_cast<unsigned>(p.max_tiles));
  switch (p.a_kind) {
    case kA_TokenBf16: mxfp4_gemm_kernel<BN, kA_TokenBf16><<<grid, 2 * BN, 0, stream>>>(p); break;
    case kA_TokenFp8: mxfp4_gemm_kernel<BN, kA_TokenFp8><<<grid, 2 * BN, 0, stream>>>(p); break;
    default: mxfp4_gemm_kernel<BN, kA_SlotBf16><<<grid, 2 * BN, 0, stream>>>(p); break;
  }
  return hipGetLastError();
}

}  // namespace

hipError_t launch_mxfp4_gemm(const GemmArgs& args, hipStream_t stream) {
  if (args.max_tiles == 0) return hipSuccess;
  return args.narrow_tiles ? launch_bn<64>(args, stream) : launch_bn<128>(args, stream);
}

}  // namespace moert_hip
