// ModularRunner around the built-in "reference" experts kernel (BY_CORE) and a
// test IN_KERNEL adapter: same results as the "default" runner and ref64.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <memory>

#include "moe_case.h"
#include "moert/error.h"
#include "moert/modular.h"
#include "moert/moert_plugin.hpp"

using namespace moe_case;

namespace {

const moert_experts_ops* reference_ops() {
  const moert_plugin_api* a = core_api();
  for (int64_t i = 0; i < a->num_experts; ++i)
    if (std::string(a->experts[i]->name) == "reference") return a->experts[i];
  return nullptr;
}

RunResult run_modular(Case& c, const moert_experts_ops* ops, const moert_shared_expert* shared = nullptr,
                      const moert_eplb_state* eplb = nullptr) {
  RunResult r;
  c.desc.expert_map = c.p.expert_map.empty() ? nullptr : c.p.expert_map.data();
  Buf out;
  out.init(c.p.adt, {c.p.T, c.p.H});
  if (!out.bytes.empty()) std::memset(out.bytes.data(), 0xFF, out.bytes.size());
  try {
    moert::ModularRunner runner(core_api(), ops, c.desc);
    runner.set_weights(c.weights());
    moert_forward_args a{};
    a.struct_size = sizeof a;
    a.hidden_states = c.hidden.view();
    a.router_logits = c.logits.view();
    a.output = out.view();
    a.shared_expert = shared;
    a.eplb = eplb;
    runner.forward(a);
    runner.synchronize();
  } catch (const moert::Error& e) {
    r.error = e.what();
    r.code = e.code();
    return r;
  }
  r.out.resize(static_cast<size_t>(c.p.T * c.p.H));
  for (int64_t i = 0; i < c.p.T * c.p.H; ++i) {
    r.out[i] = load(out, i);
    if (std::isnan(r.out[i])) ++r.unwritten;
  }
  return r;
}

std::vector<Params> configs() {
  std::vector<Params> v;
  Params a;  // bf16 silu softmax top-k, renormalized
  a.adt = kBF16, a.wdt = kBF16, a.renorm = true, a.T = 9;
  v.push_back(a);
  Params b;  // grouped top-k with bias, f32
  b.E = 16, b.K = 4, b.method = MOERT_ROUTING_GROUPED_TOPK, b.groups = 4, b.topk_group = 2, b.scb = true;
  b.scoring = MOERT_SCORING_SIGMOID, b.renorm = true, b.rsf = 2.5f;
  v.push_back(b);
  Params c;  // fp8 block weights + fp8 per-token activations
  c.H = 192, c.I = 136, c.quant = MOERT_QUANT_FP8_BLOCK_128, c.act_quant = MOERT_ACT_QUANT_FP8_PER_TOKEN;
  v.push_back(c);
  Params d;  // gpt-oss style: mxfp4, swigluoai interleaved, biases, bf16
  d.act = MOERT_ACT_SWIGLUOAI, d.layout = MOERT_GATE_UP_INTERLEAVED, d.bias = true, d.quant = MOERT_QUANT_MXFP4;
  d.adt = kBF16, d.I = 64, d.renorm = true;
  v.push_back(d);
  Params e;  // expert map + shared expert with gate
  e.E = 8, e.K = 3, e.expert_map = {0, -1, 1, -1, 2, 3, -1, -1}, e.shared = true, e.shared_gate = true;
  v.push_back(e);
  return v;
}

TEST(Modular, ReferenceExpertsMatchDefaultRunnerAndFloat64) {
  const moert_experts_ops* ops = reference_ops();
  ASSERT_NE(ops, nullptr);
  EXPECT_EQ(ops->finalize_mode, MOERT_FINALIZE_BY_CORE);
  uint64_t seed = 300;
  for (Params p : configs()) {
    Case c = make_case(p, ++seed);
    moert_shared_expert se = c.shared();
    const moert_shared_expert* sp = p.shared ? &se : nullptr;
    RunResult m = run_modular(c, ops, sp);
    ASSERT_EQ(m.error, "");
    EXPECT_EQ(m.unwritten, 0);
    RunResult d = run_default(c, sp);
    ASSERT_EQ(d.error, "");
    const double tol = p.act_quant ? 3e-2 : tolerance(p.adt);
    EXPECT_LT(ref64::rel_error(m.out, c.reference()), tol) << "seed " << seed;
    EXPECT_LT(ref64::rel_error(m.out, d.out), tolerance(p.adt)) << "seed " << seed;
  }
}

// ---- an IN_KERNEL experts kernel for the test: the reference, weighted and
// reduced inside apply (writes [T, H] in the activation dtype) ----
struct InKernel {
  moert_experts* inner = nullptr;
  moert_layer_desc desc{};
  std::vector<float> slots;
};
moert_error* ik_can(const moert_layer_desc* l) { return reference_ops()->can_implement(l); }
moert_error* ik_create(const moert_layer_desc* l, int32_t dev, moert_experts** out) {
  auto* k = new InKernel;
  k->desc = *l;
  k->slots.resize(static_cast<size_t>(l->max_num_tokens * l->top_k * l->hidden_size));
  if (moert_error* e = reference_ops()->create(l, dev, &k->inner)) {
    delete k;
    return e;
  }
  *out = reinterpret_cast<moert_experts*>(k);
  return nullptr;
}
void ik_destroy(moert_experts* e) {
  auto* k = reinterpret_cast<InKernel*>(e);
  reference_ops()->destroy(k->inner);
  delete k;
}
moert_error* ik_ws(moert_experts*, int64_t, size_t* b) {
  *b = 128;  // exercises the workspace plumbing
  return nullptr;
}
moert_error* ik_set(moert_experts* e, const moert_expert_weights* w) {
  return reference_ops()->set_weights(reinterpret_cast<InKernel*>(e)->inner, w);
}
moert_error* ik_apply(moert_experts* e, const moert_experts_args* a) {
  auto* k = reinterpret_cast<InKernel*>(e);
  if (a->workspace.data == nullptr || a->workspace.shape[0] < 128)
    return moert::plugin::make_error(MOERT_STATUS_INVALID_ARGUMENT, "workspace missing");
  const int64_t T = a->hidden_states.shape[0], K = k->desc.top_k, H = k->desc.hidden_size;
  moert_experts_args inner = *a;
  int64_t shape[3] = {T, K, H};
  inner.output.data = k->slots.data();
  inner.output.dtype = moert::kF32;
  inner.output.ndim = 3;
  inner.output.shape = shape;
  if (moert_error* err = reference_ops()->apply(k->inner, &inner)) return err;
  const float* w = static_cast<const float*>(a->topk_weights.data);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t j = 0; j < H; ++j) {
      double s = 0;
      for (int64_t q = 0; q < K; ++q) s += (a->apply_router_weight_on_input ? 1.0f : w[t * K + q]) * k->slots[(t * K + q) * H + j];
      moert::store_from_f32(a->output.data, a->output.dtype, t * H + j, static_cast<float>(s));
    }
  return nullptr;
}
const moert_experts_ops kInKernelOps = {sizeof(moert_experts_ops), "in_kernel_test", MOERT_FINALIZE_IN_KERNEL, 0,
                                        ik_can, ik_create, ik_destroy, ik_ws, ik_set, ik_apply};

