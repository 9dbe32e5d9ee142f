// Router-logit simulator for benchmarks: logits whose top-k selection is
// uniformly random over the experts, or skewed toward popular experts.
//
// Method (Gumbel top-k): logit[t, e] = log_popularity[e] + Gumbel(0, 1) noise.
// The top-k of such logits is an exact sample of k experts without
// replacement with probabilities proportional to popularity, so
//   uniform: log_popularity = 0 for all experts;
//   skewed:  log_popularity[e] ~ Normal(0, skew^2), drawn once per seed
//            (log-normal popularity: a few hot experts, a long cold tail).
// Selection is exact for softmax or sigmoid top-k (both monotonic in the
// logit); grouped top-k and score-correction biases reshape it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "moert/host_tensor.h"
#include "moert/layer_spec.h"

namespace moert {

enum class RoutingDistribution { kUniform, kSkewed };

// "uniform" | "skewed" (alias "normal"); throws moert::Error otherwise.
RoutingDistribution routing_distribution_from_name(const std::string& name);
const char* routing_distribution_name(RoutingDistribution d);

struct RoutingSimOptions {
  RoutingDistribution distribution = RoutingDistribution::kUniform;
  double skew = 1.0;  // sigma of the log-popularity (skewed only)
  uint64_t seed = 0;
};

// log-popularity per expert [E] (zeros for uniform).
std::vector<double> simulated_log_popularity(int32_t num_experts, const RoutingSimOptions& options);

// Router logits [tokens, num_experts] f32.
HostTensor simulate_router_logits(const LayerSpec& layer, int64_t tokens,
                                  const RoutingSimOptions& options);

// Tokens routed to each expert [E] by plain top-k over the logits (ties to the
// lower id, as the reference does). logits: [T, E] f32 on the host.
std::vector<int64_t> topk_expert_counts(const HostTensor& logits, int32_t top_k);

}  // namespace moert
