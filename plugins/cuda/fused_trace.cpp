// See fused_trace.h.
#include "fused_trace.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "status_error.h"
#include "../../kernels/cuda/grouped_gemv_bulk.cuh"

namespace moert_cuda {
namespace {
constexpr size_t kMaxBlocks = kFusedTraceMaxBlocks;
constexpr size_t kWords = kFusedTraceHeader + kMaxBlocks * kFusedTraceEvents;
const char* const kEventNames[kFusedTraceEvents] = {
    "start",       "route_begin", "logits",       "scores",       "picked",      "routed",
    "first_slot_1", "phase1_done", "barrier_done", "first_slot_2", "phase2_done", "end"};
}  // namespace

FusedTrace::FusedTrace(std::string what) : what_(std::move(what)) {
  const char* e = std::getenv("MOERT_CUDA_FUSED_TRACE");
  if (!e || !*e) return;
  path_ = e;
  buf_.reset(kWords * sizeof(unsigned long long));
  cuda_ok(cudaMemset(buf_.get(), 0, kWords * sizeof(unsigned long long)), "cudaMemset(fused trace)");
}

FusedTrace::~FusedTrace() {
  if (device()) write_summary();
}

// Per event: the stamps of the blocks that have it, in µs after the first
// block's start: min, 10th percentile, median, 90th percentile, max. Never
// throws (it runs in a destructor); a failed copy writes nothing.
void FusedTrace::write_summary() const {
  std::vector<unsigned long long> h(kWords);
  if (cudaDeviceSynchronize() != cudaSuccess ||
      cudaMemcpy(h.data(), buf_.get(), kWords * sizeof(unsigned long long), cudaMemcpyDeviceToHost) != cudaSuccess) {
    (void)cudaGetLastError();
    return;
  }
  const size_t blocks = std::min<size_t>(kMaxBlocks, h[0] * h[1]);
  if (!blocks) return;  // the fused kernel never ran
  const unsigned long long* s = h.data() + kFusedTraceHeader;
  unsigned long long t0 = ~0ull;
  for (size_t b = 0; b < blocks; ++b)
    if (s[b * kFusedTraceEvents + kTraceStart]) t0 = std::min(t0, s[b * kFusedTraceEvents + kTraceStart]);
  FILE* out = std::fopen(path_.c_str(), "a");
  if (!out) return;
  std::fprintf(out, "# fused one-token kernel, %s, grid %llu x %llu; us after the first start: min p10 p50 p90 max (blocks)\n",
               what_.c_str(), h[0], h[1]);
  for (int e = 0; e < kFusedTraceEvents; ++e) {
    std::vector<double> v;
    for (size_t b = 0; b < blocks; ++b) {
      const unsigned long long t = s[b * kFusedTraceEvents + e];
      if (t >= t0) v.push_back((t - t0) * 1e-3);
    }
    if (v.empty()) continue;
    std::sort(v.begin(), v.end());
    auto at = [&](double q) { return v[std::min(v.size() - 1, static_cast<size_t>(q * (v.size() - 1) + 0.5))]; };
    std::fprintf(out, "%-13s %8.2f %8.2f %8.2f %8.2f %8.2f (%zu)\n", kEventNames[e], v.front(), at(0.1), at(0.5), at(0.9),
                 v.back(), v.size());
  }
  std::fclose(out);
}

}  // namespace moert_cuda