TEST(Modular, InKernelFinalize) {
  uint64_t seed = 400;
  for (Params p : configs()) {
    Case c = make_case(p, ++seed);
    moert_shared_expert se = c.shared();
    RunResult m = run_modular(c, &kInKernelOps, p.shared ? &se : nullptr);
    ASSERT_EQ(m.error, "");
    EXPECT_EQ(m.unwritten, 0);
    // The kernel's output is rounded to the activation dtype once more: allow twice the bound.
    EXPECT_LT(ref64::rel_error(m.out, c.reference()), 2 * (p.act_quant ? 3e-2 : tolerance(p.adt)));
  }
}

TEST(Modular, RouterWeightOnInput) {
  Params p;
  p.K = 1;
  p.T = 6;
  Case c = make_case(p, 9);
  static moert_kv opt[] = {{"apply_router_weight_on_input", "1"}};
  c.desc.options = opt;
  c.desc.num_options = 1;
  for (const moert_experts_ops* ops : {reference_ops(), &kInKernelOps}) {
    RunResult m = run_modular(c, ops);
    ASSERT_EQ(m.error, "");
    // Expected: out_t = expert_{id}(w_t * x_t), computed by ref64.
    std::vector<int> ids;
    std::vector<double> ones;
    std::vector<double> xs = c.x;
    for (int64_t t = 0; t < p.T; ++t) {
      std::vector<int> i;
      std::vector<double> w;
      ref64::route(c.routing, std::vector<double>(&c.logits_d[t * p.E], &c.logits_d[(t + 1) * p.E]), i, w);
      ids.push_back(i[0]);
      ones.push_back(1.0);
      for (int64_t j = 0; j < p.H; ++j) xs[t * p.H + j] = static_cast<float>(xs[t * p.H + j] * static_cast<float>(w[0]));
    }
    EXPECT_LT(ref64::rel_error(m.out, c.ref.forward_routed(xs, p.T, ids, ones)), 1e-5) << ops->name;
  }
  p.K = 2;
  Case d = make_case(p, 9);
  d.desc.options = opt;
  d.desc.num_options = 1;
  RunResult m = run_modular(d, reference_ops());
  EXPECT_NE(m.error.find("apply_router_weight_on_input needs top_k=1"), std::string::npos) << m.error;
}

