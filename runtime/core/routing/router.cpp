// Router: top-k, grouped top-k and custom routing on the host.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "moert/error.h"
#include "moert/host_tensor.h"
#include "moert/moert_plugin.hpp"
#include "moert/quant.h"
#include "moert/routing.h"

namespace moert {

std::string nonfinite_logit_message(const std::string& name, int64_t token, int64_t expert, float value) {
  return name + "[token " + std::to_string(token) + ", expert " + std::to_string(expert) + "] is " +
         (std::isnan(value) ? "NaN" : "Inf") + " (router logits must be finite)";
}

Router::Router(const LayerConfig& layer)
    : layer_(layer),
      logits_row_(static_cast<size_t>(layer.num_experts)),
      scores_(static_cast<size_t>(layer.num_experts)),
      biased_(static_cast<size_t>(layer.num_experts)),
      group_scores_(static_cast<size_t>(std::max(layer.num_expert_group, 1))),
      group_kept_(static_cast<size_t>(std::max<int32_t>(layer.num_experts, layer.num_expert_group))),
      kept_groups_(static_cast<size_t>(std::max(layer.topk_group, 1))) {}

void Router::route(const moert_tensor& logits, int64_t T, const float* bias, float* w, int32_t* ids) {
  const int32_t E = layer_.num_experts;
  const int32_t K = layer_.top_k;
  if (layer_.routing_method == MOERT_ROUTING_CUSTOM) {
    route_custom(logits, T, w, ids);
  } else {
    const void* base = plugin::data_ptr(logits);
    for (int64_t t = 0; t < T; ++t) {
      float* row = logits_row_.data();
      for (int32_t e = 0; e < E; ++e) {
        row[e] = load_as_f32(base, logits.dtype, t * E + e);
        if (!std::isfinite(row[e]))
          throw Error(MOERT_STATUS_INVALID_ARGUMENT, nonfinite_logit_message("router_logits", t, e, row[e]));
      }
      route_token(row, t, bias, w + t * K, ids + t * K);
    }
  }
  if (layer_.routed_scaling_factor != 1.0f)
    for (int64_t i = 0; i < T * K; ++i) w[i] *= layer_.routed_scaling_factor;
}

void Router::route_token(const float* logits, int64_t /*t*/, const float* bias, float* w, int32_t* ids) {
  const int32_t E = layer_.num_experts;
  const int32_t K = layer_.top_k;
  float* scores = scores_.data();
  compute_scores(logits, E, layer_.scoring, scores);

  if (layer_.routing_method == MOERT_ROUTING_TOPK) {
    top_k_indices(scores, E, K, ids, group_kept_.data());
  } else {
    // Grouped top-k (DeepSeek-V3): the bias steers selection only.
    const int32_t G = layer_.num_expert_group;
    const int32_t per_group = E / G;
    float* biased = biased_.data();
    for (int32_t e = 0; e < E; ++e) biased[e] = bias ? scores[e] + bias[e] : scores[e];
    for (int32_t g = 0; g < G; ++g) {
      const float* v = biased + g * per_group;
      if (bias) {
        // Sum of the group's two largest biased scores (one when the group has one expert).
        float a = -std::numeric_limits<float>::infinity(), b = a;
        for (int32_t i = 0; i < per_group; ++i) {
          if (v[i] > a) {
            b = a;
            a = v[i];
          } else if (v[i] > b) {
            b = v[i];
          }
        }
        group_scores_[static_cast<size_t>(g)] = per_group >= 2 ? a + b : a;
      } else {
        float a = v[0];
        for (int32_t i = 1; i < per_group; ++i) a = std::fmax(a, v[i]);
        group_scores_[static_cast<size_t>(g)] = a;
      }
    }
    // Keep the topk_group best groups; mask the others out of the selection.
    int32_t* kept = kept_groups_.data();
    top_k_indices(group_scores_.data(), G, layer_.topk_group, kept, group_kept_.data());
    for (int32_t e = 0; e < E; ++e) logits_row_[static_cast<size_t>(e)] = -std::numeric_limits<float>::infinity();
    float* masked = logits_row_.data();  // the logits are consumed: reuse the row as scratch
    for (int32_t j = 0; j < layer_.topk_group; ++j) {
      const int32_t g = kept[j];
      for (int32_t i = 0; i < per_group; ++i) masked[g * per_group + i] = biased[g * per_group + i];
    }
    top_k_indices(masked, E, K, ids, group_kept_.data());
  }
  double sum = 0.0;
  for (int32_t k = 0; k < K; ++k) {
    w[k] = scores[ids[k]];
    sum += w[k];
  }
  if (layer_.renormalize) {
    const float inv = static_cast<float>(1.0 / sum);
    for (int32_t k = 0; k < K; ++k) w[k] *= inv;
  }
}

void Router::route_custom(const moert_tensor& logits, int64_t T, float* w, int32_t* ids) {
  const int32_t K = layer_.top_k;
  int64_t out_shape[2] = {T, K};
  moert_tensor tw{};
  tw.data = w;
  tw.device = logits.device;
  tw.ndim = 2;
  tw.dtype = kF32;
  tw.shape = out_shape;
  moert_tensor ti = tw;
  ti.data = ids;
  ti.dtype = kI32;
  // Poison so that a function that forgets to write is caught below.
  for (int64_t i = 0; i < T * K; ++i) {
    w[i] = std::numeric_limits<float>::quiet_NaN();
    ids[i] = -1;
  }
  moert_error* err = layer_.custom_routing(layer_.custom_routing_context, &logits, K, &tw, &ti, nullptr);
  if (err != nullptr) {
    // The error object belongs to the function's author (moert_plugin.h):
    // opaque here, neither read nor freed.
    throw Error(MOERT_STATUS_INVALID_ARGUMENT,
                "custom routing function failed (its error object stays with the function's owner)");
  }
  for (int64_t t = 0; t < T; ++t)
    for (int32_t k = 0; k < K; ++k) {
      const int32_t id = ids[t * K + k];
      const float wt = w[t * K + k];
      if (id < 0 || id >= layer_.num_experts)
        throw Error(MOERT_STATUS_INVALID_ARGUMENT,
                    "custom routing wrote topk_ids[token " + std::to_string(t) + ", slot " + std::to_string(k) +
                        "]=" + std::to_string(id) + ", outside [0, num_experts=" +
                        std::to_string(layer_.num_experts) + ")");
      if (!std::isfinite(wt))
        throw Error(MOERT_STATUS_INVALID_ARGUMENT,
                    "custom routing wrote a non-finite topk_weights[token " + std::to_string(t) + ", slot " +
                        std::to_string(k) + "]");
    }
}

}  // namespace moert
