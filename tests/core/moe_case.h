// moe_case.h -- test harness: builds one random MoE layer (desc, weights in
// any dtype / quant scheme, inputs), its float64 model (ref64.h) and runs the
// core's built-in runner through the C ABI table.
#pragma once

#include <cmath>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "moert/builtin.h"
#include "moert/host_tensor.h"
#include "moert/moert_plugin.h"
#include "moert/quant.h"
#include "ref64.h"

namespace moe_case {

using moert::kBF16;
using moert::kF16;
using moert::kF32;
using moert::operator==;
using moert::operator!=;

struct Buf {
  std::vector<uint8_t> bytes;
  std::vector<int64_t> shape;
  moert_dtype dtype{};
  void init(moert_dtype d, std::vector<int64_t> s) {
    dtype = d;
    shape = std::move(s);
    int64_t n = 1;
    for (auto v : shape) n *= v;
    bytes.assign(static_cast<size_t>((n * d.bits + 7) / 8), 0);
  }
  moert_tensor view() {
    moert_tensor t{};
    if (shape.empty()) return t;  // absent
    t.data = bytes.empty() ? nullptr : bytes.data();
    t.device = {MOERT_DEVICE_CPU, 0};
    t.ndim = static_cast<int32_t>(shape.size());
    t.dtype = dtype;
    t.shape = shape.data();
    return t;
  }
  template <class T> T* as() { return reinterpret_cast<T*>(bytes.data()); }
};

inline ref64::Dtype ref_dtype(moert_dtype d) { return d == kBF16 ? ref64::BF16 : d == kF16 ? ref64::F16 : ref64::F32; }

// Stores v as dtype d at index i; returns the stored value, decoded by ref64.
inline double store(Buf& b, int64_t i, double v) {
  if (b.dtype == kF32) {
    b.as<float>()[i] = static_cast<float>(v);
    return static_cast<float>(v);
  }
  if (b.dtype == kBF16) return ref64::bf16(b.as<uint16_t>()[i] = moert::f32_to_bf16(static_cast<float>(v)));
  return ref64::f16(b.as<uint16_t>()[i] = moert::f32_to_f16(static_cast<float>(v)));
}
inline double load(const Buf& b, int64_t i) {
  if (b.dtype == kF32) return reinterpret_cast<const float*>(b.bytes.data())[i];
  const uint16_t u = reinterpret_cast<const uint16_t*>(b.bytes.data())[i];
  return b.dtype == kBF16 ? ref64::bf16(u) : ref64::f16(u);
}

struct Params {
  int E = 8, K = 2;
  int64_t H = 64, I = 32, T = 5, max_tokens = 0;  // 0: T
  int act = MOERT_ACT_SILU_AND_MUL, layout = MOERT_GATE_UP_CONCAT;
  bool bias = false;
  float alpha = 1.702f, limit = 7.0f;
  int method = MOERT_ROUTING_TOPK, scoring = MOERT_SCORING_SOFTMAX;
  bool renorm = false;
  int groups = 1, topk_group = 1;
  bool scb = false;
  float rsf = 1.0f;
  moert_dtype adt = kF32, wdt = kF32;
  int quant = MOERT_QUANT_NONE, act_quant = MOERT_ACT_QUANT_NONE;
  std::vector<int32_t> expert_map;  // empty: identity
  int num_redundant = 0;
  bool shared = false, shared_gate = false;
  int shared_act = MOERT_ACT_SILU_AND_MUL;
  int64_t Is = 32;
  moert_custom_routing_fn custom = nullptr;
  void* custom_ctx = nullptr;
  // Reference of the custom routing: fills ids / weights of token t.
  std::function<void(int64_t, std::vector<int>&, std::vector<double>&)> custom_ref;
  double logit_scale = 2.0;
};

struct Case {
  Params p;
  moert_layer_desc desc{};
  Buf w13, w2, w13_scale, w2_scale, b13, b2, scb, hidden, logits, sw13, sw2, sgate;
  ref64::Layer ref;
  ref64::Routing routing;
  std::vector<double> x, logits_d;

