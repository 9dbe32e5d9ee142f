// Routing: router logits -> top-k expert ids and weights, per token, with the
// semantics of the core's reference (softmax/sigmoid scoring in f32, top-k
// with ties to the lower id, DeepSeek grouped top-k with a selection-only
// bias, renormalize, routed scaling). A plugin cannot link moert_core, so this
// is the plugin's own compact copy.
#pragma once

#include <cstdint>

namespace moert_cpu {

struct RoutingParams {
  int32_t num_experts;
  int32_t top_k;
  int32_t grouped;           // 1: grouped top-k
  int32_t sigmoid;           // 1: sigmoid scoring, 0: softmax
  int32_t renormalize;
  int32_t num_expert_group;
  int32_t topk_group;
  float routed_scaling_factor;
  const float* correction_bias;  // [E] or NULL (grouped top-k only)
};

// logits [T, E] f32 -> ids [T, top_k], weights [T, top_k].
// scratch: at least routing_scratch_floats(params) floats, for one token.
void route_tokens(const RoutingParams& p, const float* logits, int64_t T, int32_t* ids,
                  float* weights, float* scratch);
int64_t routing_scratch_floats(const RoutingParams& p);

}  // namespace moert_cpu
