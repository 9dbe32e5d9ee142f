// ReferenceLayer: the whole MoE layer on the host (router -> EPLB ->
// prepare -> experts -> weight-and-reduce -> shared expert). This is what the
// core's built-in runner "default" runs; every plugin is checked against it.
#pragma once

#include <cstdint>
#include <vector>

#include "moert/layer_config.h"
#include "moert/moert_plugin.h"
#include "moert/reference.h"
#include "moert/routing.h"

namespace moert {

class ReferenceLayer {
 public:
  // Scratch is sized for layer.max_num_tokens here, so forward() does not
  // allocate (except once for a shared expert larger than any before).
  explicit ReferenceLayer(const LayerConfig& layer);
  const LayerConfig& layer() const { return layer_; }
  void set_weights(const moert_expert_weights& w) { experts_.set_weights(w); }
  // Validates every tensor of args (host memory), then writes args.output.
  // Throws moert::Error.
  void forward(const moert_forward_args& args);

 private:
  LayerConfig layer_;
  Router router_;
  ReferenceExperts experts_;
  std::vector<float> x_, acc_, topk_weights_;
  std::vector<int32_t> logical_ids_, physical_ids_;
  std::vector<float> shared_scratch_;
};

// Validates hidden_states / router_logits / output of a forward and returns T.
// Messages look like "hidden_states shape [3, 64] does not match
// [T, hidden_size=128]". device_type: the memory the tensors must live in
// (MOERT_DEVICE_CPU also accepts CUDA_HOST / ROCM_HOST).
int64_t validate_forward_tensors(const LayerConfig& layer, const moert_forward_args& args,
                                 int32_t device_type = MOERT_DEVICE_CPU);

}  // namespace moert