  int phys() const { return p.E + p.num_redundant; }
  int local() const {
    if (p.expert_map.empty()) return phys();
    int n = 0;
    for (int v : p.expert_map) n += v >= 0;
    return n;
  }
  moert_expert_weights weights() {
    moert_expert_weights w{};
    w.struct_size = sizeof w;
    w.w13 = w13.view();
    w.w2 = w2.view();
    w.w13_scale = w13_scale.view();
    w.w2_scale = w2_scale.view();
    w.w13_bias = b13.view();
    w.w2_bias = b2.view();
    w.score_correction_bias = scb.view();
    return w;
  }
  moert_shared_expert shared() {
    moert_shared_expert s{};
    s.struct_size = sizeof s;
    s.intermediate_size = p.Is;
    s.activation = p.shared_act;
    s.w13 = sw13.view();
    s.w2 = sw2.view();
    s.gate = sgate.view();
    return s;
  }
  // float64 expected output [T*H] (logical ids == physical ids).
  std::vector<double> reference() const {
    std::vector<int> ids;
    std::vector<double> w;
    for (int64_t t = 0; t < p.T; ++t) {
      std::vector<int> i;
      std::vector<double> ww;
      if (p.method == MOERT_ROUTING_CUSTOM) {
        p.custom_ref(t, i, ww);
        for (auto& v : ww) v *= p.rsf;
      } else {
        ref64::route(routing, std::vector<double>(&logits_d[t * p.E], &logits_d[(t + 1) * p.E]), i, ww);
      }
      ids.insert(ids.end(), i.begin(), i.end());
      w.insert(w.end(), ww.begin(), ww.end());
    }
    return ref.forward_routed(x, p.T, ids, w);
  }
};

// Random matrix family [EL, rows, cols] in the layer's weight format; fills
// `deq` with the exact values (ref64 decoders).
inline void make_matrix(const Params& p, int EL, int64_t rows, int64_t cols, std::mt19937_64& rng, Buf& w,
                        Buf& scale, std::vector<std::vector<double>>& deq) {
  std::uniform_real_distribution<double> u(-1.0, 1.0), pos(0.5, 1.5);
  const double amp = 1.7 / std::sqrt(static_cast<double>(cols));
  deq.assign(static_cast<size_t>(EL), std::vector<double>(static_cast<size_t>(rows * cols)));
  const int q = p.quant;
  if (q == MOERT_QUANT_NONE) {
    w.init(p.wdt, {EL, rows, cols});
    for (int e = 0; e < EL; ++e)
      for (int64_t i = 0; i < rows * cols; ++i) deq[e][i] = store(w, e * rows * cols + i, u(rng) * amp);
    return;
  }
  if (q == MOERT_QUANT_MXFP4) {
    w.init(moert::kFP4E2M1, {EL, rows, cols});
    scale.init(moert::kE8M0, {EL, rows, cols / 32});
    const int base = 127 + static_cast<int>(std::lround(std::log2(amp / 3.0)));
    for (auto& s : scale.bytes) s = static_cast<uint8_t>(base + static_cast<int>(rng() % 3) - 1);
    for (auto& b : w.bytes) b = static_cast<uint8_t>(rng() & 0xFF);
    for (int e = 0; e < EL; ++e)
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < cols; ++c) {
          const int64_t flat = (e * rows + r) * cols + c;
          const uint8_t byte = w.bytes[static_cast<size_t>(flat / 2)];
          const uint8_t nib = (c % 2 == 0) ? (byte & 0xF) : (byte >> 4);  // low nibble = even element
          deq[e][r * cols + c] = ref64::e2m1(nib) * ref64::e8m0(scale.bytes[static_cast<size_t>((e * rows + r) * (cols / 32) + c / 32)]);
        }
    return;
  }
  // fp8 e4m3 with f32 scales
  w.init(moert::kFP8E4M3, {EL, rows, cols});
  const int64_t rb = (rows + 127) / 128, cb = (cols + 127) / 128;
  if (q == MOERT_QUANT_FP8_PER_TENSOR) scale.init(kF32, {EL});
  else if (q == MOERT_QUANT_FP8_PER_CHANNEL) scale.init(kF32, {EL, rows});
  else scale.init(kF32, {EL, rb, cb});
  float* s = scale.as<float>();
  const int64_t ns = static_cast<int64_t>(scale.bytes.size() / 4);
  for (int64_t i = 0; i < ns; ++i) s[i] = static_cast<float>(amp / 448.0 * pos(rng));
  for (int e = 0; e < EL; ++e)
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c) {
        const float sc = q == MOERT_QUANT_FP8_PER_TENSOR ? s[e]
                         : q == MOERT_QUANT_FP8_PER_CHANNEL ? s[e * rows + r]
                                                            : s[(e * rb + r / 128) * cb + c / 128];
        const uint8_t code = moert::f32_to_fp8_e4m3(static_cast<float>(u(rng) * 448.0));
        w.bytes[static_cast<size_t>((e * rows + r) * cols + c)] = code;
        deq[e][r * cols + c] = ref64::e4m3(code) * static_cast<double>(sc);
      }
}

