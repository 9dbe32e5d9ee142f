// Property tests of the reference layer, through the C ABI.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "moe_case.h"
#include "moert/expert_map.h"

using namespace moe_case;

namespace {

TEST(Properties, PermutingTokensPermutesOutput) {
  for (moert_dtype adt : {kF32, kBF16}) {
    Params p;
    p.E = 16, p.K = 4, p.T = 17, p.adt = adt, p.wdt = adt;
    p.method = MOERT_ROUTING_GROUPED_TOPK, p.groups = 4, p.topk_group = 2, p.scb = true, p.renorm = true;
    Case c = make_case(p, 11);
    RunResult base = run_default(c);
    ASSERT_EQ(base.error, "");
    std::vector<int> perm(p.T);
    std::iota(perm.begin(), perm.end(), 0);
    std::shuffle(perm.begin(), perm.end(), std::mt19937(3));
    Case d = c;
    const size_t hb = c.hidden.bytes.size() / p.T, lb = c.logits.bytes.size() / p.T;
    for (int64_t t = 0; t < p.T; ++t) {
      std::memcpy(d.hidden.bytes.data() + t * hb, c.hidden.bytes.data() + perm[t] * hb, hb);
      std::memcpy(d.logits.bytes.data() + t * lb, c.logits.bytes.data() + perm[t] * lb, lb);
    }
    RunResult r = run_default(d);
    ASSERT_EQ(r.error, "");
    for (int64_t t = 0; t < p.T; ++t)
      for (int64_t j = 0; j < p.H; ++j) ASSERT_EQ(r.out[t * p.H + j], base.out[perm[t] * p.H + j]) << t << "," << j;
  }
}

TEST(Properties, TopKEqualsEWithRenormalizeIsTheDenseMixture) {
  Params p;
  p.E = 6, p.K = 6, p.renorm = true, p.T = 8, p.act = MOERT_ACT_GELU_AND_MUL;
  Case c = make_case(p, 21);
  RunResult r = run_default(c);
  ASSERT_EQ(r.error, "");
  // Dense: out_t = sum_e softmax(logits_t)_e * expert_e(x_t), written out here.
  std::vector<double> dense(p.T * p.H, 0.0);
  for (int64_t t = 0; t < p.T; ++t) {
    double z = 0;
    for (int e = 0; e < p.E; ++e) z += std::exp(c.logits_d[t * p.E + e]);
    std::vector<double> x(&c.x[t * p.H], &c.x[(t + 1) * p.H]);
    for (int e = 0; e < p.E; ++e) {
      const std::vector<double> y = c.ref.expert(e, x);
      for (int64_t j = 0; j < p.H; ++j) dense[t * p.H + j] += std::exp(c.logits_d[t * p.E + e]) / z * y[j];
    }
  }
  EXPECT_LT(ref64::rel_error(r.out, dense), 1e-5);
}

TEST(Properties, ExpertParallelRanksSumToTheFullResult) {
  for (auto placement : {moert::Placement::kLinear, moert::Placement::kRoundRobin})
    for (int ep : {2, 3, 4}) {
      Params p;
      p.E = 10, p.K = 3, p.T = 12, p.bias = true, p.quant = MOERT_QUANT_FP8_PER_CHANNEL;
      Case full = make_case(p, 31);
      RunResult whole = run_default(full);
      ASSERT_EQ(whole.error, "");
      std::vector<double> sum(whole.out.size(), 0.0);
      for (int rank = 0; rank < ep; ++rank) {
        Case c = make_case(p, 31);
        const std::vector<int32_t> map = moert::make_expert_map(p.E, rank, ep, placement);
        std::vector<int> held;
        for (int g = 0; g < p.E; ++g)
          if (map[g] >= 0) held.push_back(g);  // local order = global order in both placements
        hold_experts(c, held);
        c.p.expert_map = map;
        c.desc.ep_rank = rank;
        c.desc.ep_size = ep;
        RunResult r = run_default(c);
        ASSERT_EQ(r.error, "") << moert::placement_name(placement) << " ep=" << ep << " rank=" << rank;
        EXPECT_EQ(r.unwritten, 0);
        for (size_t i = 0; i < sum.size(); ++i) sum[i] += r.out[i];
      }
      EXPECT_LT(ref64::rel_error(sum, whole.out), 1e-6) << moert::placement_name(placement) << " ep=" << ep;
    }
}

TEST(Properties, NanAnywhereInTheLogitsIsNamed) {
  std::mt19937 rng(8);
  for (int trial = 0; trial < 10; ++trial) {
    Params p;
    p.T = 7;
    Case c = make_case(p, 50 + trial);
    const int t = static_cast<int>(rng() % p.T), e = static_cast<int>(rng() % p.E);
    c.logits.as<float>()[t * p.E + e] = trial % 2 ? NAN : INFINITY;
    RunResult r = run_default(c);
    EXPECT_EQ(r.code, MOERT_STATUS_INVALID_ARGUMENT);
    const std::string want = "router_logits[token " + std::to_string(t) + ", expert " + std::to_string(e) + "]";
    EXPECT_NE(r.error.find(want), std::string::npos) << r.error;
  }
}

TEST(Properties, ShapeAndDtypeErrorsSayExpectedVsGot) {
  Params p;
  p.H = 128, p.T = 3;
  Case c = make_case(p, 1);
  c.hidden.shape = {3, 64};
  RunResult r = run_default(c);
  EXPECT_NE(r.error.find("forward: hidden_states shape [3, 64] does not match [T, hidden_size=128]"), std::string::npos)
      << r.error;
  Case d = make_case(p, 1);
  d.hidden.dtype = kBF16;
  r = run_default(d);
  EXPECT_NE(r.error.find("hidden_states dtype bf16 is not f32"), std::string::npos) << r.error;
  Case e = make_case(p, 1);
  e.w2.shape[1] = 100;
  r = run_default(e);
  EXPECT_NE(r.error.find("w2 shape [8, 100, 32] does not match [num_local_experts=8, hidden_size=128, intermediate_size=32]"),
            std::string::npos)
      << r.error;
  Params q;
  q.T = 600;
  q.max_tokens = 512;
  Case f = make_case(q, 1);
  r = run_default(f);
  EXPECT_NE(r.error.find("T=600 tokens; allowed [0, max_num_tokens=512]"), std::string::npos) << r.error;
}

}  // namespace

