// panel_ab: two builds of the panel16 kernel (kernels/cpu/bf16_panel_avx2.cpp)
// A/B in one process, each thread on its own mixtral w13 (N 28672, K 4096,
// 235 MB, huge pages), M rows of x, the builds alternated per round next to
// a copy-loop pass that classifies the round as the copy loop's normal
// (< 52 GB/s) or fast (>= 56 GB/s) phase. Standalone (not built by CMake):
//   g++ -O3 -mavx2 -mfma -mf16c -Ikernels/cpu -Dmoert_cpu=k_a -c OLD/bf16_panel_avx2.cpp -o /tmp/a.o
//   g++ -O3 -mavx2 -mfma -mf16c -Ikernels/cpu -Dmoert_cpu=k_b -c kernels/cpu/bf16_panel_avx2.cpp -o /tmp/b.o
//   g++ -O2 -fopenmp bench/cpu/panel_ab.cpp /tmp/a.o /tmp/b.o -o /tmp/panel_ab
//   OMP_WAIT_POLICY=passive OMP_NUM_THREADS=2 /tmp/panel_ab [rounds] [M list, e.g. 1,2,3,4]
// (-O3 as in the plugin: copies of the loop built with -O2 measured
// differently at M >= 3.)
#include <omp.h>
#include <sys/mman.h>
#include <algorithm>
#include <cmath>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>
typedef void (*Fn)(const float*, int64_t, int64_t, const uint16_t*, int64_t, int64_t, int64_t, int64_t, float*, int64_t);
namespace k_a { Fn bf16_panel_gemm_avx2(); }
namespace k_b { Fn bf16_panel_gemm_avx2(); }
constexpr int kBuilds = 2;
double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }
double median(std::vector<double> v) { if (v.empty()) return 0; std::sort(v.begin(), v.end()); size_t n=v.size(); return n%2? v[n/2] : 0.5*(v[n/2-1]+v[n/2]); }
int main(int argc, char** argv) {
  const int rounds = argc > 1 ? atoi(argv[1]) : 20;
  std::vector<int> Ms; for (const char* s = argc > 2 ? argv[2] : "1,2,3,4,5,6,8"; *s; ) { Ms.push_back(atoi(s)); while (*s && *s != ',') ++s; if (*s) ++s; }
  const int64_t N = 28672, K = 4096, P = N / 16; const size_t wb = N * K * 2;
  uint16_t* W[2]; float* X[2]; float* Y[2];
  for (int t = 0; t < 2; ++t) {
    void* m = mmap(nullptr, wb + (4 << 20), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char* p = (char*)(((uintptr_t)m + (2 << 20) - 1) & ~uintptr_t((2 << 20) - 1)); madvise(p, wb, MADV_HUGEPAGE);
    W[t] = (uint16_t*)p; for (size_t i = 0; i < wb / 2; ++i) W[t][i] = 0x3c00 + (i * 7919 % 255);
    X[t] = (float*)aligned_alloc(64, 8 * K * 4); Y[t] = (float*)aligned_alloc(64, 8 * N * 4);
    for (int64_t i = 0; i < 8 * K; ++i) X[t][i] = (i % 13) * 0.01f;
  }
  char* ca = (char*)mmap(nullptr, 1 << 30, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  char* cb = (char*)mmap(nullptr, 1 << 30, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  madvise(ca, 1 << 30, MADV_HUGEPAGE); madvise(cb, 1 << 30, MADV_HUGEPAGE); memset(ca, 1, 1 << 30); memset(cb, 2, 1 << 30);
  auto copy = [&]() { double t0 = now();
#pragma omp parallel
    { size_t i = omp_get_thread_num(), c = (1 << 30) / 2; memcpy(cb + i * c, ca + i * c, c); }
    return 2.0 * (1 << 30) / (now() - t0) * 1e-9; };
  Fn fs[kBuilds] = {k_a::bf16_panel_gemm_avx2(), k_b::bf16_panel_gemm_avx2()};
  const char* names[kBuilds] = {"a", "b"};
  { std::vector<float> r(8 * N), g(8 * N);  // same results up to rounding
    for (int M : Ms) { fs[0](X[0], K, M, W[0], K, N, 0, 64, r.data(), N);
      for (int v = 1; v < kBuilds; ++v) { fs[v](X[0], K, M, W[0], K, N, 0, 64, g.data(), N); double e = 0;
        for (int m = 0; m < M; ++m) for (int n = 0; n < 1024; ++n) e = std::max(e, (double)std::abs(g[m*N+n]-r[m*N+n]) / (std::abs(r[m*N+n]) + 1e-3));
        if (e > 1e-4) printf("MISMATCH M=%d v%d %g\n", M, v, e); } } }
  std::vector<double> g[2][16][kBuilds], cp[2];
  for (int r = 0; r < rounds; ++r) {
    double c0 = copy(), res[16][kBuilds];
    for (size_t mi = 0; mi < Ms.size(); ++mi) for (int j = 0; j < kBuilds; ++j) { int v = (j + r) % kBuilds; double t0 = now();
#pragma omp parallel
      { int t = omp_get_thread_num(); fs[v](X[t], K, Ms[mi], W[t], K, N, 0, P, Y[t], N); }
      res[mi][v] = 2.0 * wb / (now() - t0) * 1e-9; }
    double c = 0.5 * (c0 + copy()); int ph = c >= 56 ? 1 : c < 52 ? 0 : -1;
    fprintf(stderr, "round %d copy %.1f\n", r, c); if (ph < 0) continue; cp[ph].push_back(c);
    for (size_t mi = 0; mi < Ms.size(); ++mi) for (int v = 0; v < kBuilds; ++v) g[ph][mi][v].push_back(res[mi][v]);
  }
  printf("rounds: normal %zu (copy %.1f GB/s), fast %zu (copy %.1f); GB/s of weights, both threads\n", cp[0].size(), median(cp[0]), cp[1].size(), median(cp[1]));
  for (size_t mi = 0; mi < Ms.size(); ++mi) for (int v = 0; v < kBuilds; ++v)
    printf("M=%d %-2s normal %5.1f  fast %5.1f\n", Ms[mi], names[v], median(g[0][mi][v]), median(g[1][mi][v]));
}
