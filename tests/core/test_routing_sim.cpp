// Routing simulator: uniform routing is uniform, skewed routing follows the
// drawn popularity, both are seeded, and top-k counting breaks ties low.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "moert/error.h"
#include "moert/routing_sim.h"

using namespace moert;

namespace {
LayerSpec layer(int32_t e, int32_t k) {
  LayerSpec l;
  l.desc.num_experts = e;
  l.desc.num_local_experts = e;
  l.desc.top_k = k;
  return l;
}
}  // namespace

TEST(RoutingSim, UniformHitsEveryExpertEquallyOften) {
  const LayerSpec l = layer(16, 4);
  const int64_t t = 20000;
  const HostTensor logits = simulate_router_logits(l, t, {RoutingDistribution::kUniform, 1.0, 5});
  EXPECT_EQ(logits.shape(), (std::vector<int64_t>{t, 16}));
  const auto counts = topk_expert_counts(logits, 4);
  EXPECT_EQ(std::accumulate(counts.begin(), counts.end(), int64_t{0}), t * 4);
  // Each expert: Binomial(t, K/E) -> mean 5000, sd ~ 61; allow 6 sd.
  for (int64_t c : counts) EXPECT_NEAR(static_cast<double>(c), t * 4.0 / 16, 6 * 61.3);
}

TEST(RoutingSim, SkewedFollowsThePopularity) {
  const LayerSpec l = layer(32, 2);
  RoutingSimOptions o{RoutingDistribution::kSkewed, 1.5, 9};
  const auto pop = simulated_log_popularity(32, o);
  const auto counts = topk_expert_counts(simulate_router_logits(l, 8000, o), 2);
  const size_t hot = std::max_element(pop.begin(), pop.end()) - pop.begin();
  const size_t cold = std::min_element(pop.begin(), pop.end()) - pop.begin();
  EXPECT_GT(counts[hot], 5 * std::max<int64_t>(1, counts[cold]));
  // Rank correlation: more popular experts get more tokens on the whole.
  int64_t agree = 0, pairs = 0;
  for (int i = 0; i < 32; ++i)
    for (int j = i + 1; j < 32; ++j) {
      ++pairs;
      if ((pop[i] > pop[j]) == (counts[i] > counts[j])) ++agree;
    }
  EXPECT_GT(static_cast<double>(agree) / pairs, 0.8);
  const auto uniform = simulated_log_popularity(32, {RoutingDistribution::kUniform, 1.5, 9});
  for (double p : uniform) EXPECT_EQ(p, 0.0);
}

TEST(RoutingSim, SeededDeterministic) {
  const LayerSpec l = layer(8, 2);
  const RoutingSimOptions o{RoutingDistribution::kSkewed, 1.0, 3};
  const HostTensor a = simulate_router_logits(l, 10, o), b = simulate_router_logits(l, 10, o);
  EXPECT_EQ(0, std::memcmp(a.data(), b.data(), a.nbytes()));
  const HostTensor c = simulate_router_logits(l, 10, {RoutingDistribution::kSkewed, 1.0, 4});
  EXPECT_NE(0, std::memcmp(a.data(), c.data(), a.nbytes()));
}

TEST(RoutingSim, TopkCountsBreakTiesTowardTheLowerId) {
  HostTensor logits(kF32, {2, 4});
  const float v[8] = {1, 3, 3, 0, 2, 2, 2, 2};
  std::memcpy(logits.data(), v, sizeof v);
  EXPECT_EQ(topk_expert_counts(logits, 2), (std::vector<int64_t>{1, 2, 1, 0}));
}

TEST(RoutingSim, BadArgumentsAreNamed) {
  EXPECT_EQ(routing_distribution_from_name("normal"), RoutingDistribution::kSkewed);
  try {
    routing_distribution_from_name("zipf");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'zipf' (expected one of: uniform, skewed, normal)"), std::string::npos);
  }
  EXPECT_THROW(topk_expert_counts(HostTensor(kF32, {2, 4}), 5), Error);
  EXPECT_THROW(topk_expert_counts(HostTensor(kBF16, {2, 4}), 1), Error);
  EXPECT_THROW(simulate_router_logits(layer(8, 2), -1, {}), Error);
}
