#include "harness.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "moert/quant.h"

namespace moert_conformance {

using moert::operator==;

namespace {

std::vector<double> to_f64(const void* data, moert_dtype dtype, int64_t n) {
  std::vector<double> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) out[static_cast<size_t>(i)] = moert::load_as_f32(data, dtype, i);
  return out;
}

// Allocates [rows + 1, cols] (one guard row), fills every byte with 0xFF (a
// NaN in f32, bf16 and f16) and uploads it.
std::unique_ptr<DeviceTensor> poisoned_output(const moert_plugin_api* api, moert_dtype dtype,
                                              std::vector<int64_t> shape, int64_t row_elems) {
  const size_t row_bytes = tensor_bytes(dtype, {row_elems});
  auto t = std::make_unique<DeviceTensor>(api, dtype, shape,
                                          tensor_bytes(dtype, shape) + row_bytes);
  std::vector<unsigned char> poison(t->buffer.bytes(), 0xFF);
  t->buffer.upload(poison.data(), poison.size());
  return t;
}

// Downloads a poisoned output: values of the first `n` elements, how many are
// still poison, and whether the guard bytes after them changed.
Outcome read_poisoned(const DeviceTensor& t, int64_t n, std::vector<unsigned char>* raw_out) {
  std::vector<unsigned char> raw(t.buffer.bytes());
  t.buffer.download(raw.data(), raw.size());
  Outcome o;
  o.out = to_f64(raw.data(), t.dtype, n);
  for (double v : o.out) o.unwritten += std::isnan(v) ? 1 : 0;
  const size_t used = tensor_bytes(t.dtype, {n});
  for (size_t i = used; i < raw.size(); ++i) o.guard_touched |= raw[i] != 0xFF;
  if (raw_out) raw_out->swap(raw);
  return o;
}

std::unique_ptr<DeviceTensor> workspace_for(const moert_plugin_api* api, size_t bytes) {
  return std::make_unique<DeviceTensor>(api, moert::kU8,
                                        std::vector<int64_t>{static_cast<int64_t>(bytes)});
}

moert_expert_weights upload_free_view(const moert::WeightSet& w) { return w.view(); }

}  // namespace

double relative_error(const std::vector<double>& a, const std::vector<double>& b) {
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    num += (a[i] - b[i]) * (a[i] - b[i]);
    den += b[i] * b[i];
  }
  if (a.size() != b.size()) return INFINITY;
  if (den == 0) return num == 0 ? 0.0 : INFINITY;
  return std::sqrt(num / den);
}

SharedHost make_shared_expert(const moert::LayerSpec& layer, bool with_gate, uint64_t seed) {
  // Draw through the synthetic generator: a one-expert layer's w13/w2 in the
  // activation dtype are exactly a shared expert's shapes.
  moert::LayerSpec one = layer;
  one.desc.num_experts = 1;
  one.desc.num_local_experts = 1;
  one.desc.top_k = 1;
  one.desc.activation = MOERT_ACT_SILU_AND_MUL;
  one.desc.gate_up_layout = MOERT_GATE_UP_CONCAT;
  one.desc.has_bias = 0;
  one.desc.quant_scheme = MOERT_QUANT_NONE;
  one.desc.activation_quant = MOERT_ACT_QUANT_NONE;
  one.desc.weight_dtype = layer.desc.activation_dtype;
  one.desc.routing_method = MOERT_ROUTING_TOPK;
  one.desc.has_score_correction_bias = 0;
  one.desc.num_expert_group = 1;
  one.desc.topk_group = 1;
  one.expert_map.clear();
  moert::WeightSet w = moert::make_random_weights(one, seed);
  SharedHost s;
  s.intermediate_size = layer.desc.intermediate_size;
  s.activation = MOERT_ACT_SILU_AND_MUL;
  const int64_t H = layer.desc.hidden_size, I = s.intermediate_size;
  s.w13 = moert::HostTensor(layer.desc.activation_dtype, {2 * I, H});
  s.w2 = moert::HostTensor(layer.desc.activation_dtype, {H, I});
  std::memcpy(s.w13.data(), w.w13.data(), s.w13.nbytes());  // [1, 2I, H] -> [2I, H]
  std::memcpy(s.w2.data(), w.w2.data(), s.w2.nbytes());
  if (with_gate) {
    moert::HostTensor g = moert::make_random_hidden(layer, 1, seed + 17);  // [1, H]
    s.gate = moert::HostTensor(layer.desc.activation_dtype, {H});
    std::memcpy(s.gate.data(), g.data(), s.gate.nbytes());
  }
  return s;
}

