// Internal helpers shared by the CpuMoe source files (not part of any ABI).
#pragma once

#include <omp.h>

#include <cstdint>
#include <cstring>
#include <exception>

#include "moert/moert_plugin.h"
#include "scalar_convert.h"

namespace moert_cpu {

constexpr moert_dtype kF32{MOERT_DTYPE_FLOAT, 32, 1};
constexpr moert_dtype kBF16{MOERT_DTYPE_BFLOAT, 16, 1};
constexpr moert_dtype kF16{MOERT_DTYPE_FLOAT, 16, 1};
constexpr moert_dtype kI32{MOERT_DTYPE_INT, 32, 1};
constexpr moert_dtype kI64{MOERT_DTYPE_INT, 64, 1};
constexpr moert_dtype kE8M0{MOERT_DTYPE_FLOAT8_E8M0FNU, 8, 1};
constexpr int64_t kTileRows = 128;   // rows of a dequantized tile
constexpr int64_t kSharedChunk = 8;  // tokens per shared-expert pass
constexpr int64_t kGemvRowsMaxBytes = 8 << 20;  // matrices that stay in L3 (32 MiB here) per thread
constexpr int64_t kSplitExpertBytes = 32 << 20;  // experts this big run one at a time, split over threads
constexpr int64_t kOwnerMaxSlots = 64;           // schedule "auto": the owners schedule up to this many slots
constexpr int64_t kOwnerChunkBytes = 4 << 20;    // weight bytes per claimed chunk in the owners schedule

inline bool same(moert_dtype a, moert_dtype b) { return a.code == b.code && a.bits == b.bits; }
inline void* ptr(const moert_tensor& t) { return static_cast<char*>(t.data) + t.byte_offset; }
inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Exceptions must not leave an OpenMP region: the first one is kept and
// rethrown after the region ends.
struct ParallelErrors {
  std::exception_ptr first;
  template <class F> void run(F&& f) {
    try {
      f();
    } catch (...) {
#pragma omp critical(moert_cpu_errors)
      if (!first) first = std::current_exception();
    }
  }
  void rethrow() { if (first) std::rethrow_exception(first); }
};

// Sets the OpenMP thread count (oneDNN's OpenMP runtime follows it) for one
// call and restores the caller's value afterwards.
struct ThreadScope {
  int saved;
  explicit ThreadScope(int n) : saved(omp_get_max_threads()) { if (n > 0) omp_set_num_threads(n); }
  ~ThreadScope() { omp_set_num_threads(saved); }
};

inline void to_f32(const void* src, moert_dtype dt, int64_t n, float* dst) {
  if (same(dt, kF32)) { std::memcpy(dst, src, n * sizeof(float)); return; }
  const uint16_t* s = static_cast<const uint16_t*>(src);
  if (same(dt, kBF16)) {
#pragma omp parallel for schedule(static) if (n > 65536)
    for (int64_t i = 0; i < n; ++i) dst[i] = moert_cpu_bf16_to_f32(s[i]);
  } else {
#pragma omp parallel for schedule(static) if (n > 65536)
    for (int64_t i = 0; i < n; ++i) dst[i] = moert_cpu_f16_to_f32(s[i]);
  }
}

inline void from_f32(const float* src, int64_t n, bool bf16, void* dst) {
  if (!bf16) { std::memcpy(dst, src, n * sizeof(float)); return; }
  uint16_t* d = static_cast<uint16_t*>(dst);
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) d[i] = moert_cpu_f32_to_bf16(src[i]);
}

}  // namespace moert_cpu
