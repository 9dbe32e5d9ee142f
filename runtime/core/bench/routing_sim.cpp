// Router-logit simulator (Gumbel top-k), see routing_sim.h for the method.
#include "moert/routing_sim.h"

#include <algorithm>
#include <numeric>

#include "moert/error.h"
#include "synthetic/rng.h"

namespace moert {

namespace {
constexpr uint64_t kPopularityStream = 0x200;
constexpr uint64_t kNoiseStream = 0x201;
}  // namespace

RoutingDistribution routing_distribution_from_name(const std::string& name) {
  if (name == "uniform") return RoutingDistribution::kUniform;
  if (name == "skewed" || name == "normal") return RoutingDistribution::kSkewed;
  throw Error("unknown routing distribution '" + name + "' (expected one of: uniform, skewed, normal)");
}

const char* routing_distribution_name(RoutingDistribution d) {
  return d == RoutingDistribution::kUniform ? "uniform" : "skewed";
}

std::vector<double> simulated_log_popularity(int32_t num_experts, const RoutingSimOptions& options) {
  if (num_experts <= 0) throw Error("routing simulator: num_experts must be positive, got " + std::to_string(num_experts));
  std::vector<double> pop(static_cast<size_t>(num_experts), 0.0);
  if (options.distribution == RoutingDistribution::kSkewed) {
    if (!(options.skew >= 0.0)) throw Error("routing simulator: skew must be >= 0, got " + std::to_string(options.skew));
    synthetic::Rng rng(options.seed, kPopularityStream);
    for (auto& p : pop) p = options.skew * rng.normal();
  }
  return pop;
}

HostTensor simulate_router_logits(const LayerSpec& layer, int64_t tokens, const RoutingSimOptions& options) {
  if (tokens < 0) throw Error("routing simulator: tokens must be >= 0, got " + std::to_string(tokens));
  const int32_t e = layer.desc.num_experts;
  const auto pop = simulated_log_popularity(e, options);
  HostTensor logits(kF32, {tokens, e});
  float* p = logits.as<float>();
  synthetic::Rng rng(options.seed, kNoiseStream);
  for (int64_t t = 0; t < tokens; ++t)
    for (int32_t j = 0; j < e; ++j) p[t * e + j] = static_cast<float>(pop[j] + rng.gumbel());
  return logits;
}

std::vector<int64_t> topk_expert_counts(const HostTensor& logits, int32_t top_k) {
  if (logits.dtype() != kF32 || logits.shape().size() != 2)
    throw Error("topk_expert_counts: logits must be f32 [T, E], got " + dtype_name(logits.dtype()) + " " +
                shape_string(logits.shape()));
  const int64_t t = logits.shape()[0], e = logits.shape()[1];
  if (top_k < 1 || top_k > e)
    throw Error("topk_expert_counts: top_k must be in [1, " + std::to_string(e) + "], got " + std::to_string(top_k));
  std::vector<int64_t> counts(static_cast<size_t>(e), 0);
  std::vector<int32_t> idx(static_cast<size_t>(e));
  const float* p = logits.as<float>();
  for (int64_t r = 0; r < t; ++r) {
    const float* row = p + r * e;
    std::iota(idx.begin(), idx.end(), 0);
    // Larger logit first; ties to the lower id.
    std::partial_sort(idx.begin(), idx.begin() + top_k, idx.end(), [row](int32_t a, int32_t b) {
      return row[a] > row[b] || (row[a] == row[b] && a < b);
    });
    for (int32_t k = 0; k < top_k; ++k) ++counts[idx[k]];
  }
  return counts;
}

}  // namespace moert
