// read_bw: which read technique gets the most bandwidth per core on this
// machine. Built as build/bin/moert-read-bw (bench/cpu/CMakeLists.txt; or
// by hand: g++ -O2 -mavx2 -mfma -fopenmp bench/cpu/read_bw.cpp -o /tmp/read_bw):
//   OMP_WAIT_POLICY=passive moert-read-bw [rounds] [name filter]
// Every round times one pass of the copy loop (1 GiB memcpy over the
// threads, (read + write) bytes / time, as moert-cpu-bench) and then one pass
// of each read variant over the same 1 GiB source (bytes read / time), in an
// order rotated per round; the copy pass classifies the round as the copy
// loop's normal (< 52 GB/s) or fast (>= 56 GB/s) phase. Per variant and
// phase it prints the median GB/s and the median ratio to the round's
// baseline (one stream, no software prefetch). Buffers are 2 MiB aligned and
// advised for huge pages like the plugin's weights.
#include <immintrin.h>
#include <omp.h>
#include <sys/mman.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

constexpr size_t kBytes = size_t(1) << 30;
char *src, *dst;

char* huge(size_t bytes) {
  void* m = mmap(nullptr, bytes + (2 << 20), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) { std::perror("mmap"); std::exit(1); }
  char* p = reinterpret_cast<char*>((reinterpret_cast<uintptr_t>(m) + (2 << 20) - 1) & ~uintptr_t((2 << 20) - 1));
  madvise(p, bytes, MADV_HUGEPAGE);
  return p;
}

enum Hint { kNone, kT0, kT1, kT2, kNTA };

// S interleaved streams over [p, p + n): stream s covers [p + s n / S, ...),
// and the loop visits block b of every stream before block b + 1, blocks of
// B bytes. L 32-byte loads per inner trip (independent accumulators, xor).
// Software prefetch: PFL lines per 64 bytes (1: every line, 2: the line and
// the one after, i.e. two lines per 64 B step) at D bytes ahead in the same
// stream.
template <int S, int L, Hint H, size_t SKEW = 0>
__m256i read_streams(const char* p, size_t n, size_t B, size_t D) {
  __m256i acc[L];
  for (int l = 0; l < L; ++l) acc[l] = _mm256_setzero_si256();
  // SKEW: stream s starts s * SKEW bytes later (its range shortened), so
  // that the streams do not sit at the same offset mod a large power of 2.
  // (The bytes skipped, at most 0.2% of a pass, are still counted.)
  const size_t per = n / S - (S - 1) * SKEW;
  for (size_t off = 0; off < per; off += B) {
    const size_t bb = per - off < B ? per - off : B;
    for (int s = 0; s < S; ++s) {
      const char* q = p + s * (n / S + SKEW) + off;
      for (size_t i = 0; i < bb; i += 32 * L) {
        if (H != kNone) {
          for (size_t j = 0; j < size_t(32 * L); j += 64) {
            const char* a = q + i + j + D;
            if (H == kT0) _mm_prefetch(a, _MM_HINT_T0);
            if (H == kT1) _mm_prefetch(a, _MM_HINT_T1);
            if (H == kT2) _mm_prefetch(a, _MM_HINT_T2);
            if (H == kNTA) _mm_prefetch(a, _MM_HINT_NTA);
          }
        }
#pragma GCC unroll 16
        for (int l = 0; l < L; ++l)
          acc[l] = _mm256_xor_si256(acc[l], _mm256_load_si256(reinterpret_cast<const __m256i*>(q + i + 32 * l)));
      }
    }
  }
  for (int l = 1; l < L; ++l) acc[0] = _mm256_xor_si256(acc[0], acc[l]);
  return acc[0];
}

// The bench's read loop (uint64 sum, 4 accumulators).
uint64_t read_u64(const char* p, size_t n) {
  const uint64_t* q = reinterpret_cast<const uint64_t*>(p);
  uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  for (size_t j = 0; j + 4 <= n / 8; j += 4) { s0 += q[j]; s1 += q[j + 1]; s2 += q[j + 2]; s3 += q[j + 3]; }
  return s0 + s1 + s2 + s3;
}

volatile uint64_t sink;

struct Variant {
  std::string name;
  __m256i (*fn)(const char*, size_t, size_t, size_t);
  size_t B, D;
  bool u64 = false;
  double bytes = kBytes;
};

double run_pass(const Variant& v) {
  const double t0 = now();
#pragma omp parallel
  {
    const size_t nt = omp_get_num_threads(), i = omp_get_thread_num(), c = kBytes / nt;
    if (v.u64) {
      uint64_t s = read_u64(src + i * c, c);
      if (s == 42) sink = s;
    } else {
      __m256i a = v.fn(src + i * c, c, v.B, v.D);
      if (_mm256_extract_epi64(a, 0) == 42) sink = 1;
    }
  }
  return v.bytes / (now() - t0) * 1e-9;
}

