// The "cuda" runner: one MoE layer on one NVIDIA GPU, routing included.
// Owns the repacked weights; a forward only enqueues kernels on the caller's
// stream (no allocation, no host synchronization, graph-capturable).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "moert/moert_plugin.h"

#include "../../kernels/cuda/common.cuh"
#include "../../kernels/cuda/grouped_gemm.cuh"

namespace moert_cuda {

// Empty string when this runner can run `layer`, else the reason.
std::string unsupported_reason(const moert_layer_desc& layer);

// Owning device allocation.
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  ~DeviceBuffer();
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  void reset(size_t bytes);
  void* get() const { return ptr_; }
  template <class U> U* as() const { return static_cast<U*>(ptr_); }

 private:
  void* ptr_ = nullptr;
};

// Byte offsets of the workspace regions for a given max token count.
struct WorkspaceLayout {
  size_t topk_weights, local_ids, raw_ids, offsets, active, active_count, tile_expert, tile_row0, tile_count,
      sorted_slot, sort_counts, combine_tickets, xq, xs, inter, y, shared, shared_bytes, total;
};

class FusedTrace;

class CudaRunner {
 public:
  CudaRunner(const moert_layer_desc& layer, int32_t device_id);
  ~CudaRunner();
  size_t workspace_size(int64_t max_tokens) const { return layout(max_tokens).total; }
  void set_weights(const moert_expert_weights& w);
  void forward(const moert_forward_args& args);

 private:
  WorkspaceLayout layout(int64_t max_tokens) const;
  template <class T> void forward_typed(const moert_forward_args& args, int64_t tokens);
  // Bytes of one weight row of K elements in this layer's format (bf16/f16,
  // fp8, or MXFP4's packed nibbles; scales are stored apart).
  size_t weight_row_bytes(int64_t k) const {
    return wf_ == WeightFormat::kDense ? 2 * k : wf_ == WeightFormat::kFp8 ? k : k / 2;
  }

  moert_layer_desc d_;
  int32_t device_;
  bool gated_;
  int64_t rows13_;  // 2I or I
  WeightFormat wf_ = WeightFormat::kDense;
  int32_t scale_kb13_ = 1, scale_kb2_ = 1;
  bool weights_set_ = false;
  bool bf16_;
  double decode_rows_ = 1.5;   // option cuda.decode_rows_per_expert
  int forced_tile_rows_ = 0;   // option cuda.mma_tile_rows (0 = auto)
  int mma_bk_ = 64;            // option cuda.mma_bk (dense weights; quantized use 32)
  bool fused_decode_ = true;   // option cuda.fused_decode (auto | off)
  enum class FusedGemv { kAuto, kOn, kOff };
  FusedGemv fused_gemv_ = FusedGemv::kAuto;  // option cuda.fused_gemv (auto | on | off)
  bool l2_prefetch_ = true;    // option cuda.l2_prefetch (auto | off)
  bool wgmma_l2_hints_ = false;  // option cuda.wgmma_l2_hints (off | on)
  WgEpilogue wgmma_epilogue_ = WgEpilogue::kAuto;  // option cuda.wgmma_epilogue (auto | staged | direct)
  GemvTuning gemv_;            // options cuda.gemv_kernel, cuda.gemv_pairs_per_warp
  std::unique_ptr<FusedTrace> trace_;  // diagnostics: MOERT_CUDA_FUSED_TRACE (fused_trace.h)
  DeviceBuffer w13_, w2_, s13_, s2_, mx13_, mx2_, b13_, b2_, corr_bias_, expert_map_;
};

}  // namespace moert_cuda
