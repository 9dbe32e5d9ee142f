// Host routing: scores, top-k, grouped top-k (DeepSeek-V3) and custom routing.
//
// Per token t (docs/semantics.md):
//   scores = softmax(logits[t]) or sigmoid(logits[t]), in f32 on f32 logits;
//   topk:         ids = top_k(scores) (ties -> lower id), w = scores[ids];
//   grouped_topk: biased = scores + e_score_correction_bias (selection only);
//                 group score = sum of the group's top-2 biased scores (with a
//                 bias) or the group's max score (without); keep topk_group
//                 groups; ids = top_k of biased scores inside them;
//                 w = unbiased scores[ids];
//   renormalize:  w /= sum(w);   then always w *= routed_scaling_factor.
//   custom:       the layer's function writes w and ids; only
//                 routed_scaling_factor is applied on top.
// Non-finite logits are rejected (moert::Error naming token and expert).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "moert/layer_config.h"
#include "moert/moert_plugin.h"

namespace moert {

class Router {
 public:
  // Keeps a copy of what it needs; scratch sized by num_experts.
  explicit Router(const LayerConfig& layer);

  // logits: [T, E] f32/bf16/f16 host tensor (borrowed). score_correction_bias:
  // [E] f32 or nullptr. Writes topk_weights [T, top_k] and topk_ids [T, top_k]
  // (global logical ids). Throws moert::Error.
  void route(const moert_tensor& logits, int64_t num_tokens, const float* score_correction_bias,
             float* topk_weights, int32_t* topk_ids);

 private:
  void route_token(const float* logits, int64_t t, const float* bias, float* w, int32_t* ids);
  void route_custom(const moert_tensor& logits, int64_t num_tokens, float* w, int32_t* ids);

  LayerConfig layer_;
  std::vector<float> logits_row_;
  std::vector<float> scores_;
  std::vector<float> biased_;
  std::vector<float> group_scores_;
  std::vector<char> group_kept_;
  std::vector<int32_t> kept_groups_;
};

// What is wrong with a non-finite router logit and where:
// "<name>[token t, expert e] is NaN (router logits must be finite)", name as
// the caller calls the tensor (the router: router_logits; a file reader:
// its path and tensor).
std::string nonfinite_logit_message(const std::string& name, int64_t token, int64_t expert, float value);

// Fills scores[E] from logits[E]: softmax or sigmoid, in f32.
void compute_scores(const float* logits, int32_t num_experts, int32_t scoring, float* scores);

// The k largest of values[n] (ties -> lower index), in descending order.
// `taken` is scratch of n chars. Entries equal to -inf are still selectable.
void top_k_indices(const float* values, int32_t n, int32_t k, int32_t* out, char* taken);

}  // namespace moert