inline Case make_case(const Params& p, uint64_t seed) {
  Case c;
  c.p = p;
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  moert_layer_desc& d = c.desc;
  std::memset(&d, 0, sizeof d);
  d.struct_size = sizeof d;
  d.num_experts = p.E;
  d.top_k = p.K;
  d.hidden_size = p.H;
  d.intermediate_size = p.I;
  d.activation = p.act;
  d.gate_up_layout = p.layout;
  d.has_bias = p.bias;
  d.swiglu_alpha = p.alpha;
  d.swiglu_limit = p.limit;
  d.routing_method = p.method;
  d.scoring = p.scoring;
  d.renormalize = p.renorm;
  d.num_expert_group = p.groups;
  d.topk_group = p.topk_group;
  d.has_score_correction_bias = p.scb;
  d.routed_scaling_factor = p.rsf;
  d.activation_dtype = p.adt;
  d.weight_dtype = p.quant == MOERT_QUANT_NONE ? p.wdt : p.quant == MOERT_QUANT_MXFP4 ? moert::kFP4E2M1 : moert::kFP8E4M3;
  d.quant_scheme = p.quant;
  d.activation_quant = p.act_quant;
  d.max_num_tokens = p.max_tokens ? p.max_tokens : std::max<int64_t>(p.T, 1);
  d.ep_rank = 0;
  d.ep_size = 1;
  d.num_local_experts = c.local();
  d.expert_map = p.expert_map.empty() ? nullptr : c.p.expert_map.data();
  d.custom_routing = p.custom;
  d.custom_routing_context = p.custom_ctx;
  d.num_redundant_experts = p.num_redundant;

  const int EL = c.local();
  const int64_t R = ref64::gated(p.act) ? 2 * p.I : p.I;
  make_matrix(p, EL, R, p.H, rng, c.w13, c.w13_scale, c.ref.w13);
  make_matrix(p, EL, p.H, p.I, rng, c.w2, c.w2_scale, c.ref.w2);
  if (p.bias) {
    c.b13.init(kF32, {EL, R});
    c.b2.init(kF32, {EL, p.H});
    c.ref.b13.assign(EL, std::vector<double>(R));
    c.ref.b2.assign(EL, std::vector<double>(p.H));
    for (int e = 0; e < EL; ++e) {
      for (int64_t r = 0; r < R; ++r) c.ref.b13[e][r] = c.b13.as<float>()[e * R + r] = static_cast<float>(0.3 * u(rng));
      for (int64_t h = 0; h < p.H; ++h) c.ref.b2[e][h] = c.b2.as<float>()[e * p.H + h] = static_cast<float>(0.3 * u(rng));
    }
  }
  c.routing.E = p.E;
  c.routing.K = p.K;
  c.routing.sigmoid_scoring = p.scoring == MOERT_SCORING_SIGMOID;
  c.routing.renormalize = p.renorm;
  c.routing.grouped = p.method == MOERT_ROUTING_GROUPED_TOPK;
  c.routing.groups = p.groups;
  c.routing.topk_group = p.topk_group;
  c.routing.scaling = p.rsf;
  if (p.scb) {
    c.scb.init(kF32, {p.E});
    for (int e = 0; e < p.E; ++e) c.routing.bias.push_back(c.scb.as<float>()[e] = static_cast<float>(0.2 * u(rng)));
  }
  c.ref.E = p.E;
  c.ref.K = p.K;
  c.ref.H = p.H;
  c.ref.I = p.I;
  c.ref.act = p.act;
  c.ref.interleaved = p.layout == MOERT_GATE_UP_INTERLEAVED;
  c.ref.alpha = p.alpha;
  c.ref.limit = p.limit;
  c.ref.dtype = ref_dtype(p.adt);
  c.ref.fp8_per_token = p.act_quant == MOERT_ACT_QUANT_FP8_PER_TOKEN;
  c.ref.expert_map.assign(p.expert_map.begin(), p.expert_map.end());

  c.hidden.init(p.adt, {p.T, p.H});
  c.x.resize(static_cast<size_t>(p.T * p.H));
  for (int64_t i = 0; i < p.T * p.H; ++i) c.x[i] = store(c.hidden, i, 1.5 * u(rng));
  c.logits.init(kF32, {p.T, p.E});
  c.logits_d.resize(static_cast<size_t>(p.T * p.E));
  for (int64_t i = 0; i < p.T * p.E; ++i) c.logits_d[i] = c.logits.as<float>()[i] = static_cast<float>(p.logit_scale * u(rng));

  if (p.shared) {
    const int64_t Rs = ref64::gated(p.shared_act) ? 2 * p.Is : p.Is;
    c.sw13.init(p.adt, {Rs, p.H});
    c.sw2.init(p.adt, {p.H, p.Is});
    c.ref.w13s.resize(static_cast<size_t>(Rs * p.H));
    c.ref.w2s.resize(static_cast<size_t>(p.H * p.Is));
    for (int64_t i = 0; i < Rs * p.H; ++i) c.ref.w13s[i] = store(c.sw13, i, u(rng) / std::sqrt(double(p.H)));
    for (int64_t i = 0; i < p.H * p.Is; ++i) c.ref.w2s[i] = store(c.sw2, i, u(rng) / std::sqrt(double(p.Is)));
    c.ref.shared_act = p.shared_act;
    c.ref.Is = p.Is;
    if (p.shared_gate) {
      c.sgate.init(p.adt, {p.H});
      c.ref.gate.resize(static_cast<size_t>(p.H));
      for (int64_t i = 0; i < p.H; ++i) c.ref.gate[i] = store(c.sgate, i, u(rng) / std::sqrt(double(p.H)));
    }
  }
  return c;
}