moert_error* suite_custom_routing(void* context, const moert_tensor* logits, int32_t top_k,
                                  moert_tensor* topk_weights, moert_tensor* topk_ids,
                                  moert_stream stream) {
  auto* ctx = static_cast<CustomRoutingContext*>(context);
  try {
    const int64_t T = logits->shape[0], E = logits->shape[1];
    check_call(ctx->api, ctx->api->stream_synchronize(0, stream), "custom routing: stream_synchronize");
    std::vector<unsigned char> raw(tensor_bytes(logits->dtype, {T, E}));
    check_call(ctx->api,
               ctx->api->copy_device_to_host(0, raw.data(),
                                             static_cast<char*>(logits->data) + logits->byte_offset,
                                             raw.size()),
               "custom routing: copy logits to host");
    std::vector<int32_t> ids(static_cast<size_t>(T * top_k));
    std::vector<float> w(static_cast<size_t>(T * top_k));
    for (int64_t t = 0; t < T; ++t) {
      std::vector<std::pair<float, int32_t>> order;
      for (int32_t e = 0; e < E; ++e)
        order.push_back({moert::load_as_f32(raw.data(), logits->dtype, t * E + e), e});
      std::stable_sort(order.begin(), order.end(),
                       [](const auto& a, const auto& b) { return a.first < b.first; });
      float m = -order[0].first, sum = 0.f;
      for (int32_t k = 0; k < top_k; ++k) sum += std::exp(-order[k].first - m);
      for (int32_t k = 0; k < top_k; ++k) {
        ids[t * top_k + k] = order[k].second;
        w[t * top_k + k] = std::exp(-order[k].first - m) / sum;
      }
    }
    check_call(ctx->api,
               ctx->api->copy_host_to_device(0, static_cast<char*>(topk_ids->data) + topk_ids->byte_offset,
                                             ids.data(), ids.size() * 4),
               "custom routing: copy ids");
    check_call(ctx->api,
               ctx->api->copy_host_to_device(
                   0, static_cast<char*>(topk_weights->data) + topk_weights->byte_offset, w.data(),
                   w.size() * 4),
               "custom routing: copy weights");
  } catch (const std::exception& e) {
    ctx->failure = e.what();  // cannot return an error object of the plugin's kind
  }
  return nullptr;
}

// ---------------- RunnerHarness ----------------

RunnerHarness::RunnerHarness(const moert_plugin_api* api, const moert_runner_ops* ops,
                             const moert::LayerSpec& layer)
    : api_(api), ops_(ops), layer_(layer), who_(std::string("runner '") + ops->name + "'") {
  routing_.api = api;
  if (layer_.desc.routing_method == MOERT_ROUTING_CUSTOM) {
    layer_.desc.custom_routing = suite_custom_routing;
    layer_.desc.custom_routing_context = &routing_;
  }
  check_call(api_, ops_->create(layer_.c_desc(), 0, &runner_), who_ + " create");
  if (runner_ == nullptr) throw CallError(who_ + " create succeeded but returned a NULL instance", 0);
  stream_ = std::make_unique<Stream>(api_);
  size_t bytes = 0;
  check_call(api_, ops_->workspace_size(runner_, layer_.desc.max_num_tokens, &bytes),
             who_ + " workspace_size");
  workspace_ = workspace_for(api_, bytes);
}

RunnerHarness::~RunnerHarness() {
  if (stream_) take_error(api_, api_->stream_synchronize(0, stream_->get()));
  workspace_.reset();
  if (runner_) ops_->destroy(runner_);
}

