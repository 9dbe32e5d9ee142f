// AVX2 + FMA GEMM on bf16 weights in the panel16 layout (bf16_panel.h).
// Compiled with -mavx2 -mfma; called only after CPUID said AVX2/FMA/F16C.
// No C++ library headers (see isa_kernels.h).
//
// A strip of MB rows of x against one panel: per weight row k, one 32-byte
// load gives 16 bf16, a shift and a mask turn them into two vectors of 8 f32
// (columns 0-7 and 8-15), and each of the MB rows adds x[m, k] times both
// (2 * MB FMAs). The first strip of a panel reads it from memory (with a
// software prefetch ahead of the stream), later strips find it in L2
// (a panel is K * 32 bytes: 64-128 KiB for the model layers here).
// Few rows are bound by memory, so the FMA chains are split over U
// independent accumulator sets (FMA latency 4, two per cycle: 8 chains keep
// the units busy); many rows are bound by the FMAs.
#include <immintrin.h>

#include "bf16_panel.h"

namespace moert_cpu {
namespace {

// Software prefetch 2 KiB ahead along the panel stream (of 1 to 16 KiB, 2 KiB
// measured best). A panel read by one strip only (M <= 4) is
// prefetched non-temporally (it is not read again); a panel that later
// strips re-read is prefetched into L2.
constexpr int64_t kPrefetchRows = 64;
enum Prefetch { kNoPrefetch, kPrefetchNta, kPrefetchL2 };

template <int MB, int U, Prefetch PF>
inline void strip(const float* x, int64_t ldx, const uint16_t* wp, int64_t K, float* y, int64_t ldy,
                  int64_t cols) {
  __m256 acc[U][MB][2];
  #pragma GCC unroll 16
  for (int u = 0; u < U; ++u)
    #pragma GCC unroll 16
    for (int m = 0; m < MB; ++m) acc[u][m][0] = acc[u][m][1] = _mm256_setzero_ps();
  const __m256i himask = _mm256_set1_epi32(static_cast<int>(0xffff0000u));
  int64_t k = 0;
  for (; k + U <= K; k += U) {
    if (PF != kNoPrefetch)  // one prefetch per 64-byte line (two weight rows)
      for (int u = 0; u < U; u += 2)
        _mm_prefetch(reinterpret_cast<const char*>(wp + (k + u + kPrefetchRows) * kPanelCols),
                     PF == kPrefetchNta ? _MM_HINT_NTA : _MM_HINT_T0);
    #pragma GCC unroll 16
    for (int u = 0; u < U; ++u) {
      const __m256i w = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wp + (k + u) * kPanelCols));
      const __m256 lo = _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
      const __m256 hi = _mm256_castsi256_ps(_mm256_and_si256(w, himask));
      #pragma GCC unroll 16
      for (int m = 0; m < MB; ++m) {
        const __m256 xb = _mm256_broadcast_ss(x + m * ldx + k + u);
        acc[u][m][0] = _mm256_fmadd_ps(xb, lo, acc[u][m][0]);
        acc[u][m][1] = _mm256_fmadd_ps(xb, hi, acc[u][m][1]);
      }
    }
  }
  for (; k < K; ++k) {
    const __m256i w = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wp + k * kPanelCols));
    const __m256 lo = _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
    const __m256 hi = _mm256_castsi256_ps(_mm256_and_si256(w, himask));
    #pragma GCC unroll 16
    for (int m = 0; m < MB; ++m) {
      const __m256 xb = _mm256_broadcast_ss(x + m * ldx + k);
      acc[0][m][0] = _mm256_fmadd_ps(xb, lo, acc[0][m][0]);
      acc[0][m][1] = _mm256_fmadd_ps(xb, hi, acc[0][m][1]);
    }
  }
  #pragma GCC unroll 16
  for (int m = 0; m < MB; ++m) {
    __m256 a0 = acc[0][m][0], a1 = acc[0][m][1];
    #pragma GCC unroll 16
    for (int u = 1; u < U; ++u) {
      a0 = _mm256_add_ps(a0, acc[u][m][0]);
      a1 = _mm256_add_ps(a1, acc[u][m][1]);
    }
    float* o = y + m * ldy;
    if (cols == kPanelCols) {
      _mm256_storeu_ps(o, a0);
      _mm256_storeu_ps(o + 8, a1);
    } else {  // the last panel of a matrix whose N is not a multiple of 16
      float t[16];
      _mm256_storeu_ps(t, a0);
      _mm256_storeu_ps(t + 8, a1);
      for (int64_t c = 0; c < cols; ++c) o[c] = t[c];
    }
  }
}

// Strip of the rows [m, m + MB) (MB <= 4): U accumulator sets so that
// MB * 2 * U >= 8 chains hide the FMA latency.
template <Prefetch PF>
inline void strip_any(int64_t MB, const float* x, int64_t ldx, const uint16_t* wp, int64_t K, float* y, int64_t ldy,
                      int64_t cols) {
  switch (MB) {
    case 4: strip<4, 1, PF>(x, ldx, wp, K, y, ldy, cols); break;
    case 3: strip<3, 1, PF>(x, ldx, wp, K, y, ldy, cols); break;
    case 2: strip<2, 2, PF>(x, ldx, wp, K, y, ldy, cols); break;
    default: strip<1, 4, PF>(x, ldx, wp, K, y, ldy, cols); break;
  }
}

// All M rows against one panel, in strips of 4 (the remainder last). Only
// the first strip reads the panel from memory.
inline void panel_rows(const float* x, int64_t ldx, int64_t M, const uint16_t* wp, int64_t K, float* y, int64_t ldy,
                       int64_t cols) {
  if (M <= 4) {
    strip_any<kPrefetchNta>(M, x, ldx, wp, K, y, ldy, cols);
    return;
  }
  strip<4, 1, kPrefetchL2>(x, ldx, wp, K, y, ldy, cols);
  for (int64_t m = 4; m < M; m += 4)
    strip_any<kNoPrefetch>(M - m < 4 ? M - m : 4, x + m * ldx, ldx, wp, K, y + m * ldy, ldy, cols);
}

void panel_gemm(const float* x, int64_t ldx, int64_t M, const uint16_t* w, int64_t K, int64_t N, int64_t p0,
                int64_t p1, float* y, int64_t ldy) {
  if (M <= 0) return;
  for (int64_t p = p0; p < p1; ++p) {
    const uint16_t* wp = w + p * K * kPanelCols;
    const int64_t n0 = p * kPanelCols;
    const int64_t cols = N - n0 < kPanelCols ? N - n0 : kPanelCols;
    panel_rows(x, ldx, M, wp, K, y + n0, ldy, cols);
  }
}

}  // namespace

Bf16PanelGemmFn bf16_panel_gemm_avx2() { return panel_gemm; }

}  // namespace moert_cpu