// ---------- driving the built-in plugin through its C table ----------
inline const moert_plugin_api* core_api() {
  static const moert_plugin_api* api = moert_builtin_plugin_entry(MOERT_ABI_MAJOR, MOERT_ABI_MINOR, nullptr);
  return api;
}
inline const moert_runner_ops* runner_ops(const char* name) {
  const moert_plugin_api* a = core_api();
  for (int64_t i = 0; i < a->num_runners; ++i)
    if (std::string(a->runners[i]->name) == name) return a->runners[i];
  return nullptr;
}

// Takes ownership of err; returns "" or its message (and code).
inline std::string take(moert_error* err, int* code = nullptr) {
  if (code) *code = err ? core_api()->error_code(err) : 0;
  if (!err) return "";
  std::string m = core_api()->error_message(err);
  core_api()->error_destroy(err);
  return m;
}

struct RunResult {
  std::string error;  // "" on success
  int code = 0;
  std::vector<double> out;
  int64_t unwritten = 0;  // NaN left in the poisoned output
};

// create + set_weights + one forward of the "default" runner. The output is
// poisoned (all bytes 0xFF: NaN in f32/bf16/f16) before the forward.
inline RunResult run_default(Case& c, const moert_shared_expert* shared = nullptr, const moert_eplb_state* eplb = nullptr,
                             moert_tensor* logits_override = nullptr) {
  RunResult r;
  const moert_runner_ops* ops = runner_ops("default");
  moert_runner* inst = nullptr;
  c.desc.expert_map = c.p.expert_map.empty() ? nullptr : c.p.expert_map.data();  // c may have moved
  r.error = take(ops->can_implement(&c.desc), &r.code);
  if (r.error.empty()) r.error = take(ops->create(&c.desc, 0, &inst), &r.code);
  if (!r.error.empty()) return r;
  moert_expert_weights w = c.weights();
  r.error = take(ops->set_weights(inst, &w), &r.code);
  Buf out;
  out.init(c.p.adt, {c.p.T, c.p.H});
  if (!out.bytes.empty()) std::memset(out.bytes.data(), 0xFF, out.bytes.size());
  if (r.error.empty()) {
    moert_forward_args a{};
    a.struct_size = sizeof a;
    a.hidden_states = c.hidden.view();
    a.router_logits = logits_override ? *logits_override : c.logits.view();
    a.output = out.view();
    a.shared_expert = shared;
    a.eplb = eplb;
    r.error = take(ops->forward(inst, &a), &r.code);
  }
  ops->destroy(inst);
  if (!r.error.empty()) return r;
  r.out.resize(static_cast<size_t>(c.p.T * c.p.H));
  for (int64_t i = 0; i < c.p.T * c.p.H; ++i) {
    r.out[i] = load(out, i);
    if (std::isnan(r.out[i])) ++r.unwritten;
  }
  return r;
}

