// MoeLayer: one MXFP4 MoE layer on one GPU -- the weights it owns (in
// aiter's shuffled layouts), the workspace plan, and the forward pipeline
// routing -> [fp8 quant] -> align -> GEMM1 -> activation -> GEMM2 -> combine.
// Shared by the "rocm" runner and the "rocm" experts kernel.
#pragma once

#include <cstdint>
#include <string>

#include "hip_portability.h"
#include "moert/moert_plugin.hpp"
#include "rocm_layer.h"

namespace moert_rocm {

// The device type this build drives (ROCm, or CUDA for the HIP-on-NVIDIA build).
int32_t plugin_device_type();

// Turns a failed runtime call into an error naming the call; NULL on success.
moert_error* gpu_error(hipError_t e, const char* what);

class MoeLayer {
 public:
  MoeLayer(const LayerConfig& cfg, int32_t device_id);
  ~MoeLayer();
  MoeLayer(const MoeLayer&) = delete;
  MoeLayer& operator=(const MoeLayer&) = delete;

  moert_error* init();  // uploads the expert map; called once after construction
  size_t workspace_bytes(int64_t max_tokens) const;
  // Weights borrowed for the call, host or device; blocking.
  moert_error* set_weights(const moert_expert_weights* w);
  moert_error* forward(const moert_forward_args* a);      // the runner
  moert_error* apply(const moert_experts_args* a);        // the experts kernel

 private:
  struct Work;  // device pointers carved out of the workspace
  moert_error* check_workspace(const moert_tensor& ws, int64_t T, Work* out) const;
  moert_error* run_experts(int64_t T, int32_t a_kind, const void* x, const float* x_scale,
                           const int32_t* topk_ids, const float* topk_w, const int32_t* map, int64_t map_len,
                           uint16_t* out, const Work& w, hipStream_t s) const;

  LayerConfig cfg_;
  int32_t device_;
  int sm_count_ = 100;
  bool has_weights_ = false;
  int32_t* d_map_ = nullptr;  // [num_experts] global -> local, or NULL (identity)
  uint8_t* d_mask_ = nullptr; // aiter's 0/1 mask, derived from the map (kept for aiter-shaped callers)
  uint8_t *d_w13_ = nullptr, *d_w2_ = nullptr, *d_s13_ = nullptr, *d_s2_ = nullptr;
  float *d_b13_ = nullptr, *d_b2_ = nullptr;
};

}  // namespace moert_rocm