TEST(Modular, EplbReplicasAndLoadsMatchTheDefaultRunner) {
  Params p;
  p.E = 8, p.K = 3, p.T = 10;
  Case c = make_case(p, 77);
  hold_experts(c, {0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2});  // physical 8..10 replicate logical 0..2
  c.p.num_redundant = 3;
  c.desc.num_redundant_experts = 3;
  Buf map, count, load_m, load_d;
  map.init(moert::kI32, {8, 2});
  count.init(moert::kI32, {8});
  load_m.init(moert::kI64, {11});
  load_d.init(moert::kI64, {11});
  for (int e = 0; e < 8; ++e) {
    map.as<int32_t>()[e * 2] = e;
    map.as<int32_t>()[e * 2 + 1] = e < 3 ? 8 + e : -1;
    count.as<int32_t>()[e] = e < 3 ? 2 : 1;
  }
  moert_eplb_state s{};
  s.struct_size = sizeof s;
  s.logical_to_physical_map = map.view();
  s.logical_replica_count = count.view();
  s.expert_load = load_m.view();
  RunResult m = run_modular(c, reference_ops(), nullptr, &s);
  ASSERT_EQ(m.error, "");
  s.expert_load = load_d.view();
  RunResult d = run_default(c, nullptr, &s);
  ASSERT_EQ(d.error, "");
  EXPECT_LT(ref64::rel_error(m.out, d.out), 1e-6);
  EXPECT_EQ(load_m.bytes, load_d.bytes);
  int64_t total = 0;
  for (int q = 0; q < 11; ++q) total += load_m.as<int64_t>()[q];
  EXPECT_EQ(total, p.T * p.K);
  s.logical_replica_count = moert_tensor{};
  RunResult bad = run_modular(c, reference_ops(), nullptr, &s);
  EXPECT_NE(bad.error.find("EPLB requires logical_replica_count"), std::string::npos) << bad.error;
}

moert_error* fixed_routing(void*, const moert_tensor* l, int32_t k, moert_tensor* w, moert_tensor* ids, moert_stream) {
  if (l->device.device_type != MOERT_DEVICE_CPU)
    return moert::plugin::make_error(MOERT_STATUS_INVALID_ARGUMENT, "expected host logits");
  for (int64_t i = 0; i < l->shape[0] * k; ++i) {
    static_cast<int32_t*>(ids->data)[i] = static_cast<int32_t>((i * 5) % 8);
    static_cast<float*>(w->data)[i] = 0.25f + 0.1f * static_cast<float>(i % 3);
  }
  return nullptr;
}

TEST(Modular, CustomRoutingRunsOnTheHost) {
  Params p;
  p.method = MOERT_ROUTING_CUSTOM;
  p.custom = fixed_routing;
  p.T = 6;
  Case c = make_case(p, 5);
  c.p.custom_ref = [](int64_t t, std::vector<int>& ids, std::vector<double>& w) {
    ids.clear();
    w.clear();
    for (int64_t i = t * 2; i < t * 2 + 2; ++i) {
      ids.push_back(static_cast<int>((i * 5) % 8));
      w.push_back(0.25f + 0.1f * static_cast<float>(i % 3));
    }
  };
  RunResult m = run_modular(c, reference_ops());
  ASSERT_EQ(m.error, "");
  EXPECT_LT(ref64::rel_error(m.out, c.reference()), 1e-5);
}

TEST(Modular, EplbZeroTokensAndErrors) {
  Params p;
  p.T = 0;
  Case z = make_case(p, 1);
  EXPECT_EQ(run_modular(z, reference_ops()).error, "");
  Params q;
  q.T = 3;
  Case c = make_case(q, 2);
  c.logits.as<float>()[5] = NAN;
  RunResult r = run_modular(c, reference_ops());
  EXPECT_EQ(r.code, MOERT_STATUS_INVALID_ARGUMENT);
  EXPECT_NE(r.error.find("router_logits[token 0, expert 5] is NaN"), std::string::npos) << r.error;
  Case d = make_case(q, 2);
  d.desc.quant_scheme = MOERT_QUANT_MXFP4;  // weight_dtype stays f32
  r = run_modular(d, reference_ops());
  EXPECT_NE(r.error.find("quant_scheme mxfp4 needs weight_dtype fp4_e2m1, got f32"), std::string::npos) << r.error;
}

}  // namespace
