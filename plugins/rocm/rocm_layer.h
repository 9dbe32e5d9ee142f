// What the rocm plugin accepts of a moert_layer_desc, and the validated
// copy of it that runners and experts keep.
#pragma once

#include <string>
#include <vector>

#include "moert/moert_plugin.h"

namespace moert_rocm {

// How w13/w2 and their scales arrive in set_weights (layer option "weight_layout").
enum class WeightLayout {
  kCheckpoint,     // ABI layout [E, R, H] fp4 + [E, R, H/32] e8m0; shuffled in set_weights
  kAiterShuffled,  // shuffle_weight(16,16) + e8m0_shuffle, rows per gate_up_layout
  kAiterA16W4      // as kAiterShuffled, w13 rows in aiter's a16w4 16-row gate/up blocks
};
const char* weight_layout_name(WeightLayout l);

struct LayerConfig {
  int32_t num_experts = 0, top_k = 0, num_local = 0;
  int64_t H = 0, I = 0, max_tokens = 0;
  int32_t activation = 0, row_mode = 0, has_bias = 0;
  float alpha = 1.702f, limit = 7.0f;
  int32_t sigmoid = 0, renormalize = 0;
  float scaling = 1.0f;
  int32_t fp8_tokens = 0;  // a8w4: activation_quant fp8_per_token
  WeightLayout layout = WeightLayout::kCheckpoint;
  std::vector<int32_t> expert_map;  // empty: identity
};

// "" when the plugin implements `layer`, else the reason (for can_implement).
// On success fills *out when out is not NULL.
std::string check_layer(const moert_layer_desc* layer, LayerConfig* out);

}  // namespace moert_rocm
