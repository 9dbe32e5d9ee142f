#include "cpu_moe.h"

#include <cmath>
#include <cstddef>
#include <cstring>

#include "numerics.h"
#include "tensor_checks.h"

namespace moert_test_good {

using moert::plugin::make_error;
using moert::plugin::same_dtype;

namespace {

const char* activation_str(int32_t a) {
  static const char* const names[] = {"silu_and_mul", "gelu_and_mul", "gelu_tanh_and_mul",
                                      "swigluoai",    "silu",         "gelu", "relu2"};
  return (a >= 0 && a < 7) ? names[a] : "unknown";
}

bool is_float_dtype(moert_dtype d) {
  return same_dtype(d, kF32) || same_dtype(d, kBF16) || same_dtype(d, kF16);
}

// Size of the 1.0 prefix of a struct: what every producer fills.
constexpr size_t kLayerDesc10 = offsetof(moert_layer_desc, num_options) + sizeof(int64_t);
constexpr size_t kForwardArgs10 =
    offsetof(moert_forward_args, shared_expert) + sizeof(const moert_shared_expert*);

float to_f32(const void* base, moert_dtype d, int64_t i) {
  if (same_dtype(d, kF32)) return static_cast<const float*>(base)[i];
  if (same_dtype(d, kBF16)) return bf16_to_f32(static_cast<const uint16_t*>(base)[i]);
  return f16_to_f32(static_cast<const uint16_t*>(base)[i]);
}

std::vector<float> to_f32_vector(const moert_tensor& t) {
  const int64_t n = moert::plugin::numel(t);
  std::vector<float> out(static_cast<size_t>(n));
  const void* base = moert::plugin::data_ptr(t);
  for (int64_t i = 0; i < n; ++i) out[static_cast<size_t>(i)] = to_f32(base, t.dtype, i);
  return out;
}

double dot(const float* a, const float* b, int64_t n) {
  double s = 0.0;
  for (int64_t i = 0; i < n; ++i) s += static_cast<double>(a[i]) * b[i];
  return s;
}

}  // namespace

moert_error* check_layer(const char* call, const moert_layer_desc* l) {
  if (l == nullptr) return make_error(MOERT_STATUS_INVALID_ARGUMENT, "%s: layer is NULL", call);
  if (l->struct_size < kLayerDesc10)
    return make_error(MOERT_STATUS_INVALID_ARGUMENT,
                      "%s: layer struct_size %zu is smaller than ABI 1.0's %zu", call,
                      l->struct_size, kLayerDesc10);
  // --- malformed descriptions: INVALID_ARGUMENT ---
  const int32_t redundant = MOERT_HAS_FIELD(l, moert_layer_desc, num_redundant_experts)
                                ? l->num_redundant_experts : 0;
  if (l->num_experts < 1)
    return make_error(MOERT_STATUS_INVALID_ARGUMENT, "%s: num_experts is %d, expected >= 1", call,
                      l->num_experts);
  if (l->top_k < 1 || l->top_k > l->num_experts)
    return make_error(MOERT_STATUS_INVALID_ARGUMENT,
                      "%s: top_k is %d, expected 1..num_experts (%d)", call, l->top_k,
                      l->num_experts);
  if (l->hidden_size < 1 || l->intermediate_size < 1)
    return make_error(MOERT_STATUS_INVALID_ARGUMENT,
                      "%s: hidden_size %lld and intermediate_size %lld must be >= 1", call,
                      static_cast<long long>(l->hidden_size),
                      static_cast<long long>(l->intermediate_size));
  if (l->max_num_tokens < 1)
    return make_error(MOERT_STATUS_INVALID_ARGUMENT, "%s: max_num_tokens is %lld, expected >= 1",
                      call, static_cast<long long>(l->max_num_tokens));
  if (l->activation < 0 || l->activation > MOERT_ACT_RELU2)
    return make_error(MOERT_STATUS_INVALID_ARGUMENT, "%s: activation %d is not a moert_activation",
                      call, l->activation);
  if (l->gate_up_layout < 0 || l->gate_up_layout > MOERT_GATE_UP_INTERLEAVED ||
      l->routing_method < 0 || l->routing_method > 2 || l->scoring < 0 ||
      l->scoring > MOERT_SCORING_SIGMOID || l->quant_scheme < 0 ||
      l->quant_scheme > MOERT_QUANT_MXFP4 || l->activation_quant < 0 ||
      l->activation_quant > MOERT_ACT_QUANT_FP8_PER_TOKEN)
    return make_error(MOERT_STATUS_INVALID_ARGUMENT,
                      "%s: an enum is out of range (gate_up_layout %d, routing_method %d, scoring "
                      "%d, quant_scheme %d, activation_quant %d)",
                      call, l->gate_up_layout, l->routing_method, l->scoring, l->quant_scheme,
                      l->activation_quant);
  if (!is_float_dtype(l->activation_dtype))
    return make_error(MOERT_STATUS_INVALID_ARGUMENT,
                      "%s: activation_dtype %s is not f32, bf16 or f16", call,
                      dtype_str(l->activation_dtype).c_str());
  if (l->quant_scheme == MOERT_QUANT_NONE && !is_float_dtype(l->weight_dtype))
    return make_error(MOERT_STATUS_INVALID_ARGUMENT,
                      "%s: weight_dtype %s with quant_scheme none, expected f32, bf16 or f16",
                      call, dtype_str(l->weight_dtype).c_str());
  if (l->ep_size < 1 || l->ep_rank < 0 || l->ep_rank >= l->ep_size)
    return make_error(MOERT_STATUS_INVALID_ARGUMENT, "%s: ep_rank %d / ep_size %d is invalid",
                      call, l->ep_rank, l->ep_size);
  if (redundant < 0)
    return make_error(MOERT_STATUS_INVALID_ARGUMENT, "%s: num_redundant_experts is %d", call,
                      redundant);
  const int32_t physical = l->num_experts + redundant;
  if (l->num_local_experts < 1 || l->num_local_experts > physical)
    return make_error(MOERT_STATUS_INVALID_ARGUMENT,
                      "%s: num_local_experts is %d, expected 1..%d", call, l->num_local_experts,
                      physical);
  if (l->expert_map == nullptr && l->num_local_experts != physical)
    return make_error(MOERT_STATUS_INVALID_ARGUMENT,
                      "%s: num_local_experts %d != %d experts but no expert_map", call,
                      l->num_local_experts, physical);
  if (l->expert_map != nullptr) {
    for (int32_t e = 0; e < physical; ++e)
      if (l->expert_map[e] < -1 || l->expert_map[e] >= l->num_local_experts)
        return make_error(MOERT_STATUS_INVALID_ARGUMENT,
                          "%s: expert_map[%d] = %d, expected -1 or 0..%d", call, e,
                          l->expert_map[e], l->num_local_experts - 1);
  }
  if (l->num_options < 0 || (l->num_options > 0 && l->options == nullptr))
    return make_error(MOERT_STATUS_INVALID_ARGUMENT, "%s: %lld options but options is NULL", call,
                      static_cast<long long>(l->num_options));

  // --- valid but not done here: UNIMPLEMENTED ---
  if (l->activation != MOERT_ACT_SILU_AND_MUL && l->activation != MOERT_ACT_GELU_AND_MUL)
    return make_error(MOERT_STATUS_UNIMPLEMENTED,
                      "%s: activation %s is not implemented (test-good: silu_and_mul, gelu_and_mul)",
                      call, activation_str(l->activation));
  if (l->gate_up_layout != MOERT_GATE_UP_CONCAT)
    return make_error(MOERT_STATUS_UNIMPLEMENTED,
                      "%s: interleaved gate/up rows are not implemented", call);
  if (l->routing_method != MOERT_ROUTING_TOPK)
    return make_error(MOERT_STATUS_UNIMPLEMENTED,
                      "%s: routing method %d is not implemented (test-good: topk)", call,
                      l->routing_method);
  if (same_dtype(l->activation_dtype, kF16))
    return make_error(MOERT_STATUS_UNIMPLEMENTED,
                      "%s: activation dtype f16 is not implemented (test-good: f32, bf16)", call);
  if (l->quant_scheme != MOERT_QUANT_NONE)
    return make_error(MOERT_STATUS_UNIMPLEMENTED,
                      "%s: quant_scheme %d is not implemented (test-good: none)", call,
                      l->quant_scheme);
  if (same_dtype(l->weight_dtype, kF16))
    return make_error(MOERT_STATUS_UNIMPLEMENTED,
                      "%s: weight dtype f16 is not implemented (test-good: f32, bf16)", call);
  if (l->activation_quant != MOERT_ACT_QUANT_NONE)
    return make_error(MOERT_STATUS_UNIMPLEMENTED,
                      "%s: activation quantization is not implemented", call);
  if (redundant > 0)
    return make_error(MOERT_STATUS_UNIMPLEMENTED,
                      "%s: redundant experts (EPLB) are not implemented", call);
  return nullptr;
}

CpuMoe::CpuMoe(const moert_layer_desc& l)
    : E_(l.num_experts),
      top_k_(l.top_k),
      num_local_(l.num_local_experts),
      H_(l.hidden_size),
      I_(l.intermediate_size),
      R_(2 * l.intermediate_size),
      max_tokens_(l.max_num_tokens),
      activation_(l.activation),
      scoring_(l.scoring),
      has_bias_(l.has_bias != 0),
      renormalize_(l.renormalize != 0),
      scaling_(l.routed_scaling_factor),
      act_dtype_(l.activation_dtype),
      weight_dtype_(l.weight_dtype) {
  if (l.expert_map) expert_map_.assign(l.expert_map, l.expert_map + l.num_experts);
}

// Workspace: x, acc, y [H] f32; logits, scores [E] f32; top-k weights f32, ids i32.
struct CpuMoe::Scratch {
  float *x, *acc, *y, *logits, *scores, *weights;
  int32_t* ids;
};

size_t CpuMoe::workspace_bytes() const {
  return static_cast<size_t>(3 * H_ + 2 * E_ + 2 * top_k_) * sizeof(float);
}

CpuMoe::Scratch CpuMoe::scratch(const moert_tensor& ws) const {
  float* p = static_cast<float*>(moert::plugin::data_ptr(ws));
  Scratch s;
  s.x = p;
  s.acc = s.x + H_;
  s.y = s.acc + H_;
  s.logits = s.y + H_;
  s.scores = s.logits + E_;
  s.weights = s.scores + E_;
  s.ids = reinterpret_cast<int32_t*>(s.weights + top_k_);
  return s;
}

moert_error* CpuMoe::set_weights(const moert_expert_weights* w) {
  const char* call = "test-good set_weights";
  if (w == nullptr) return make_error(MOERT_STATUS_INVALID_ARGUMENT, "%s: weights is NULL", call);
  if (w->struct_size < sizeof(moert_expert_weights))
    return make_error(MOERT_STATUS_INVALID_ARGUMENT, "%s: weights struct_size %zu < %zu", call,
                      w->struct_size, sizeof(moert_expert_weights));
  if (auto* e = expect_tensor(call, "w13", w->w13, weight_dtype_, {num_local_, R_, H_})) return e;
  if (auto* e = expect_tensor(call, "w2", w->w2, weight_dtype_, {num_local_, H_, I_})) return e;
  if (has_bias_) {
    if (auto* e = expect_tensor(call, "w13_bias", w->w13_bias, kF32, {num_local_, R_})) return e;
    if (auto* e = expect_tensor(call, "w2_bias", w->w2_bias, kF32, {num_local_, H_})) return e;
  }
  // Convert into new buffers first: a failure leaves the old weights intact.
  std::vector<float> w13 = to_f32_vector(w->w13), w2 = to_f32_vector(w->w2), b13, b2;
  if (has_bias_) {
    b13 = to_f32_vector(w->w13_bias);
    b2 = to_f32_vector(w->w2_bias);
  }
  w13_.swap(w13);
  w2_.swap(w2);
  b13_.swap(b13);
  b2_.swap(b2);
  has_weights_ = true;
  return nullptr;
}

moert_error* CpuMoe::check_shared(const char* call, const moert_shared_expert* s,
                                  int64_t tokens) const {
  (void)tokens;
  if (s->struct_size < sizeof(moert_shared_expert))
    return make_error(MOERT_STATUS_INVALID_ARGUMENT, "%s: shared_expert struct_size %zu < %zu",
                      call, s->struct_size, sizeof(moert_shared_expert));
  if (s->activation != MOERT_ACT_SILU_AND_MUL && s->activation != MOERT_ACT_GELU_AND_MUL)
    return make_error(MOERT_STATUS_UNIMPLEMENTED,
                      "%s: shared expert activation %s is not implemented", call,
                      activation_str(s->activation));
  if (s->intermediate_size < 1)
    return make_error(MOERT_STATUS_INVALID_ARGUMENT,
                      "%s: shared expert intermediate_size is %lld", call,
                      static_cast<long long>(s->intermediate_size));
  const int64_t Is = s->intermediate_size;
  if (auto* e = expect_tensor(call, "shared_expert.w13", s->w13, act_dtype_, {2 * Is, H_})) return e;
  if (auto* e = expect_tensor(call, "shared_expert.w2", s->w2, act_dtype_, {H_, Is})) return e;
  if (moert::plugin::present(s->gate))
    if (auto* e = expect_tensor(call, "shared_expert.gate", s->gate, act_dtype_, {H_})) return e;
  return nullptr;
}

moert_error* CpuMoe::check_forward(const moert_forward_args* a) const {
  const char* call = "test-good forward";
  if (a == nullptr) return make_error(MOERT_STATUS_INVALID_ARGUMENT, "%s: args is NULL", call);
  if (a->struct_size < kForwardArgs10)
    return make_error(MOERT_STATUS_INVALID_ARGUMENT, "%s: args struct_size %zu < ABI 1.0's %zu",
                      call, a->struct_size, kForwardArgs10);
  if (!has_weights_)
    return make_error(MOERT_STATUS_FAILED_PRECONDITION, "%s: called before set_weights", call);
  const moert_tensor& hs = a->hidden_states;
  if (hs.ndim != 2 || hs.shape == nullptr)
    return make_error(MOERT_STATUS_INVALID_ARGUMENT,
                      "%s: hidden_states must be 2-D [T, %lld], got %s", call,
                      static_cast<long long>(H_), shape_str(hs).c_str());
  const int64_t T = hs.shape[0];
  if (T < 0 || T > max_tokens_)
    return make_error(MOERT_STATUS_INVALID_ARGUMENT,
                      "%s: hidden_states has %lld tokens, expected 0..max_num_tokens (%lld)", call,
                      static_cast<long long>(T), static_cast<long long>(max_tokens_));
  if (auto* e = expect_tensor(call, "hidden_states", hs, act_dtype_, {T, H_})) return e;
  if (!is_float_dtype(a->router_logits.dtype))
    return make_error(MOERT_STATUS_INVALID_ARGUMENT,
                      "%s: router_logits dtype %s, expected f32, bf16 or f16", call,
                      dtype_str(a->router_logits.dtype).c_str());
  if (auto* e = expect_tensor(call, "router_logits", a->router_logits, a->router_logits.dtype,
                              {T, static_cast<int64_t>(E_)}))
    return e;
  if (auto* e = expect_tensor(call, "output", a->output, act_dtype_, {T, H_})) return e;
  if (T > 0)
    if (auto* e = expect_workspace(call, a->workspace, workspace_bytes())) return e;
  if (a->shared_expert)
    if (auto* e = check_shared(call, a->shared_expert, T)) return e;
  if (MOERT_HAS_FIELD(a, moert_forward_args, eplb) && a->eplb != nullptr)
    return make_error(MOERT_STATUS_UNIMPLEMENTED, "%s: EPLB is not implemented", call);
  return nullptr;
}

moert_error* CpuMoe::check_apply(const moert_experts_args* a) const {
  const char* call = "test-good-experts apply";
  if (a == nullptr) return make_error(MOERT_STATUS_INVALID_ARGUMENT, "%s: args is NULL", call);
  if (a->struct_size < sizeof(moert_experts_args))
    return make_error(MOERT_STATUS_INVALID_ARGUMENT, "%s: args struct_size %zu < %zu", call,
                      a->struct_size, sizeof(moert_experts_args));
  if (!has_weights_)
    return make_error(MOERT_STATUS_FAILED_PRECONDITION, "%s: called before set_weights", call);
  const moert_tensor& hs = a->hidden_states;
  if (hs.ndim != 2 || hs.shape == nullptr || hs.shape[0] < 0 || hs.shape[0] > max_tokens_)
    return make_error(MOERT_STATUS_INVALID_ARGUMENT,
                      "%s: hidden_states must be [T <= %lld, %lld], got %s", call,
                      static_cast<long long>(max_tokens_), static_cast<long long>(H_),
                      shape_str(hs).c_str());
  const int64_t T = hs.shape[0], K = top_k_;
  if (auto* e = expect_tensor(call, "hidden_states", hs, act_dtype_, {T, H_})) return e;
  if (auto* e = expect_tensor(call, "topk_ids", a->topk_ids, kI32, {T, K})) return e;
  if (auto* e = expect_tensor(call, "topk_weights", a->topk_weights, kF32, {T, K})) return e;
  if (auto* e = expect_tensor(call, "output", a->output, act_dtype_, {T, H_})) return e;
  const bool has_map = moert::plugin::present(a->expert_map);
  if (has_map)
    if (auto* e = expect_tensor(call, "expert_map", a->expert_map, kI32, {E_})) return e;
  if (T > 0)
    if (auto* e = expect_workspace(call, a->workspace, workspace_bytes())) return e;
  const int32_t* ids = static_cast<const int32_t*>(moert::plugin::data_ptr(a->topk_ids));
  const int32_t* map =
      has_map ? static_cast<const int32_t*>(moert::plugin::data_ptr(a->expert_map)) : nullptr;
  for (int64_t i = 0; i < T * K; ++i) {
    if (ids[i] < 0 || ids[i] >= E_)
      return make_error(MOERT_STATUS_INVALID_ARGUMENT, "%s: topk_ids[%lld] = %d, expected 0..%d",
                        call, static_cast<long long>(i), ids[i], E_ - 1);
    const int32_t local = map ? map[ids[i]] : ids[i];
    if (local < -1 || local >= num_local_)
      return make_error(MOERT_STATUS_INVALID_ARGUMENT,
                        "%s: expert %d maps to local index %d, expected -1 or 0..%d", call,
                        ids[i], local, num_local_ - 1);
  }
  return nullptr;
}

void CpuMoe::load_row(const void* base, moert_dtype d, int64_t row, int64_t cols,
                      float* out) const {
  for (int64_t c = 0; c < cols; ++c) out[c] = to_f32(base, d, row * cols + c);
}

void CpuMoe::store_row(const float* in, int64_t cols, moert_dtype d, void* base,
                       int64_t row) const {
  if (same_dtype(d, kF32)) {
    std::memcpy(static_cast<float*>(base) + row * cols, in, static_cast<size_t>(cols) * 4);
  } else {
    uint16_t* out = static_cast<uint16_t*>(base) + row * cols;
    for (int64_t c = 0; c < cols; ++c) out[c] = f32_to_bf16(in[c]);
  }
}

float CpuMoe::round_act(float v) const {
  return same_dtype(act_dtype_, kBF16) ? bf16_to_f32(f32_to_bf16(v)) : v;
}

float CpuMoe::gated(float gate, float up) const {
  return (activation_ == MOERT_ACT_GELU_AND_MUL ? gelu_erf(gate) : silu(gate)) * up;
}

void CpuMoe::route(const float* logits, float* scores, int32_t* ids, float* weights) const {
  if (scoring_ == MOERT_SCORING_SOFTMAX) {
    float m = logits[0];
    for (int32_t e = 1; e < E_; ++e) m = logits[e] > m ? logits[e] : m;
    float sum = 0.0f;
    for (int32_t e = 0; e < E_; ++e) sum += (scores[e] = std::exp(logits[e] - m));
    for (int32_t e = 0; e < E_; ++e) scores[e] /= sum;
  } else {
    for (int32_t e = 0; e < E_; ++e) scores[e] = sigmoid(logits[e]);
  }
  // Top-k by repeated arg-max; strict '>' keeps the lower id on ties.
  for (int32_t k = 0; k < top_k_; ++k) {
    int32_t best = -1;
    for (int32_t e = 0; e < E_; ++e) {
      bool taken = false;
      for (int32_t j = 0; j < k; ++j) taken = taken || ids[j] == e;
      if (!taken && (best < 0 || scores[e] > scores[best])) best = e;
    }
    ids[k] = best;
    weights[k] = scores[best];
  }
  if (renormalize_) {
    float sum = 0.0f;
    for (int32_t k = 0; k < top_k_; ++k) sum += weights[k];
    for (int32_t k = 0; k < top_k_; ++k) weights[k] /= sum;
  }
  for (int32_t k = 0; k < top_k_; ++k) weights[k] *= scaling_;
}

void CpuMoe::add_expert(int32_t local, const float* x, float weight, float* y, float* acc) const {
  const float* w13 = w13_.data() + static_cast<size_t>(local) * R_ * H_;
  const float* w2 = w2_.data() + static_cast<size_t>(local) * H_ * I_;
  const float* b13 = has_bias_ ? b13_.data() + static_cast<size_t>(local) * R_ : nullptr;
  const float* b2 = has_bias_ ? b2_.data() + static_cast<size_t>(local) * H_ : nullptr;
  for (int64_t h = 0; h < H_; ++h) y[h] = 0.0f;
  // One intermediate column at a time: gate row i, up row I + i (concat layout).
  for (int64_t i = 0; i < I_; ++i) {
    float g = static_cast<float>(dot(w13 + i * H_, x, H_));
    float u = static_cast<float>(dot(w13 + (I_ + i) * H_, x, H_));
    if (b13) {
      g += b13[i];
      u += b13[I_ + i];
    }
    const float a = round_act(gated(g, u));  // a is rounded as GPU kernels do
    for (int64_t h = 0; h < H_; ++h) y[h] += w2[h * I_ + i] * a;
  }
  for (int64_t h = 0; h < H_; ++h) acc[h] += weight * (y[h] + (b2 ? b2[h] : 0.0f));
}

void CpuMoe::add_shared(const moert_shared_expert& s, const float* x, float* y, float* acc) const {
  const int64_t Is = s.intermediate_size;
  const void* w13 = moert::plugin::data_ptr(s.w13);
  const void* w2 = moert::plugin::data_ptr(s.w2);
  for (int64_t h = 0; h < H_; ++h) y[h] = 0.0f;
  for (int64_t i = 0; i < Is; ++i) {
    double g = 0.0, u = 0.0;
    for (int64_t h = 0; h < H_; ++h) {
      g += static_cast<double>(to_f32(w13, act_dtype_, i * H_ + h)) * x[h];
      u += static_cast<double>(to_f32(w13, act_dtype_, (Is + i) * H_ + h)) * x[h];
    }
    const float gate = static_cast<float>(g), up = static_cast<float>(u);
    const float act = s.activation == MOERT_ACT_GELU_AND_MUL ? gelu_erf(gate) : silu(gate);
    const float a = round_act(act * up);
    for (int64_t h = 0; h < H_; ++h) y[h] += to_f32(w2, act_dtype_, h * Is + i) * a;
  }
  float scale = 1.0f;
  if (moert::plugin::present(s.gate)) {
    const void* gw = moert::plugin::data_ptr(s.gate);
    double d = 0.0;
    for (int64_t h = 0; h < H_; ++h) d += static_cast<double>(to_f32(gw, act_dtype_, h)) * x[h];
    scale = sigmoid(static_cast<float>(d));
  }
  for (int64_t h = 0; h < H_; ++h) acc[h] += scale * y[h];
}

void CpuMoe::compute_forward(const moert_forward_args& a) const {
  const int64_t T = a.hidden_states.shape[0];
  if (T == 0) return;
  Scratch s = scratch(a.workspace);
  const void* hidden = moert::plugin::data_ptr(a.hidden_states);
  const void* logits = moert::plugin::data_ptr(a.router_logits);
  void* out = moert::plugin::data_ptr(a.output);
  for (int64_t t = 0; t < T; ++t) {
    load_row(hidden, act_dtype_, t, H_, s.x);
    load_row(logits, a.router_logits.dtype, t, E_, s.logits);
    route(s.logits, s.scores, s.ids, s.weights);
    for (int64_t h = 0; h < H_; ++h) s.acc[h] = 0.0f;
    for (int32_t k = 0; k < top_k_; ++k) {
      const int32_t local = expert_map_.empty() ? s.ids[k] : expert_map_[s.ids[k]];
      if (local >= 0) add_expert(local, s.x, s.weights[k], s.y, s.acc);  // -1: another rank's
    }
    if (a.shared_expert) add_shared(*a.shared_expert, s.x, s.y, s.acc);
    store_row(s.acc, H_, act_dtype_, out, t);
  }
}

void CpuMoe::compute_apply(const moert_experts_args& a) const {
  const int64_t T = a.hidden_states.shape[0];
  if (T == 0) return;
  Scratch s = scratch(a.workspace);
  const void* hidden = moert::plugin::data_ptr(a.hidden_states);
  const int32_t* ids = static_cast<const int32_t*>(moert::plugin::data_ptr(a.topk_ids));
  const float* weights = static_cast<const float*>(moert::plugin::data_ptr(a.topk_weights));
  const int32_t* map = moert::plugin::present(a.expert_map)
                           ? static_cast<const int32_t*>(moert::plugin::data_ptr(a.expert_map))
                           : nullptr;
  void* out = moert::plugin::data_ptr(a.output);
  for (int64_t t = 0; t < T; ++t) {
    load_row(hidden, act_dtype_, t, H_, s.x);
    for (int64_t h = 0; h < H_; ++h) s.acc[h] = 0.0f;
    for (int32_t k = 0; k < top_k_; ++k) {
      const int32_t id = ids[t * top_k_ + k];
      const int32_t local = map ? map[id] : id;
      const float w = a.apply_router_weight_on_input ? 1.0f : weights[t * top_k_ + k];
      if (local >= 0) add_expert(local, s.x, w, s.y, s.acc);
    }
    store_row(s.acc, H_, act_dtype_, out, t);
  }
}

}  // namespace moert_test_good
