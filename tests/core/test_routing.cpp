// Routing: top-k (softmax/sigmoid), grouped top-k, custom, ties, NaN/Inf.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "moe_case.h"
#include "moert/error.h"
#include "moert/layer_config.h"
#include "moert/moert_plugin.hpp"
#include "moert/routing.h"

using namespace moe_case;

namespace {

moert_layer_desc base_desc(int E, int K) {
  Params p;
  p.E = E;
  p.K = K;
  p.T = 1;
  return make_case(p, 1).desc;
}

moert_tensor f32_view(std::vector<float>& v, int64_t* shape) {
  moert_tensor t{};
  t.data = v.data();
  t.device = {MOERT_DEVICE_CPU, 0};
  t.ndim = 2;
  t.dtype = moert::kF32;
  t.shape = shape;
  return t;
}

void check_against_ref(moert_layer_desc d, const ref64::Routing& rr, uint64_t seed) {
  moert::LayerConfig cfg = moert::layer_config_from_desc(&d);
  moert::Router router(cfg);
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> n(0.0f, 2.0f);
  const int64_t T = 50;
  std::vector<float> logits(T * d.num_experts), bias(d.num_experts), w(T * d.top_k);
  std::vector<int32_t> ids(T * d.top_k);
  for (auto& v : logits) v = n(rng);
  for (int e = 0; e < d.num_experts; ++e) bias[e] = rr.bias.empty() ? 0.0f : static_cast<float>(rr.bias[e]);
  int64_t shape[2] = {T, d.num_experts};
  router.route(f32_view(logits, shape), T, rr.bias.empty() ? nullptr : bias.data(), w.data(), ids.data());
  for (int64_t t = 0; t < T; ++t) {
    std::vector<int> rid;
    std::vector<double> rw;
    ref64::route(rr, std::vector<double>(logits.begin() + t * d.num_experts, logits.begin() + (t + 1) * d.num_experts),
                 rid, rw);
    for (int k = 0; k < d.top_k; ++k) {
      ASSERT_EQ(ids[t * d.top_k + k], rid[k]) << "token " << t << " slot " << k;
      EXPECT_NEAR(w[t * d.top_k + k], rw[k], 1e-6 * (1 + std::fabs(rw[k])));
    }
  }
}

TEST(Routing, SoftmaxAndSigmoidTopk) {
  for (int scoring : {0, 1})
    for (int renorm : {0, 1}) {
      moert_layer_desc d = base_desc(16, 4);
      d.scoring = scoring;
      d.renormalize = renorm;
      d.routed_scaling_factor = 1.5f;
      ref64::Routing rr;
      rr.E = 16, rr.K = 4, rr.sigmoid_scoring = scoring, rr.renormalize = renorm, rr.scaling = 1.5;
      check_against_ref(d, rr, 10 + scoring * 2 + renorm);
    }
}

TEST(Routing, GroupedTopkWithAndWithoutBias) {
  std::mt19937 rng(4);
  std::uniform_real_distribution<double> u(-0.3, 0.3);
  for (int with_bias : {0, 1})
    for (int scoring : {0, 1}) {
      moert_layer_desc d = base_desc(32, 6);
      d.routing_method = MOERT_ROUTING_GROUPED_TOPK;
      d.num_expert_group = 8;
      d.topk_group = 3;
      d.scoring = scoring;
      d.renormalize = 1;
      d.has_score_correction_bias = with_bias;
      d.routed_scaling_factor = 2.5f;
      ref64::Routing rr;
      rr.E = 32, rr.K = 6, rr.grouped = true, rr.groups = 8, rr.topk_group = 3, rr.sigmoid_scoring = scoring;
      rr.renormalize = true, rr.scaling = 2.5;
      if (with_bias)
        for (int e = 0; e < 32; ++e) rr.bias.push_back(static_cast<float>(u(rng)));
      check_against_ref(d, rr, 20 + with_bias * 2 + scoring);
    }
}

TEST(Routing, BiasSelectsButDoesNotWeigh) {
  // 4 experts, 2 groups of 2, keep 1 group, top-2. The bias moves the choice
  // to group 1, but the weights are the unbiased sigmoid scores.
  moert_layer_desc d = base_desc(4, 2);
  d.routing_method = MOERT_ROUTING_GROUPED_TOPK;
  d.num_expert_group = 2;
  d.topk_group = 1;
  d.scoring = MOERT_SCORING_SIGMOID;
  d.has_score_correction_bias = 1;
  moert::Router router(moert::layer_config_from_desc(&d));
  std::vector<float> logits = {2.0f, 2.0f, 0.0f, 0.0f}, w(2);
  const float bias[4] = {0.0f, 0.0f, 1.0f, 1.0f};
  std::vector<int32_t> ids(2);
  int64_t shape[2] = {1, 4};
  router.route(f32_view(logits, shape), 1, bias, w.data(), ids.data());
  EXPECT_EQ(ids[0], 2);
  EXPECT_EQ(ids[1], 3);
  EXPECT_FLOAT_EQ(w[0], 0.5f);  // sigmoid(0), no bias
}

TEST(Routing, TiesGoToTheLowerId) {
  moert_layer_desc d = base_desc(8, 3);
  moert::Router router(moert::layer_config_from_desc(&d));
  std::vector<float> logits(8, 0.25f), w(3);
  std::vector<int32_t> ids(3);
  int64_t shape[2] = {1, 8};
  router.route(f32_view(logits, shape), 1, nullptr, w.data(), ids.data());
  EXPECT_EQ(ids[0], 0);
  EXPECT_EQ(ids[1], 1);
  EXPECT_EQ(ids[2], 2);
  EXPECT_FLOAT_EQ(w[0], 0.125f);
}

TEST(Routing, NonFiniteLogitsNameTokenAndExpert) {
  Params p;
  p.T = 4;
  Case c = make_case(p, 3);
  c.logits.as<float>()[2 * p.E + 5] = std::numeric_limits<float>::quiet_NaN();
  RunResult r = run_default(c);
  EXPECT_EQ(r.code, MOERT_STATUS_INVALID_ARGUMENT);
  EXPECT_NE(r.error.find("router_logits[token 2, expert 5] is NaN"), std::string::npos) << r.error;
  c.logits.as<float>()[2 * p.E + 5] = 0.0f;
  c.logits.as<float>()[3 * p.E + 1] = -std::numeric_limits<float>::infinity();
  r = run_default(c);
  EXPECT_NE(r.error.find("router_logits[token 3, expert 1] is Inf"), std::string::npos) << r.error;
}

TEST(Routing, Bf16AndF16LogitsAreAccepted) {
  for (moert_dtype ldt : {moert::kBF16, moert::kF16}) {
    Params p;
    Case c = make_case(p, 8);
    Buf l;
    l.init(ldt, {p.T, p.E});
    for (int64_t i = 0; i < p.T * p.E; ++i) c.logits_d[i] = store(l, i, c.logits_d[i]);
    moert_tensor lv = l.view();
    RunResult r = run_default(c, nullptr, nullptr, &lv);
    ASSERT_EQ(r.error, "");
    EXPECT_LT(ref64::rel_error(r.out, c.reference()), 1e-5);
  }
}

// The host owns the error objects its routing function returns (moert_plugin.h):
// it keeps the last one here and frees it itself.
moert_error* g_last_routing_error = nullptr;
moert_error* failing_routing(void*, const moert_tensor*, int32_t, moert_tensor*, moert_tensor*, moert_stream) {
  moert::plugin::error_destroy(g_last_routing_error);
  g_last_routing_error = moert::plugin::make_error(MOERT_STATUS_INVALID_ARGUMENT, "my router is out of order");
  return g_last_routing_error;
}
moert_error* bad_ids_routing(void*, const moert_tensor* l, int32_t k, moert_tensor* w, moert_tensor* ids, moert_stream) {
  for (int64_t i = 0; i < l->shape[0] * k; ++i) {
    static_cast<float*>(w->data)[i] = 1.0f;
    static_cast<int32_t*>(ids->data)[i] = i == 3 ? 99 : 0;
  }
  return nullptr;
}

TEST(Routing, CustomRoutingErrorsAreReported) {
  Params p;
  p.method = MOERT_ROUTING_CUSTOM;
  p.custom = failing_routing;
  Case c = make_case(p, 2);
  RunResult r = run_default(c);
  EXPECT_EQ(r.code, MOERT_STATUS_INVALID_ARGUMENT);
  EXPECT_NE(r.error.find("custom routing function failed"), std::string::npos) << r.error;
  // The runner neither read nor freed the host's error object.
  ASSERT_NE(g_last_routing_error, nullptr);
  EXPECT_EQ(std::string(moert::plugin::error_message(g_last_routing_error)), "my router is out of order");
  c.desc.custom_routing = bad_ids_routing;
  r = run_default(c);
  EXPECT_NE(r.error.find("topk_ids[token 1, slot 1]=99"), std::string::npos) << r.error;
  c.desc.custom_routing = nullptr;
  r = run_default(c);
  EXPECT_NE(r.error.find("custom_routing is NULL"), std::string::npos) << r.error;
  // A 1.0-sized desc cannot ask for custom routing.
  c.desc.custom_routing = failing_routing;
  c.desc.struct_size = offsetof(moert_layer_desc, custom_routing);
  r = run_default(c);
  EXPECT_NE(r.error.find("ABI 1.1"), std::string::npos) << r.error;
  moert::plugin::error_destroy(g_last_routing_error);
  g_last_routing_error = nullptr;
}

TEST(Routing, InvalidGroupedConfigIsRejected) {
  moert_layer_desc d = base_desc(16, 4);
  d.routing_method = MOERT_ROUTING_GROUPED_TOPK;
  d.num_expert_group = 5;
  d.topk_group = 2;
  try {
    moert::layer_config_from_desc(&d);
    FAIL() << "expected an error";
  } catch (const moert::Error& e) {
    EXPECT_NE(std::string(e.what()).find("num_expert_group=5 must divide num_experts=16"), std::string::npos) << e.what();
  }
}

}  // namespace