double copy_pass() {
  const double t0 = now();
#pragma omp parallel
  {
    const size_t nt = omp_get_num_threads(), i = omp_get_thread_num(), c = kBytes / nt;
    std::memcpy(dst + i * c, src + i * c, c);
  }
  return 2.0 * kBytes / (now() - t0) * 1e-9;
}

}  // namespace

int main(int argc, char** argv) {
  const int rounds = argc > 1 ? std::atoi(argv[1]) : 40;
  const char* only = argc > 2 ? argv[2] : nullptr;  // substring filter of variant names
  src = huge(kBytes);
  dst = huge(kBytes);
  std::memset(src, 1, kBytes);
  std::memset(dst, 2, kBytes);
  for (size_t i = 0; i < kBytes; i += 4096) src[i] = char(i >> 12);
  std::vector<Variant> vs;
  auto add = [&](std::string n, __m256i (*f)(const char*, size_t, size_t, size_t), size_t B, size_t D) {
    if (!only || n.find(only) != std::string::npos || n == "s1") vs.push_back({n, f, B, D});
  };
  add("s1", read_streams<1, 8, kNone>, 1 << 20, 0);  // baseline: first
  if (!only || std::string("u64").find(only) != std::string::npos) vs.push_back({"u64 (bench read loop)", nullptr, 0, 0, true});
  add("s1 L2", read_streams<1, 2, kNone>, 1 << 20, 0);
  add("s1 L16", read_streams<1, 16, kNone>, 1 << 20, 0);
  add("s2 b512", read_streams<2, 8, kNone>, 512, 0);
  add("s2 b1K", read_streams<2, 8, kNone>, 1024, 0);
  add("s2 b2K", read_streams<2, 8, kNone>, 2048, 0);
  add("s2 b4K", read_streams<2, 8, kNone>, 4096, 0);
  add("s2 b8K", read_streams<2, 8, kNone>, 8192, 0);
  add("s2 b2K skew64K", read_streams<2, 8, kNone, 65536 + 4096>, 2048, 0);
  add("s2 b8K skew64K", read_streams<2, 8, kNone, 65536 + 4096>, 8192, 0);
  add("s3 b2K", read_streams<3, 8, kNone>, 2048, 0);
  add("s4 b1K", read_streams<4, 8, kNone>, 1024, 0);
  add("s4 b2K", read_streams<4, 8, kNone>, 2048, 0);
  add("s4 b2K skew64K", read_streams<4, 8, kNone, 65536 + 4096>, 2048, 0);
  add("s4 b1K skew64K", read_streams<4, 8, kNone, 65536 + 4096>, 1024, 0);
  for (size_t d : {512, 2048, 8192, 32768}) {
    const std::string ds = std::to_string(d);
    add("s1 nta " + ds, read_streams<1, 8, kNTA>, 1 << 20, d);
    add("s1 t0 " + ds, read_streams<1, 8, kT0>, 1 << 20, d);
    add("s2 b2K nta " + ds, read_streams<2, 8, kNTA>, 2048, d);
  }
  add("s1 t1 2048", read_streams<1, 8, kT1>, 1 << 20, 2048);
  add("s1 t2 2048", read_streams<1, 8, kT2>, 1 << 20, 2048);
  add("s2 b2K t0 2048", read_streams<2, 8, kT0>, 2048, 2048);
  const size_t nv = vs.size();
  std::vector<std::vector<double>> gb[2], rel[2];
  for (int ph = 0; ph < 2; ++ph) gb[ph].resize(nv + 1), rel[ph].resize(nv + 1);
  run_pass(vs[0]);
  copy_pass();
  std::vector<double> copies;
  for (int r = 0; r < rounds; ++r) {
    const double c0 = copy_pass();
    std::vector<double> g(nv);
    for (size_t j = 0; j < nv; ++j) {
      const size_t v = (j + r) % nv;
      g[v] = run_pass(vs[v]);
    }
    const double c1 = copy_pass();
    const double c = 0.5 * (c0 + c1);
    copies.push_back(c);
    const int ph = c >= 56 ? 1 : c < 52 ? 0 : -1;
    std::fprintf(stderr, "round %d copy %.1f %.1f s1 %.1f\n", r, c0, c1, g[0]);
    if (ph < 0) continue;
    gb[ph][nv].push_back(c);
    for (size_t v = 0; v < nv; ++v) {
      gb[ph][v].push_back(g[v]);
      rel[ph][v].push_back(g[v] / g[0]);
    }
  }
  std::printf("rounds: normal %zu (copy median %.1f GB/s), fast %zu (copy median %.1f)\n", gb[0][nv].size(),
              median(gb[0][nv]), gb[1][nv].size(), median(gb[1][nv]));
  std::printf("%-24s %14s %14s\n", "variant", "normal GB/s,x", "fast GB/s,x");
  for (size_t v = 0; v < nv; ++v)
    std::printf("%-24s %6.1f %6.3f  %6.1f %6.3f\n", vs[v].name.c_str(), median(gb[0][v]), median(rel[0][v]),
                median(gb[1][v]), median(rel[1][v]));
}
