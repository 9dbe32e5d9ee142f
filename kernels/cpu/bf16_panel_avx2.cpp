// AVX2 + FMA GEMM on bf16 weights in the panel16 layout (bf16_panel.h).
// Compiled with -mavx2 -mfma; called only after CPUID said AVX2/FMA/F16C.
// No C++ library headers (see isa_kernels.h).
//
// A strip of MB rows of x against one panel: per weight row k, one 32-byte
// load gives 16 bf16, a shift and a mask turn them into two vectors of 8 f32
// (columns 0-7 and 8-15), and each of the MB rows adds x[m, k] times both
// (2 * MB FMAs). Up to 6 rows take one strip, so each panel is streamed
// from memory once (decode: bound by memory). More rows (bound by the FMAs)
// take strips of 4 over 64 KiB chunks of the panel that sit in L2, while
// the strips prefetch the next chunk. Few rows split the FMA chains over U
// independent accumulator sets (FMA latency 4, two per cycle: 8 chains keep
// the units busy).
#include <immintrin.h>

#include "bf16_panel.h"

namespace moert_cpu {
namespace {

// Software prefetch. One strip over a panel (M <= 6) is a pure stream:
// prefetch 2 KiB ahead (of 1 to 16 KiB, 2 KiB measured best), non-temporal
// (the panel is not read again). With more rows a panel is cut into chunks
// of kChunkRows; every strip re-reads the chunk from L2 and fetches its share
// of the *next* chunk from memory meanwhile, so memory keeps streaming while
// the later strips compute (without it, the strips after the first left
// memory idle: M = 5..8 ran at 10-13 GB/s against 17 at M = 4).
constexpr int64_t kPrefetchRows = 64;
constexpr int64_t kChunkRows = 2048;  // 64 KiB of a panel; with the next chunk and x well within L2
enum Prefetch { kNoPrefetch, kPrefetchAhead, kPrefetchRange };

// y[m, 0:cols] (+)= x[m, 0:K] * panel rows [0, K) for m < MB; `add`: add to
// what y holds (a later chunk), else overwrite. kPrefetchRange: prefetch
// the bytes [pf, pf_end) into L2, spread evenly over the loop.
template <int MB, int U, Prefetch PF>
inline void strip(const float* x, int64_t ldx, const uint16_t* wp, int64_t K, float* y, int64_t ldy,
                  int64_t cols, bool add, const char* pf, const char* pf_end) {
  __m256 acc[U][MB][2];
  #pragma GCC unroll 16
  for (int u = 0; u < U; ++u)
    #pragma GCC unroll 16
    for (int m = 0; m < MB; ++m) acc[u][m][0] = acc[u][m][1] = _mm256_setzero_ps();
  if (add) {
    #pragma GCC unroll 16
    for (int m = 0; m < MB; ++m) {
      if (cols == kPanelCols) {
        acc[0][m][0] = _mm256_loadu_ps(y + m * ldy);
        acc[0][m][1] = _mm256_loadu_ps(y + m * ldy + 8);
      } else {
        float t[16] = {};
        for (int64_t c = 0; c < cols; ++c) t[c] = y[m * ldy + c];
        acc[0][m][0] = _mm256_loadu_ps(t);
        acc[0][m][1] = _mm256_loadu_ps(t + 8);
      }
    }
  }
  // The loop takes kGroup weight rows (4 lines) per trip, so the prefetch
  // bookkeeping costs little next to the 2 * MB FMAs per row: the front
  // end is near its limit at MB = 4. kPrefetchRange issues `burst` lines
  // every `every` trips.
  constexpr int64_t kGroup = 8;
  int64_t every = 1, count = 1, burst = 1;
  if (PF == kPrefetchRange) {
    const int64_t lines = (pf_end - pf) / 64, trips = K / kGroup;
    burst = trips > 0 && lines > trips ? (lines + trips - 1) / trips : 1;
    every = lines > 0 && trips * burst > lines ? trips * burst / lines : 1;
  }
  const __m256i himask = _mm256_set1_epi32(static_cast<int>(0xffff0000u));
  int64_t k = 0;
  for (; k + kGroup <= K; k += kGroup) {
    if (PF == kPrefetchAhead)  // the 4 lines kPrefetchRows ahead
      for (int64_t l = 0; l < kGroup; l += 2)
        _mm_prefetch(reinterpret_cast<const char*>(wp + (k + l + kPrefetchRows) * kPanelCols), _MM_HINT_NTA);
    if (PF == kPrefetchRange && --count == 0) {
      count = every;
      for (int64_t b = 0; b < burst && pf < pf_end; ++b, pf += 64) _mm_prefetch(pf, _MM_HINT_T0);
    }
    #pragma GCC unroll 16
    for (int64_t g = 0; g < kGroup; g += U) {
      #pragma GCC unroll 16
      for (int u = 0; u < U; ++u) {
        const __m256i w = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wp + (k + g + u) * kPanelCols));
        const __m256 lo = _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
        const __m256 hi = _mm256_castsi256_ps(_mm256_and_si256(w, himask));
        #pragma GCC unroll 16
        for (int m = 0; m < MB; ++m) {
          const __m256 xb = _mm256_broadcast_ss(x + m * ldx + k + g + u);
          acc[u][m][0] = _mm256_fmadd_ps(xb, lo, acc[u][m][0]);
          acc[u][m][1] = _mm256_fmadd_ps(xb, hi, acc[u][m][1]);
        }
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

// Strip of the rows [m, m + MB) (MB <= 6): U accumulator sets so that
// MB * 2 * U >= 8 chains hide the FMA latency (MB = 6: 12 accumulators, the
// most that fit the 16 registers with the weights and x; MB = 3 takes 12
// too: with 6 it ran 5-8% slower as the remainder strip of M = 7 and 11).
template <Prefetch PF>
inline void strip_any(int64_t MB, const float* x, int64_t ldx, const uint16_t* wp, int64_t K, float* y, int64_t ldy,
                      int64_t cols, bool add, const char* pf, const char* pf_end) {
  switch (MB) {
    case 6: strip<6, 1, PF>(x, ldx, wp, K, y, ldy, cols, add, pf, pf_end); break;
    case 5: strip<5, 1, PF>(x, ldx, wp, K, y, ldy, cols, add, pf, pf_end); break;
    case 4: strip<4, 1, PF>(x, ldx, wp, K, y, ldy, cols, add, pf, pf_end); break;
    case 3: strip<3, 2, PF>(x, ldx, wp, K, y, ldy, cols, add, pf, pf_end); break;
    case 2: strip<2, 2, PF>(x, ldx, wp, K, y, ldy, cols, add, pf, pf_end); break;
    default: strip<1, 4, PF>(x, ldx, wp, K, y, ldy, cols, add, pf, pf_end); break;
  }
}

// Up to 3 rows (bound by memory): S panels side by side in one loop, the
// accumulators of all S in registers, 8 weight rows (256 bytes) of each
// panel in turn, so each core runs S sequential streams for the hardware
// prefetchers. M = 1 takes 4 panels and no software prefetch (a plain read
// loop, too, reads 4 interleaved streams fastest and loses 10-24% to any
// software prefetch; at M = 1 the loop is short enough for the out-of-order
// window to run ahead by itself); M = 2-3 take 2 panels with the
// non-temporal prefetch 2 KiB ahead (without it, or as 4 panels, slower).
// Against the earlier two streams of alternating 64-row strips
// (bench/cpu/panel_ab.cpp, one mixtral w13 per thread, 2026-12-01), in the
// copy loop's fast phase / normal phase: M = 1 45.8-46.7 -> 55.6-55.8 GB/s
// / 36.0-36.6 -> 38.6-38.8; M = 2 48.7-49.0 -> 51.8-52.0 / 37.2-37.3 ->
// 38.3-38.5; M = 3 the same (46.9-47.5) / +2-3%.
template <int MB, int S, bool PF>
inline void strips_side_by_side(const float* x, int64_t ldx, const uint16_t* const* wp, int64_t K,
                                float* const* y, int64_t ldy, const int64_t* cols) {
  __m256 acc[S][MB][2];
  #pragma GCC unroll 16
  for (int s = 0; s < S; ++s)
    #pragma GCC unroll 16
    for (int m = 0; m < MB; ++m) acc[s][m][0] = acc[s][m][1] = _mm256_setzero_ps();
  const __m256i himask = _mm256_set1_epi32(static_cast<int>(0xffff0000u));
  auto row = [&](int s, int64_t k) {
    const __m256i w = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wp[s] + k * kPanelCols));
    const __m256 lo = _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
    const __m256 hi = _mm256_castsi256_ps(_mm256_and_si256(w, himask));
    #pragma GCC unroll 16
    for (int m = 0; m < MB; ++m) {
      const __m256 xb = _mm256_broadcast_ss(x + m * ldx + k);
      acc[s][m][0] = _mm256_fmadd_ps(xb, lo, acc[s][m][0]);
      acc[s][m][1] = _mm256_fmadd_ps(xb, hi, acc[s][m][1]);
    }
  };
  constexpr int64_t kGroup = 8;
  int64_t k = 0;
  for (; k + kGroup <= K; k += kGroup) {
    #pragma GCC unroll 16
    for (int s = 0; s < S; ++s) {
      if (PF)
        #pragma GCC unroll 16
        for (int64_t l = 0; l < kGroup; l += 2)
          _mm_prefetch(reinterpret_cast<const char*>(wp[s] + (k + l + kPrefetchRows) * kPanelCols), _MM_HINT_NTA);
      #pragma GCC unroll 16
      for (int64_t g = 0; g < kGroup; ++g) row(s, k + g);
    }
  }
  for (; k < K; ++k)
    #pragma GCC unroll 16
    for (int s = 0; s < S; ++s) row(s, k);
  #pragma GCC unroll 16
  for (int s = 0; s < S; ++s)
    #pragma GCC unroll 16
    for (int m = 0; m < MB; ++m) {
      float* o = y[s] + m * ldy;
      if (cols[s] == kPanelCols) {
        _mm256_storeu_ps(o, acc[s][m][0]);
        _mm256_storeu_ps(o + 8, acc[s][m][1]);
      } else {  // the last panel of a matrix whose N is not a multiple of 16
        float t[16];
        _mm256_storeu_ps(t, acc[s][m][0]);
        _mm256_storeu_ps(t + 8, acc[s][m][1]);
        for (int64_t c = 0; c < cols[s]; ++c) o[c] = t[c];
      }
    }
}

// Panels [p0, p1) for M <= 3: S = 4 (M = 1) or 2 streams over the S equal
// parts of the range, panel p0 + i + s * q of each part side by side.
// Returns the first panel not done (the < S left over, for one stream).
int64_t panels_side_by_side(const float* x, int64_t ldx, int64_t M, const uint16_t* w, int64_t K, int64_t N,
                            int64_t p0, int64_t p1, float* y, int64_t ldy) {
  const int S = M == 1 ? 4 : 2;
  const int64_t q = (p1 - p0) / S;
  for (int64_t i = 0; i < q; ++i) {
    const uint16_t* wp[4];
    float* yp[4];
    int64_t cols[4];
    for (int s = 0; s < S; ++s) {
      const int64_t p = p0 + i + s * q, n0 = p * kPanelCols;
      wp[s] = w + p * K * kPanelCols;
      yp[s] = y + n0;
      cols[s] = N - n0 < kPanelCols ? N - n0 : kPanelCols;
    }
    if (M == 1) strips_side_by_side<1, 4, false>(x, ldx, wp, K, yp, ldy, cols);
    else if (M == 2) strips_side_by_side<2, 2, true>(x, ldx, wp, K, yp, ldy, cols);
    else strips_side_by_side<3, 2, true>(x, ldx, wp, K, yp, ldy, cols);
  }
  return p0 + S * q;
}

void panel_gemm(const float* x, int64_t ldx, int64_t M, const uint16_t* w, int64_t K, int64_t N, int64_t p0,
                int64_t p1, float* y, int64_t ldy) {
  if (M <= 0) return;
  if (M <= 3) p0 = panels_side_by_side(x, ldx, M, w, K, N, p0, p1, y, ldy);
  for (int64_t p = p0; p < p1; ++p) {
    const uint16_t* wp = w + p * K * kPanelCols;
    const int64_t n0 = p * kPanelCols;
    const int64_t cols = N - n0 < kPanelCols ? N - n0 : kPanelCols;
    if (M <= 6) {  // one strip: the panel streamed once
      strip_any<kPrefetchAhead>(M, x, ldx, wp, K, y + n0, ldy, cols, false, nullptr, nullptr);
      continue;
    }
    // Strips of 4 rows (the remainder last) over each chunk of the panel;
    // together they prefetch the next chunk of this thread's stream.
    // (Strips of 6 measured the same at M = 8-128; without chunks M = 128
    // ran 4% faster and M = 8 10-20% slower.)
    constexpr int64_t SW = 4;
    const int64_t strips = (M + SW - 1) / SW;
    const int64_t chunk = kChunkRows;
    for (int64_t k0 = 0; k0 < K; k0 += chunk) {
      const int64_t kb = K - k0 < chunk ? K - k0 : chunk;
      const char* next = nullptr;
      int64_t next_rows = 0;
      if (k0 + kb < K) {
        next = reinterpret_cast<const char*>(wp + (k0 + kb) * kPanelCols);
        next_rows = K - k0 - kb < chunk ? K - k0 - kb : chunk;
      } else if (p + 1 < p1) {
        next = reinterpret_cast<const char*>(wp + K * kPanelCols);
        next_rows = K < chunk ? K : chunk;
      }
      const int64_t next_bytes = next_rows * kPanelCols * 2;
      for (int64_t s = 0; s < strips; ++s) {
        // Each strip's share of the next chunk is in proportion to its rows
        // (its time): the 1-3 row remainder strip gets less.
        const int64_t m = SW * s, m1 = m + SW < M ? m + SW : M;
        const char* pf = next ? next + next_bytes * m / M / 64 * 64 : nullptr;
        const char* pf_end = next ? next + next_bytes * m1 / M / 64 * 64 : nullptr;
        strip_any<kPrefetchRange>(M - m < SW ? M - m : SW, x + m * ldx + k0, ldx, wp + k0 * kPanelCols, kb,
                                  y + m * ldy + n0, ldy, cols, k0 > 0, pf, pf_end);
      }
    }
  }
}

}  // namespace

Bf16PanelGemmFn bf16_panel_gemm_avx2() { return panel_gemm; }

}  // namespace moert_cpu
