// The "default" runner (CPU reference) against the float64 model, through the
// C ABI: every router x activation x activation dtype x weight format.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "moe_case.h"

using namespace moe_case;
using moert::operator==;

namespace {

enum RouterKind { kSoftmaxTopk, kSigmoidTopk, kGroupedNoBias, kGroupedBias, kCustom };
const char* router_label(int r) {
  static const char* n[] = {"softmax_topk", "sigmoid_topk", "grouped_topk", "grouped_topk_bias", "custom"};
  return n[r];
}

// Custom routing for the tests: ids = (argmax + 3k) % E, w = sigmoid(logit[id]) / (k + 1).
struct CustomCtx {
  int E;
};
moert_error* custom_fn(void* ctx, const moert_tensor* logits, int32_t top_k, moert_tensor* w, moert_tensor* ids,
                       moert_stream) {
  const int E = static_cast<CustomCtx*>(ctx)->E;
  const float* l = static_cast<const float*>(logits->data);
  const int64_t T = logits->shape[0];
  for (int64_t t = 0; t < T; ++t) {
    int best = 0;
    for (int e = 1; e < E; ++e)
      if (l[t * E + e] > l[t * E + best]) best = e;
    for (int k = 0; k < top_k; ++k) {
      const int id = (best + 3 * k) % E;
      static_cast<int32_t*>(ids->data)[t * top_k + k] = id;
      static_cast<float*>(w->data)[t * top_k + k] = 1.0f / (1.0f + std::exp(-l[t * E + id])) / float(k + 1);
    }
  }
  return nullptr;
}
CustomCtx g_ctx{8};

void set_router(Params& p, int r) {
  p.method = MOERT_ROUTING_TOPK;
  if (r == kSigmoidTopk) p.scoring = MOERT_SCORING_SIGMOID, p.renorm = true;
  if (r == kGroupedNoBias || r == kGroupedBias) {
    p.method = MOERT_ROUTING_GROUPED_TOPK;
    p.E = 16, p.K = 4, p.groups = 4, p.topk_group = 2, p.renorm = true, p.rsf = 2.5f;
    p.scoring = r == kGroupedBias ? MOERT_SCORING_SIGMOID : MOERT_SCORING_SOFTMAX;
    p.scb = r == kGroupedBias;
  }
  if (r == kCustom) {
    p.method = MOERT_ROUTING_CUSTOM;
    p.custom = custom_fn;
    g_ctx.E = p.E;
    p.custom_ctx = &g_ctx;
    p.rsf = 1.5f;  // applies on top of the function's weights
  }
}

struct WeightFormat {
  const char* label;
  int quant;
  moert_dtype wdt;
  int64_t H, I;
};
const WeightFormat kFormats[] = {
    {"f32", MOERT_QUANT_NONE, kF32, 64, 32},
    {"bf16", MOERT_QUANT_NONE, kBF16, 64, 32},
    {"f16", MOERT_QUANT_NONE, kF16, 64, 32},
    {"fp8_per_tensor", MOERT_QUANT_FP8_PER_TENSOR, moert::kFP8E4M3, 64, 48},
    {"fp8_per_channel", MOERT_QUANT_FP8_PER_CHANNEL, moert::kFP8E4M3, 64, 48},
    {"fp8_block128", MOERT_QUANT_FP8_BLOCK_128, moert::kFP8E4M3, 192, 136},  // partial blocks on both axes
    {"mxfp4", MOERT_QUANT_MXFP4, moert::kFP4E2M1, 64, 64},
};

void attach_custom_ref(Case& c) {
  const int E = c.p.E, K = c.p.K;
  const std::vector<double> logits = c.logits_d;
  c.p.custom_ref = [E, K, logits](int64_t t, std::vector<int>& ids, std::vector<double>& w) {
    int best = 0;
    for (int e = 1; e < E; ++e)
      if (logits[t * E + e] > logits[t * E + best]) best = e;
    ids.clear();
    w.clear();
    for (int k = 0; k < K; ++k) {
      const int id = (best + 3 * k) % E;
      ids.push_back(id);
      w.push_back(ref64::sigmoid(logits[t * E + id]) / (k + 1));
    }
  };
}

class ReferenceMatrix : public ::testing::TestWithParam<std::tuple<int, int>> {};

TEST_P(ReferenceMatrix, MatchesFloat64Model) {
  const int router = std::get<0>(GetParam());
  const WeightFormat& wf = kFormats[std::get<1>(GetParam())];
  const moert_dtype adts[] = {kF32, kBF16, kF16};
  uint64_t seed = 1000 + 97 * router + 13 * std::get<1>(GetParam());
  for (int act = 0; act <= MOERT_ACT_RELU2; ++act) {
    for (int layout = 0; layout < (act <= MOERT_ACT_SWIGLUOAI ? 2 : 1); ++layout) {
      for (int di = 0; di < 3; ++di) {
        Params p;
        p.H = wf.H;
        p.I = wf.I;
        p.T = 7;
        p.act = act;
        p.layout = layout;
        p.adt = adts[di];
        p.wdt = wf.wdt;
        p.quant = wf.quant;
        p.bias = (di + act) % 2 == 1;
        p.renorm = act % 2 == 0;
        set_router(p, router);
        Case c = make_case(p, ++seed);
        if (router == kCustom) attach_custom_ref(c);
        SCOPED_TRACE(std::string("router=") + router_label(router) + " weights=" + wf.label + " act=" +
                     std::to_string(act) + " layout=" + std::to_string(layout) + " adt=" + moert::dtype_name(p.adt) +
                     " bias=" + std::to_string(p.bias));
        RunResult r = run_default(c);
        ASSERT_EQ(r.error, "");
        EXPECT_EQ(r.unwritten, 0);
        const double err = ref64::rel_error(r.out, c.reference());
        // fp8/fp4 weights are decoded exactly, so the bound is the activation dtype's.
        EXPECT_LT(err, tolerance(p.adt)) << "relative error " << err;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllCombinations, ReferenceMatrix,
                         ::testing::Combine(::testing::Range(0, 5), ::testing::Range(0, 7)),
                         [](const ::testing::TestParamInfo<std::tuple<int, int>>& i) {
                           return std::string(router_label(std::get<0>(i.param))) + "_" +
                                  kFormats[std::get<1>(i.param)].label;
                         });

// fp8 per-token activation quantization with every weight format.
TEST(Reference, Fp8PerTokenActivations) {
  uint64_t seed = 77;
  for (const WeightFormat& wf : kFormats) {
    for (moert_dtype adt : {kF32, kBF16}) {
      Params p;
      p.H = wf.H;
      p.I = wf.I;
      p.T = 9;
      p.adt = adt;
      p.wdt = wf.wdt;
      p.quant = wf.quant;
      p.act_quant = MOERT_ACT_QUANT_FP8_PER_TOKEN;
      Case c = make_case(p, ++seed);
      SCOPED_TRACE(std::string(wf.label) + " adt=" + moert::dtype_name(adt));
      RunResult r = run_default(c);
      ASSERT_EQ(r.error, "");
      EXPECT_EQ(r.unwritten, 0);
      EXPECT_LT(ref64::rel_error(r.out, c.reference()), adt == kF32 ? 1e-4 : 3e-2);
      // And the quantization matters: without it the result differs measurably.
      c.ref.fp8_per_token = false;
      EXPECT_GT(ref64::rel_error(r.out, c.reference()), 1e-4);
    }
  }
}

TEST(Reference, SharedExpertWithAndWithoutGate) {
  for (bool gate : {false, true})
    for (int sact : {MOERT_ACT_SILU_AND_MUL, MOERT_ACT_GELU, MOERT_ACT_RELU2})
      for (moert_dtype adt : {kF32, kBF16}) {
        Params p;
        p.shared = true;
        p.shared_gate = gate;
        p.shared_act = sact;
        p.Is = 48;
        p.adt = adt;
        p.wdt = adt;
        p.bias = true;
        Case c = make_case(p, 500 + gate * 10 + sact);
        moert_shared_expert se = c.shared();
        RunResult r = run_default(c, &se);
        ASSERT_EQ(r.error, "");
        EXPECT_EQ(r.unwritten, 0);
        EXPECT_LT(ref64::rel_error(r.out, c.reference()), tolerance(adt)) << "gate=" << gate << " act=" << sact;
      }
}

TEST(Reference, SharedExpertRejectsSwigluoaiAndBadShape) {
  Params p;
  p.shared = true;
  Case c = make_case(p, 9);
  moert_shared_expert se = c.shared();
  se.activation = MOERT_ACT_SWIGLUOAI;
  RunResult r = run_default(c, &se);
  EXPECT_NE(r.error.find("swigluoai"), std::string::npos) << r.error;
  se = c.shared();
  se.intermediate_size = 40;
  r = run_default(c, &se);
  EXPECT_NE(r.error.find("shared_expert.w13 shape [64, 64] does not match [2*intermediate_size=40"), std::string::npos)
      << r.error;
}

TEST(Reference, ZeroTokens) {
  Params p;
  p.T = 0;
  Case c = make_case(p, 3);
  RunResult r = run_default(c);
  EXPECT_EQ(r.error, "");
  EXPECT_TRUE(r.out.empty());
}

TEST(Reference, LargerLayerBf16) {
  Params p;
  p.E = 32;
  p.K = 4;
  p.H = 256;
  p.I = 128;
  p.T = 40;
  p.adt = kBF16;
  p.wdt = kBF16;
  p.renorm = true;
  Case c = make_case(p, 4242);
  RunResult r = run_default(c);
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.unwritten, 0);
  EXPECT_LT(ref64::rel_error(r.out, c.reference()), 1e-2);
}

}  // namespace

namespace {

std::string attr(const char* key) {
  size_t n = 0;
  const moert_kv* kv = core_api()->attributes(&n);
  for (size_t i = 0; i < n; ++i)
    if (std::string(kv[i].key) == key) return kv[i].value;
  return "<missing>";
}

TEST(BuiltinTable, IdentityAttributesAndRegistrations) {
  const moert_plugin_api* a = core_api();
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->struct_size, sizeof(moert_plugin_api));
  EXPECT_EQ(a->abi_major, static_cast<uint32_t>(MOERT_ABI_MAJOR));
  EXPECT_EQ(a->abi_minor, static_cast<uint32_t>(MOERT_ABI_MINOR));
  EXPECT_STREQ(a->name, "core");
  EXPECT_EQ(a->device_type, MOERT_DEVICE_CPU);
  char reason[64] = "x";
  EXPECT_EQ(a->probe(reason, sizeof reason), 1);
  EXPECT_EQ(take(a->initialize(nullptr)), "");
  EXPECT_EQ(attr("dtypes"), "f32,bf16,f16");
  EXPECT_EQ(attr("routers"), "softmax_topk,sigmoid_topk,grouped_topk,custom");
  EXPECT_EQ(attr("quant_schemes"), "none,fp8_per_tensor,fp8_per_channel,fp8_block128,mxfp4");
  EXPECT_EQ(attr("activations"), "silu_and_mul,gelu_and_mul,gelu_tanh_and_mul,swigluoai,silu,gelu,relu2");
  EXPECT_NE(attr("features").find("eplb"), std::string::npos);
  EXPECT_NE(attr("toolchain"), "<missing>");
  ASSERT_EQ(a->num_runners, 1);
  EXPECT_STREQ(a->runners[0]->name, "default");
  ASSERT_EQ(a->num_experts, 1);
  EXPECT_STREQ(a->experts[0]->name, "reference");
  EXPECT_EQ(a->experts[0]->finalize_mode, MOERT_FINALIZE_BY_CORE);
  EXPECT_EQ(a->event_create, nullptr);
  EXPECT_EQ(a->graph_capture_begin, nullptr);
  EXPECT_EQ(moert_builtin_plugin_entry(2, 0, nullptr), nullptr);  // another major: no table
}

TEST(BuiltinTable, HostMemoryAndStreams) {
  const moert_plugin_api* a = core_api();
  void* p = nullptr;
  ASSERT_EQ(take(a->device_alloc(0, 100, &p)), "");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 64, 0u);
  const char msg[] = "moert";
  char back[6] = {};
  EXPECT_EQ(take(a->copy_host_to_device(0, p, msg, 6)), "");
  EXPECT_EQ(take(a->copy_device_to_host(0, back, p, 6)), "");
  EXPECT_STREQ(back, "moert");
  EXPECT_EQ(take(a->device_free(0, p)), "");
  moert_stream s = reinterpret_cast<moert_stream>(1);
  EXPECT_EQ(take(a->stream_create(0, &s)), "");
  EXPECT_EQ(s, nullptr);
  EXPECT_EQ(take(a->stream_synchronize(0, s)), "");
  EXPECT_EQ(take(a->stream_destroy(0, s)), "");
  int code = 0;
  EXPECT_NE(take(a->device_alloc(1, 8, &p), &code).find("device 0 only"), std::string::npos);
  EXPECT_EQ(code, MOERT_STATUS_INVALID_ARGUMENT);
}

TEST(BuiltinTable, ForwardBeforeSetWeightsAndNullArgs) {
  Params p;
  Case c = make_case(p, 1);
  const moert_runner_ops* ops = runner_ops("default");
  moert_runner* r = nullptr;
  ASSERT_EQ(take(ops->create(&c.desc, 0, &r)), "");
  moert_forward_args a{};
  a.struct_size = sizeof a;
  a.hidden_states = c.hidden.view();
  a.router_logits = c.logits.view();
  a.output = c.hidden.view();
  int code = 0;
  EXPECT_NE(take(ops->forward(r, &a), &code).find("forward before set_weights"), std::string::npos);
  EXPECT_EQ(code, MOERT_STATUS_FAILED_PRECONDITION);
  EXPECT_NE(take(ops->forward(r, nullptr), &code).find("args is NULL"), std::string::npos);
  size_t ws = 1;
  EXPECT_EQ(take(ops->workspace_size(r, 16, &ws)), "");
  EXPECT_EQ(ws, 0u);
  ops->destroy(r);
  ops->destroy(nullptr);
}

}  // namespace
