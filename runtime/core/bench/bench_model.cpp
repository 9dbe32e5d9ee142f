// The bytes and flops model of one MoE forward, used for the rates of the
// benchmark (docs/bench.md). Counted the way bench/peer_moe.py counts them so
// that moert's and the peers' GB/s are comparable.
#include <cmath>

#include "moert/bench.h"
#include "moert/weight_layout.h"

namespace moert {

double bytes_per_expert(const LayerSpec& layer) {
  double bytes = 0;
  for (const auto& s : weight_tensor_specs(layer)) {
    if (s.field == &WeightSet::score_correction_bias) continue;  // per layer, not per expert
    double per_expert = 1;  // dims after the leading expert dim
    for (size_t i = 1; i < s.shape.size(); ++i) per_expert *= static_cast<double>(s.shape[i]);
    bytes += per_expert * s.dtype.bits / 8.0;
  }
  return bytes;
}

double expected_experts_touched(const LayerSpec& layer, int64_t tokens) {
  const double e = layer.desc.num_experts, k = layer.desc.top_k;
  if (tokens <= 0 || e <= 0) return 0;
  const double touched = e * (1.0 - std::pow(1.0 - k / e, static_cast<double>(tokens)));
  if (layer.expert_map.empty()) return touched;
  // Under an expert map each rank reads only its share of the touched experts.
  return touched * static_cast<double>(local_expert_count(layer)) / layer.num_physical_experts();
}

double moe_flops(const LayerSpec& layer, int64_t tokens) {
  const double h = layer.desc.hidden_size, i = layer.desc.intermediate_size;
  return 2.0 * tokens * layer.desc.top_k * (layer.w13_rows() * h + h * i);
}

}  // namespace moert
