// AVX512-BF16 small-M kernel (vdpbf16ps) for bf16 experts with few tokens.
// Compiled with -mavx512f -mavx512bw -mavx512bf16 and called only when
// select_bf16_kn() found avx512_bf16 in CPUID. No C++ library headers (see
// isa_kernels.h).
//
// y [M, N] f32 = x [M, K] bf16 x W [K, N] bf16, W row-major (oneDNN's plain
// "ab" layout, the one the experts are repacked into). Each weight row is
// read once per call and used for all M tokens: for a block of KB rows the
// kernel sweeps a wide chunk of columns (long sequential runs per row), pairs
// rows k and k+1 with vpunpck{l,h}wd (the K-pair order vdpbf16ps wants; the
// lane permutation this causes is undone once, when storing), and keeps the
// partial sums of the chunk in y (L1/L2) between K blocks. x pairs are the
// bf16 activations as given (two adjacent bf16 = one 32-bit broadcast).
#include <immintrin.h>

#include "isa_kernels.h"

namespace moert_cpu {
namespace {

constexpr int64_t kKB = 16;   // weight rows per K block
constexpr int64_t kPF = 512;  // software prefetch distance along a row (elements)

template <int MB>
inline void tile64(const uint16_t* x, int64_t ldx, const uint16_t* w, int64_t N, int64_t k0, int64_t k1,
                   int64_t n, float* y, int64_t ldy, bool first, bool last, bool pf) {
  __m512 acc[MB][4];
  for (int m = 0; m < MB; ++m)
    for (int j = 0; j < 4; ++j)
      acc[m][j] = first ? _mm512_setzero_ps() : _mm512_loadu_ps(y + m * ldy + n + 16 * j);
  for (int64_t k = k0; k < k1; k += 2) {
    const uint16_t* r0 = w + k * N + n;
    const uint16_t* r1 = r0 + N;
    if (pf) {
      _mm_prefetch((const char*)(r0 + kPF), _MM_HINT_T0);
      _mm_prefetch((const char*)(r0 + kPF + 32), _MM_HINT_T0);
      _mm_prefetch((const char*)(r1 + kPF), _MM_HINT_T0);
      _mm_prefetch((const char*)(r1 + kPF + 32), _MM_HINT_T0);
    }
    __m512i a0 = _mm512_loadu_si512(r0), a1 = _mm512_loadu_si512(r0 + 32);
    __m512i b0 = _mm512_loadu_si512(r1), b1 = _mm512_loadu_si512(r1 + 32);
    __m512bh p[4] = {(__m512bh)_mm512_unpacklo_epi16(a0, b0), (__m512bh)_mm512_unpackhi_epi16(a0, b0),
                     (__m512bh)_mm512_unpacklo_epi16(a1, b1), (__m512bh)_mm512_unpackhi_epi16(a1, b1)};
    for (int m = 0; m < MB; ++m) {
      int32_t xp;
      __builtin_memcpy(&xp, x + m * ldx + k, 4);
      __m512bh xb = (__m512bh)_mm512_set1_epi32(xp);
      for (int j = 0; j < 4; ++j) acc[m][j] = _mm512_dpbf16_ps(acc[m][j], p[j], xb);
    }
  }
  if (last) {
    // acc[.][0] holds columns {0-3, 8-11, 16-19, 24-27} (unpacklo per 128-bit
    // lane), acc[.][1] {4-7, 12-15, 20-23, 28-31}; same for 2/3 at +32.
    const __m512i lo = _mm512_setr_epi32(0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23);
    const __m512i hi = _mm512_setr_epi32(8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31);
    for (int m = 0; m < MB; ++m) {
      float* o = y + m * ldy + n;
      _mm512_storeu_ps(o, _mm512_permutex2var_ps(acc[m][0], lo, acc[m][1]));
      _mm512_storeu_ps(o + 16, _mm512_permutex2var_ps(acc[m][0], hi, acc[m][1]));
      _mm512_storeu_ps(o + 32, _mm512_permutex2var_ps(acc[m][2], lo, acc[m][3]));
      _mm512_storeu_ps(o + 48, _mm512_permutex2var_ps(acc[m][2], hi, acc[m][3]));
    }
  } else {
    for (int m = 0; m < MB; ++m)
      for (int j = 0; j < 4; ++j) _mm512_storeu_ps(y + m * ldy + n + 16 * j, acc[m][j]);
  }
}

void bf16_kn(const uint16_t* x, int64_t ldx, int64_t M, const uint16_t* w, int64_t K, int64_t N, int64_t n0,
             int64_t n1, float* y, int64_t ldy) {
  // Column chunk: partial sums of M x NC floats stay within ~256 KiB (L2).
  int64_t nc = (65536 / (M > 0 ? M : 1)) / 64 * 64;
  if (nc < 64) nc = 64;
  for (int64_t c0 = n0; c0 < n1; c0 += nc) {
    const int64_t c1 = c0 + nc < n1 ? c0 + nc : n1;
    for (int64_t k0 = 0; k0 < K; k0 += kKB) {
      const int64_t k1 = k0 + kKB < K ? k0 + kKB : K;
      const bool first = k0 == 0, last = k1 == K, pf = true;
      for (int64_t n = c0; n < c1; n += 64) {
        int64_t m = 0;
        for (; m + 4 <= M; m += 4) tile64<4>(x + m * ldx, ldx, w, N, k0, k1, n, y + m * ldy, ldy, first, last, pf && m == 0);
        switch (M - m) {
          case 3: tile64<3>(x + m * ldx, ldx, w, N, k0, k1, n, y + m * ldy, ldy, first, last, pf && m == 0); break;
          case 2: tile64<2>(x + m * ldx, ldx, w, N, k0, k1, n, y + m * ldy, ldy, first, last, pf && m == 0); break;
          case 1: tile64<1>(x + m * ldx, ldx, w, N, k0, k1, n, y + m * ldy, ldy, first, last, pf && m == 0); break;
          default: break;
        }
      }
    }
  }
}

}  // namespace

Bf16KnFn bf16_kn_avx512bf16() { return bf16_kn; }

}  // namespace moert_cpu
