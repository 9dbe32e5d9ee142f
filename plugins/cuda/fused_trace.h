// Diagnostics of the fused one-token kernel: with MOERT_CUDA_FUSED_TRACE=path
// in the environment, a runner keeps a device buffer of time stamps that the
// kernel fills (kernels/cuda/grouped_gemv_bulk.cuh, FusedTraceEvent) and, when
// it is destroyed, appends to `path` the last forward's stamps summarized
// over blocks. Why: at one token the layer's time beyond the byte floor is
// fixed costs (routing, the ring's first fill, the grid barrier, the tails
// of both phases, the combine), and this tells which. Off (no buffer, a
// null pointer to the kernel) without the variable.
#pragma once

#include <string>

#include "cuda_runner.h"

namespace moert_cuda {

class FusedTrace {
 public:
  // Reads the variable; allocates the buffer when it is set. `what`: the
  // layer, for the summary's header line.
  explicit FusedTrace(std::string what);
  ~FusedTrace();
  FusedTrace(const FusedTrace&) = delete;
  FusedTrace& operator=(const FusedTrace&) = delete;
  // The buffer for DecodeFusion::trace, or null when off.
  unsigned long long* device() const { return buf_.as<unsigned long long>(); }

 private:
  void write_summary() const;
  std::string path_, what_;
  DeviceBuffer buf_;
};

}  // namespace moert_cuda
