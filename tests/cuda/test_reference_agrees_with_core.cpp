// CPU-only: the float64 reference these CUDA tests compare against agrees with
// the core's built-in "default" runner (docs/semantics.md) on the same layers,
// so the GPU numerics tests check the team's semantics, not a private reading.
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "cuda_test_support.h"
#include "moert/builtin.h"
#include "moert/runner_instance.h"

using namespace cudatest;

namespace {

moert_tensor host_tensor(const void* p, moert_dtype dt, std::vector<int64_t>& shape) {
  moert_tensor t;
  std::memset(&t, 0, sizeof t);
  t.data = const_cast<void*>(p);
  t.device = {MOERT_DEVICE_CPU, 0};
  t.ndim = static_cast<int32_t>(shape.size());
  t.dtype = dt;
  t.shape = shape.data();
  return t;
}

// Runs the core's default runner on host tensors; returns the output as floats.
std::vector<float> core_forward(const Case& c, const HostWeights& w, const std::vector<uint16_t>& x,
                                const std::vector<float>& lg, int64_t T) {
  const moert_plugin_api* api = moert_builtin_plugin_entry(MOERT_ABI_MAJOR, MOERT_ABI_MINOR, nullptr);
  const moert_runner_ops* ops = nullptr;
  for (int64_t i = 0; i < api->num_runners; ++i)
    if (std::string(api->runners[i]->name) == "default") ops = api->runners[i];
  if (!ops) throw std::runtime_error("core has no default runner");
  const moert_layer_desc d = make_desc(c);
  moert::RunnerInstance r(api, ops, d);
  const moert_dtype wdt = weight_dtype(c), f32{MOERT_DTYPE_FLOAT, 32, 1}, e8{MOERT_DTYPE_FLOAT8_E8M0FNU, 8, 1};
  const moert_dtype adt = d.activation_dtype;
  std::vector<int64_t> s13 = w.shp13, s2 = w.shp2, sc13, sc2, sb13, sb2, scorr{c.E};
  const int64_t El = s13[0], R = s13[1];
  moert_expert_weights ew;
  std::memset(&ew, 0, sizeof ew);
  ew.struct_size = sizeof ew;
  ew.w13 = host_tensor(w.w13.data(), wdt, s13);
  ew.w2 = host_tensor(w.w2.data(), wdt, s2);
  if (c.quant == MOERT_QUANT_MXFP4) {
    sc13 = {El, R, c.H / 32};
    sc2 = {El, c.H, c.I / 32};
    ew.w13_scale = host_tensor(w.w13_scale.data(), e8, sc13);
    ew.w2_scale = host_tensor(w.w2_scale.data(), e8, sc2);
  } else if (c.quant != MOERT_QUANT_NONE) {
    if (c.quant == MOERT_QUANT_FP8_PER_TENSOR) { sc13 = {El}; sc2 = {El}; }
    else if (c.quant == MOERT_QUANT_FP8_PER_CHANNEL) { sc13 = {El, R}; sc2 = {El, c.H}; }
    else { sc13 = {El, (R + 127) / 128, (c.H + 127) / 128}; sc2 = {El, (c.H + 127) / 128, (c.I + 127) / 128}; }
    ew.w13_scale = host_tensor(w.w13_scale.data(), f32, sc13);
    ew.w2_scale = host_tensor(w.w2_scale.data(), f32, sc2);
  }
  if (c.bias) {
    sb13 = {El, R};
    sb2 = {El, c.H};
    ew.w13_bias = host_tensor(w.b13.data(), f32, sb13);
    ew.w2_bias = host_tensor(w.b2.data(), f32, sb2);
  }
  if (c.corr_bias) ew.score_correction_bias = host_tensor(w.corr.data(), f32, scorr);
  r.set_weights(ew);

  std::vector<int64_t> xs{T, c.H}, ls{T, c.E}, os{T, c.H};
  std::vector<uint16_t> out(T * c.H, 0xFFFF);
  moert_forward_args a;
  std::memset(&a, 0, sizeof a);
  a.struct_size = sizeof a;
  a.hidden_states = host_tensor(x.data(), adt, xs);
  a.router_logits = host_tensor(lg.data(), f32, ls);
  a.output = host_tensor(out.data(), adt, os);
  moert_shared_expert sh;
  std::vector<int64_t> ss13 = w.shps13, ss2 = w.shps2, sg{c.H};
  if (c.shared) {
    std::memset(&sh, 0, sizeof sh);
    sh.struct_size = sizeof sh;
    sh.intermediate_size = c.shared_I;
    sh.activation = c.shared_act;
    sh.w13 = host_tensor(w.sw13.data(), adt, ss13);
    sh.w2 = host_tensor(w.sw2.data(), adt, ss2);
    if (c.shared_gate) sh.gate = host_tensor(w.sgate.data(), adt, sg);
    a.shared_expert = &sh;
  }
  r.forward(a);
  r.synchronize();
  std::vector<float> f(out.size());
  for (size_t i = 0; i < out.size(); ++i) f[i] = c.bf16 ? bf16_to_f32(out[i]) : f16_to_f32(out[i]);
  return f;
}

struct Named { const char* name; Case c; };

std::vector<Named> cases() {
  std::vector<Named> v;
  Case base;
  base.max_tokens = 24;
  v.push_back({"bf16_softmax_silu", base});
  Case f16 = base; f16.bf16 = false; f16.act = MOERT_ACT_GELU_AND_MUL;
  v.push_back({"f16_gelu", f16});
  Case grp = base;
  grp.E = 16; grp.K = 4; grp.routing = MOERT_ROUTING_GROUPED_TOPK; grp.scoring = MOERT_SCORING_SIGMOID;
  grp.groups = 4; grp.topk_group = 2; grp.corr_bias = true; grp.scaling = 2.5f;
  v.push_back({"grouped_sigmoid_bias", grp});
  Case relu = base; relu.act = MOERT_ACT_RELU2; relu.renorm = false;
  v.push_back({"relu2", relu});
  Case fp8 = base; fp8.H = 256; fp8.I = 192; fp8.quant = MOERT_QUANT_FP8_BLOCK_128;
  fp8.act_quant = MOERT_ACT_QUANT_FP8_PER_TOKEN; fp8.bf16 = false;
  v.push_back({"fp8_block128_w8a8_f16", fp8});
  Case fp8c = fp8; fp8c.quant = MOERT_QUANT_FP8_PER_CHANNEL;
  v.push_back({"fp8_channel_w8a8_f16", fp8c});
  Case mx = base; mx.H = 256; mx.I = 128; mx.K = 4;
  mx.quant = MOERT_QUANT_MXFP4; mx.act = MOERT_ACT_SWIGLUOAI; mx.layout = MOERT_GATE_UP_INTERLEAVED; mx.bias = true;
  v.push_back({"mxfp4_gptoss", mx});
  Case sh = base; sh.shared = true; sh.shared_gate = true; sh.bf16 = false;
  v.push_back({"shared_gated_f16", sh});
  Case ep = base; ep.num_local = 4; ep.expert_map = {0, -1, 1, -1, 2, -1, 3, -1};
  v.push_back({"expert_map", ep});
  return v;
}

}  // namespace

class ReferenceAgreesWithCore : public ::testing::TestWithParam<Named> {};

TEST_P(ReferenceAgreesWithCore, SameOutput) {
  const Case& c = GetParam().c;
  const int64_t T = 24;
  const HostWeights w = make_weights(c, 555);
  const auto x = random_act(c, T * c.H, 556);
  const auto lg = random_logits(T * c.E, 557);
  const auto core = core_forward(c, w, x, lg, T);
  const auto ref = reference(c, w, x, lg, T, nullptr, nullptr);
  const double err = rel_err(ref, core);
  // The core rounds its output once to the activation dtype; this reference does not.
  const double bound = c.bf16 ? 4e-3 : 1e-3;
  std::printf("[ core-vs-ref ] %-24s rel_err %.3e (bound %.0e)\n", GetParam().name, err, bound);
  EXPECT_LT(err, bound);
}

INSTANTIATE_TEST_SUITE_P(Cases, ReferenceAgreesWithCore, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<Named>& i) { return std::string(i.param.name); });
