// LayerConfig: a validated, self-contained copy of a moert_layer_desc as the
// core's reference code uses it. ABI 1.1 fields are read only when the
// producer's struct_size carries them (a 1.0 desc gets their defaults).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "moert/moert_plugin.h"

namespace moert {

struct LayerConfig {
  int32_t num_experts = 0;  // E (logical)
  int32_t top_k = 0;
  int64_t hidden_size = 0;        // H
  int64_t intermediate_size = 0;  // I

  int32_t activation = MOERT_ACT_SILU_AND_MUL;
  int32_t gate_up_layout = MOERT_GATE_UP_CONCAT;
  bool has_bias = false;
  float swiglu_alpha = 1.702f;
  float swiglu_limit = 7.0f;

  int32_t routing_method = MOERT_ROUTING_TOPK;
  int32_t scoring = MOERT_SCORING_SOFTMAX;
  bool renormalize = false;
  int32_t num_expert_group = 0;
  int32_t topk_group = 0;
  bool has_score_correction_bias = false;
  float routed_scaling_factor = 1.0f;

  moert_dtype activation_dtype{MOERT_DTYPE_BFLOAT, 16, 1};
  moert_dtype weight_dtype{MOERT_DTYPE_BFLOAT, 16, 1};
  int32_t quant_scheme = MOERT_QUANT_NONE;
  int32_t activation_quant = MOERT_ACT_QUANT_NONE;

  int64_t max_num_tokens = 0;
  int32_t ep_rank = 0;
  int32_t ep_size = 1;
  int32_t num_local_experts = 0;
  int32_t num_redundant_experts = 0;
  std::vector<int32_t> expert_map;  // [num_physical()] global -> local or -1; empty = identity

  moert_custom_routing_fn custom_routing = nullptr;
  void* custom_routing_context = nullptr;

  int32_t num_physical() const { return num_experts + num_redundant_experts; }
  bool gated() const;
  int64_t w13_rows() const { return gated() ? 2 * intermediate_size : intermediate_size; }
  // Local index of physical expert p, or -1.
  int32_t local_index(int32_t physical) const {
    return expert_map.empty() ? physical : expert_map[static_cast<size_t>(physical)];
  }
};

// Copies and validates `desc`. Throws moert::Error (INVALID_ARGUMENT for an
// inconsistent description, UNIMPLEMENTED for a valid one the reference does
// not do) with a message naming the field, the value and what was expected.
LayerConfig layer_config_from_desc(const moert_layer_desc* desc);

// True for the gated activations (w13 holds gate and up: 2I rows).
bool activation_is_gated(int32_t activation);

}  // namespace moert