void RunnerHarness::set_weights(const moert::WeightSet& w) {
  const moert_expert_weights view = upload_free_view(w);  // host weights: the ABI allows them
  check_call(api_, ops_->set_weights(runner_, &view), who_ + " set_weights");
}

Outcome RunnerHarness::forward(const moert::HostTensor& hidden, const moert::HostTensor& logits,
                               const SharedHost* shared) {
  const int64_t T = hidden.shape()[0], H = layer_.desc.hidden_size;
  DeviceTensor d_hidden(api_, hidden), d_logits(api_, logits);
  auto d_out = poisoned_output(api_, layer_.desc.activation_dtype, {T, H}, H);

  std::unique_ptr<DeviceTensor> s_w13, s_w2, s_gate;
  moert_shared_expert se{};
  if (shared) {
    s_w13 = std::make_unique<DeviceTensor>(api_, shared->w13);
    s_w2 = std::make_unique<DeviceTensor>(api_, shared->w2);
    se.struct_size = sizeof se;
    se.intermediate_size = shared->intermediate_size;
    se.activation = shared->activation;
    se.w13 = s_w13->view();
    se.w2 = s_w2->view();
    if (!shared->gate.empty()) {
      s_gate = std::make_unique<DeviceTensor>(api_, shared->gate);
      se.gate = s_gate->view();
    }
  }
  moert_forward_args a{};
  a.struct_size = sizeof a;
  a.hidden_states = d_hidden.view();
  a.router_logits = d_logits.view();
  a.output = d_out->view();
  a.workspace = workspace_->view();
  a.stream = stream_->get();
  a.shared_expert = shared ? &se : nullptr;
  a.eplb = nullptr;
  routing_.failure.clear();
  check_call(api_, ops_->forward(runner_, &a),
             who_ + " forward (T=" + std::to_string(T) + ")");
  stream_->synchronize();
  if (!routing_.failure.empty()) throw CallError(who_ + " forward: " + routing_.failure, 0);
  return read_poisoned(*d_out, T * H, nullptr);
}

// ---------------- ExpertsHarness ----------------

ExpertsHarness::ExpertsHarness(const moert_plugin_api* api, const moert_experts_ops* ops,
                               const moert::LayerSpec& layer)
    : api_(api), ops_(ops), layer_(layer), who_(std::string("experts '") + ops->name + "'") {
  check_call(api_, ops_->create(layer_.c_desc(), 0, &experts_), who_ + " create");
  if (experts_ == nullptr) throw CallError(who_ + " create succeeded but returned a NULL instance", 0);
  stream_ = std::make_unique<Stream>(api_);
  size_t bytes = 0;
  check_call(api_, ops_->workspace_size(experts_, layer_.desc.max_num_tokens, &bytes),
             who_ + " workspace_size");
  workspace_ = workspace_for(api_, bytes);
}

ExpertsHarness::~ExpertsHarness() {
  if (stream_) take_error(api_, api_->stream_synchronize(0, stream_->get()));
  workspace_.reset();
  if (experts_) ops_->destroy(experts_);
}

void ExpertsHarness::set_weights(const moert::WeightSet& w) {
  const moert_expert_weights view = w.view();
  check_call(api_, ops_->set_weights(experts_, &view), who_ + " set_weights");
}