inline double tolerance(moert_dtype adt) { return adt == kBF16 ? 1e-2 : adt == kF16 ? 2e-3 : 1e-5; }

}  // namespace moe_case

namespace moe_case {

// Rows of a Buf whose first dim indexes experts, picked by `experts`
// (which may repeat an expert: EPLB replicas).
inline Buf pick_experts(const Buf& b, const std::vector<int>& experts) {
  Buf out;
  if (b.shape.empty()) return out;
  const size_t per = b.bytes.size() / static_cast<size_t>(b.shape[0]);
  std::vector<int64_t> shape = b.shape;
  shape[0] = static_cast<int64_t>(experts.size());
  out.init(b.dtype, shape);
  for (size_t i = 0; i < experts.size(); ++i)
    std::memcpy(out.bytes.data() + i * per, b.bytes.data() + static_cast<size_t>(experts[i]) * per, per);
  return out;
}

// The same layer as `full` (identity map, E experts) with only `experts` held,
// in that order, as local 0..n-1; p.expert_map / num_redundant set by caller.
inline void hold_experts(Case& c, const std::vector<int>& experts) {
  c.w13 = pick_experts(c.w13, experts);
  c.w2 = pick_experts(c.w2, experts);
  c.w13_scale = pick_experts(c.w13_scale, experts);
  c.w2_scale = pick_experts(c.w2_scale, experts);
  c.b13 = pick_experts(c.b13, experts);
  c.b2 = pick_experts(c.b2, experts);
  auto pick = [&](std::vector<std::vector<double>>& v) {
    if (v.empty()) return;
    std::vector<std::vector<double>> o;
    for (int e : experts) o.push_back(v[static_cast<size_t>(e)]);
    v = o;
  };
  pick(c.ref.w13);
  pick(c.ref.w2);
  pick(c.ref.b13);
  pick(c.ref.b2);
  c.desc.num_local_experts = static_cast<int32_t>(experts.size());
}

}  // namespace moe_case