namespace {

TEST(Properties, Abi10StructsStillWork) {
  // A 1.0 host: layer desc and forward args end before the 1.1 fields.
  Params p;
  p.T = 5;
  Case c = make_case(p, 12);
  c.desc.struct_size = offsetof(moert_layer_desc, custom_routing);
  const moert_runner_ops* ops = runner_ops("default");
  moert_runner* r = nullptr;
  ASSERT_EQ(take(ops->create(&c.desc, 0, &r)), "");
  moert_expert_weights w = c.weights();
  ASSERT_EQ(take(ops->set_weights(r, &w)), "");
  Buf out;
  out.init(p.adt, {p.T, p.H});
  std::memset(out.bytes.data(), 0xFF, out.bytes.size());
  moert_forward_args a{};
  a.struct_size = offsetof(moert_forward_args, eplb);
  a.hidden_states = c.hidden.view();
  a.router_logits = c.logits.view();
  a.output = out.view();
  a.eplb = reinterpret_cast<const moert_eplb_state*>(0x1);  // beyond struct_size: must not be read
  ASSERT_EQ(take(ops->forward(r, &a)), "");
  ops->destroy(r);
  std::vector<double> got(p.T * p.H);
  for (int64_t i = 0; i < p.T * p.H; ++i) got[i] = load(out, i);
  EXPECT_LT(ref64::rel_error(got, c.reference()), 1e-5);
}

}  // namespace