Outcome ExpertsHarness::apply(const moert::HostTensor& hidden, const moert::HostTensor& ids,
                              const moert::HostTensor& weights) {
  const int64_t T = hidden.shape()[0], H = layer_.desc.hidden_size, K = layer_.desc.top_k;
  const bool by_core = ops_->finalize_mode == MOERT_FINALIZE_BY_CORE;
  // Activation quantization happens in the core's prepare stage; the suite
  // gives the kernel what prepare gives it.
  moert::HostTensor x = hidden, scale;
  if (layer_.desc.activation_quant == MOERT_ACT_QUANT_FP8_PER_TOKEN) {
    x = moert::HostTensor(moert::kFP8E4M3, {T, H});
    scale = moert::HostTensor(moert::kF32, {T});
    for (int64_t t = 0; t < T; ++t) {
      float amax = 0.f;
      for (int64_t h = 0; h < H; ++h)
        amax = std::max(amax, std::fabs(moert::load_as_f32(hidden.data(), hidden.dtype(), t * H + h)));
      const float s = amax > 0.f ? amax / 448.0f : 1.0f;
      scale.as<float>()[t] = s;
      for (int64_t h = 0; h < H; ++h)
        x.as<uint8_t>()[t * H + h] =
            moert::f32_to_fp8_e4m3(moert::load_as_f32(hidden.data(), hidden.dtype(), t * H + h) / s);
    }
  }
  DeviceTensor d_x(api_, x), d_ids(api_, ids), d_w(api_, weights);
  std::unique_ptr<DeviceTensor> d_scale;
  if (!scale.empty()) d_scale = std::make_unique<DeviceTensor>(api_, scale);
  auto d_out = by_core ? poisoned_output(api_, moert::kF32, {T, K, H}, K * H)
                       : poisoned_output(api_, layer_.desc.activation_dtype, {T, H}, H);
  moert_experts_args a{};
  a.struct_size = sizeof a;
  a.hidden_states = d_x.view();
  if (d_scale) a.hidden_scale = d_scale->view();
  a.topk_ids = d_ids.view();
  a.topk_weights = d_w.view();
  a.expert_map = moert::absent_tensor();
  a.expert_map.device = moert_device{api_->device_type, 0};
  a.output = d_out->view();
  a.workspace = workspace_->view();
  a.stream = stream_->get();
  check_call(api_, ops_->apply(experts_, &a), who_ + " apply (T=" + std::to_string(T) + ")");
  stream_->synchronize();
  Outcome o = read_poisoned(*d_out, by_core ? T * K * H : T * H, nullptr);
  if (!by_core) return o;
  // The core's finalize: out[t] = sum_k w[t,k] * slot[t,k].
  Outcome reduced;
  reduced.unwritten = o.unwritten;
  reduced.guard_touched = o.guard_touched;
  reduced.out.assign(static_cast<size_t>(T * H), 0.0);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t k = 0; k < K; ++k)
      for (int64_t h = 0; h < H; ++h)
        reduced.out[t * H + h] += weights.as<float>()[t * K + k] * o.out[(t * K + k) * H + h];
  return reduced;
}

void host_topk(const moert::LayerSpec& layer, const moert::HostTensor& logits,
               moert::HostTensor* ids, moert::HostTensor* weights) {
  const auto& d = layer.desc;
  const int64_t T = logits.shape()[0], E = d.num_experts, K = d.top_k;
  *ids = moert::HostTensor(moert::kI32, {T, K});
  *weights = moert::HostTensor(moert::kF32, {T, K});
  std::vector<float> s(static_cast<size_t>(E));
  for (int64_t t = 0; t < T; ++t) {
    const float* l = logits.as<float>() + t * E;
    if (d.scoring == MOERT_SCORING_SOFTMAX) {
      float m = *std::max_element(l, l + E), sum = 0.f;
      for (int64_t e = 0; e < E; ++e) sum += (s[e] = std::exp(l[e] - m));
      for (auto& v : s) v /= sum;
    } else {
      for (int64_t e = 0; e < E; ++e) s[e] = 1.0f / (1.0f + std::exp(-l[e]));
    }
    std::vector<int32_t> order(static_cast<size_t>(E));
    for (int32_t e = 0; e < E; ++e) order[e] = e;
    std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return s[a] > s[b]; });
    float sum = 0.f;
    for (int64_t k = 0; k < K; ++k) sum += s[order[k]];
    for (int64_t k = 0; k < K; ++k) {
      ids->as<int32_t>()[t * K + k] = order[k];
      float w = s[order[k]];
      if (d.renormalize) w /= sum;
      weights->as<float>()[t * K + k] = w * d.routed_scaling_factor;
    }
  }
}

}  // namespace moert_conformance
