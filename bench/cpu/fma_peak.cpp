// fma_peak: the AVX2 FMA rate of this machine's cores, from register-only
// loops of C independent accumulator chains (C = 6, 8, 10, 12), on 1 thread
// and on all threads. Why: a kernel's "share of the FMA peak" needs the
// peak, and a loop of too few chains measures the FMA latency instead (on
// Zen 3, 8 chains reach 80% of what 10 do). Built as build/bin/moert-fma-peak
// (bench/cpu/CMakeLists.txt; or by hand: g++ -O2 -mavx2 -mfma -fopenmp
// bench/cpu/fma_peak.cpp -o /tmp/fma_peak), run by hand:
//   OMP_WAIT_POLICY=passive moert-fma-peak [threads]
// Prints, per chain count and thread count, the best of 5 timed passes in
// GFLOP/s (2 flops per FMA lane).
#include <immintrin.h>
#include <omp.h>

#include <cstdio>
#include <cstdlib>
#include <initializer_list>

namespace {

constexpr long kIters = 100000000;

// C chains of FMAs that depend only on themselves; the result is summed and
// returned so the compiler keeps every chain.
template <int C>
float chains() {
  __m256 a[C];
  for (int c = 0; c < C; ++c) a[c] = _mm256_set1_ps(1.0f + 1e-4f * c);
  const __m256 b = _mm256_set1_ps(0.99999f), d = _mm256_set1_ps(1e-7f);
  for (long i = 0; i < kIters; ++i) {
#pragma GCC unroll 16
    for (int c = 0; c < C; ++c) a[c] = _mm256_fmadd_ps(a[c], b, d);
  }
  __m256 s = _mm256_setzero_ps();
  for (int c = 0; c < C; ++c) s = _mm256_add_ps(s, a[c]);
  float t[8];
  _mm256_storeu_ps(t, s);
  return t[0];
}

template <int C>
void measure(int threads) {
  double best = 0;
  float sink = 0;
  for (int pass = 0; pass < 5; ++pass) {
    const double t0 = omp_get_wtime();
    float part = 0;
#pragma omp parallel num_threads(threads) reduction(+ : part)
    part += chains<C>();
    const double dt = omp_get_wtime() - t0;
    sink += part;
    const double gflops = 2.0 * 8 * C * (double)kIters * threads / dt / 1e9;
    if (gflops > best) best = gflops;
  }
  std::printf("%2d chains, %d thread(s): %7.1f GFLOP/s  (checksum %g)\n", C, threads, best, (double)sink);
}

}  // namespace

int main(int argc, char** argv) {
  const int all = argc > 1 ? std::atoi(argv[1]) : omp_get_max_threads();
  if (all < 1) {
    std::fprintf(stderr, "usage: %s [threads >= 1]\n", argv[0]);
    return 2;
  }
  for (int threads : {1, all}) {
    measure<6>(threads);
    measure<8>(threads);
    measure<10>(threads);
    measure<12>(threads);
    if (all == 1) break;
  }
  return 0;
}
