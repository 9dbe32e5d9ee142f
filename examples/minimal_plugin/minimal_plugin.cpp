// A minimal moert plugin: the smallest complete thing a vendor ships.
//
// It registers one runner, "minimal": an f32 MoE layer on the host CPU with
// softmax top-k routing and silu_and_mul experts. Everything else it declines
// through can_implement (UNIMPLEMENTED with a reason), which is a normal
// answer. Read it top to bottom next to docs/abi.md; build it with
// moert_add_plugin() (see CMakeLists.txt) and check it with
//   moert-conformance build/examples/libmoert-minimal.so
//
// A real GPU backend keeps this shape: the same table, device memory calls
// that wrap cudaMalloc/hipMalloc, and a forward that enqueues kernels on
// args->stream using only the workspace (no allocation, no host sync).
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "moert/moert_plugin.hpp"  // make_error, guard(), the error protocol

namespace {

using moert::plugin::guard;
using moert::plugin::make_error;
using moert::plugin::same_dtype;

constexpr moert_dtype kF32{MOERT_DTYPE_FLOAT, 32, 1};

// ---- 1. What this plugin can do: checked once, used by can_implement and create.
moert_error* check_layer(const moert_layer_desc* l) {
  if (!l) return make_error(MOERT_STATUS_INVALID_ARGUMENT, "minimal: layer is NULL");
  if (l->num_experts < 1 || l->top_k < 1 || l->top_k > l->num_experts || l->hidden_size < 1 ||
      l->intermediate_size < 1 || l->max_num_tokens < 1 || l->ep_size < 1 || l->ep_rank < 0 ||
      l->ep_rank >= l->ep_size)
    return make_error(MOERT_STATUS_INVALID_ARGUMENT,
                      "minimal: invalid layer (experts %d, top_k %d, hidden %lld, intermediate %lld, "
                      "max tokens %lld, ep %d/%d)",
                      l->num_experts, l->top_k, (long long)l->hidden_size,
                      (long long)l->intermediate_size, (long long)l->max_num_tokens, l->ep_rank,
                      l->ep_size);
  if (!same_dtype(l->activation_dtype, kF32) || !same_dtype(l->weight_dtype, kF32) ||
      l->quant_scheme != MOERT_QUANT_NONE || l->activation_quant != MOERT_ACT_QUANT_NONE)
    return make_error(MOERT_STATUS_UNIMPLEMENTED, "minimal: f32 activations and weights only");
  if (l->activation != MOERT_ACT_SILU_AND_MUL || l->gate_up_layout != MOERT_GATE_UP_CONCAT ||
      l->has_bias)
    return make_error(MOERT_STATUS_UNIMPLEMENTED, "minimal: silu_and_mul without bias only");
  if (l->routing_method != MOERT_ROUTING_TOPK || l->scoring != MOERT_SCORING_SOFTMAX)
    return make_error(MOERT_STATUS_UNIMPLEMENTED, "minimal: softmax top-k routing only");
  if (l->expert_map != nullptr || l->num_local_experts != l->num_experts)
    return make_error(MOERT_STATUS_UNIMPLEMENTED, "minimal: no expert parallelism");
  return nullptr;
}

// ---- 2. The instance behind the opaque moert_runner handle.
struct Runner {
  moert_layer_desc layer;       // a copy: the host's description is only borrowed
  std::vector<float> w13, w2;   // our own copy of the weights
};

// A tensor check that names the tensor and says expected vs got.
moert_error* expect(const char* name, const moert_tensor& t, std::vector<int64_t> shape) {
  bool ok = same_dtype(t.dtype, kF32) && t.ndim == (int32_t)shape.size() && t.shape &&
            t.device.device_type == MOERT_DEVICE_CPU;
  for (size_t i = 0; ok && i < shape.size(); ++i) ok = t.shape[i] == shape[i];
  if (!ok || (!t.data && moert::plugin::numel(t) > 0))
    return make_error(MOERT_STATUS_INVALID_ARGUMENT,
                      "minimal: %s must be an f32 host tensor of %zu dims [%lld, ...], got %d dims",
                      name, shape.size(), (long long)shape[0], t.ndim);
  return nullptr;
}

moert_error* can_implement(const moert_layer_desc* layer) {
  return guard("minimal can_implement", [&] { return check_layer(layer); });
}

moert_error* create(const moert_layer_desc* layer, int32_t device_id, moert_runner** out) {
  return guard("minimal create", [&]() -> moert_error* {
    if (!out) return make_error(MOERT_STATUS_INVALID_ARGUMENT, "minimal create: out is NULL");
    *out = nullptr;
    if (auto* e = check_layer(layer)) return e;
    if (device_id != 0)
      return make_error(MOERT_STATUS_INVALID_ARGUMENT, "minimal create: no device %d", device_id);
    auto* r = new Runner{*layer, {}, {}};
    r->layer.expert_map = nullptr;  // pointers in the copy would dangle: drop them
    r->layer.options = nullptr;
    r->layer.num_options = 0;
    *out = reinterpret_cast<moert_runner*>(r);  // caller owns it; freed with destroy
    return nullptr;
  });
}

void destroy(moert_runner* r) { delete reinterpret_cast<Runner*>(r); }  // NULL: no-op

// Scratch per token: E scores, top_k ids and weights, I activations.
size_t scratch_bytes(const moert_layer_desc& l) {
  return sizeof(float) * (l.num_experts + 2 * l.top_k + l.intermediate_size);
}

moert_error* workspace_size(moert_runner* r, int64_t, size_t* bytes) {
  if (!r || !bytes) return make_error(MOERT_STATUS_INVALID_ARGUMENT, "minimal workspace_size: NULL");
  *bytes = scratch_bytes(reinterpret_cast<Runner*>(r)->layer);
  return nullptr;
}

moert_error* set_weights(moert_runner* handle, const moert_expert_weights* w) {
  return guard("minimal set_weights", [&]() -> moert_error* {
    auto* r = reinterpret_cast<Runner*>(handle);
    if (!r || !w) return make_error(MOERT_STATUS_INVALID_ARGUMENT, "minimal set_weights: NULL");
    const auto& l = r->layer;
    const int64_t E = l.num_experts, H = l.hidden_size, I = l.intermediate_size;
    if (auto* e = expect("w13", w->w13, {E, 2 * I, H})) return e;
    if (auto* e = expect("w2", w->w2, {E, H, I})) return e;
    const float* p13 = static_cast<const float*>(moert::plugin::data_ptr(w->w13));
    const float* p2 = static_cast<const float*>(moert::plugin::data_ptr(w->w2));
    r->w13.assign(p13, p13 + E * 2 * I * H);  // weights are borrowed: copy them
    r->w2.assign(p2, p2 + E * H * I);
    return nullptr;
  });
}

// ---- 3. The forward: per token, route, run the top_k experts, sum.
moert_error* forward(moert_runner* handle, const moert_forward_args* a) {
  return guard("minimal forward", [&]() -> moert_error* {
    auto* r = reinterpret_cast<Runner*>(handle);
    if (!r || !a) return make_error(MOERT_STATUS_INVALID_ARGUMENT, "minimal forward: NULL");
    if (r->w13.empty())
      return make_error(MOERT_STATUS_FAILED_PRECONDITION, "minimal forward: before set_weights");
    if (a->shared_expert)
      return make_error(MOERT_STATUS_UNIMPLEMENTED, "minimal forward: no shared expert");
    const auto& l = r->layer;
    const int64_t E = l.num_experts, K = l.top_k, H = l.hidden_size, I = l.intermediate_size;
    const int64_t T = a->hidden_states.ndim == 2 && a->hidden_states.shape ? a->hidden_states.shape[0] : -1;
    if (T < 0 || T > l.max_num_tokens)
      return make_error(MOERT_STATUS_INVALID_ARGUMENT, "minimal forward: %lld tokens, max %lld",
                        (long long)T, (long long)l.max_num_tokens);
    if (auto* e = expect("hidden_states", a->hidden_states, {T, H})) return e;
    if (auto* e = expect("router_logits", a->router_logits, {T, E})) return e;
    if (auto* e = expect("output", a->output, {T, H})) return e;
    if (T == 0) return nullptr;
    if (!a->workspace.data || moert::plugin::nbytes(a->workspace) < scratch_bytes(l))
      return make_error(MOERT_STATUS_INVALID_ARGUMENT, "minimal forward: workspace too small");

    float* scores = static_cast<float*>(moert::plugin::data_ptr(a->workspace));
    float* weight = scores + E;
    float* ids = weight + K;  // expert ids, stored as floats
    float* act = ids + K;
    const float* x_all = static_cast<const float*>(moert::plugin::data_ptr(a->hidden_states));
    const float* logit_all = static_cast<const float*>(moert::plugin::data_ptr(a->router_logits));
    float* out_all = static_cast<float*>(moert::plugin::data_ptr(a->output));
    for (int64_t t = 0; t < T; ++t) {
      const float *x = x_all + t * H, *logits = logit_all + t * E;
      float* out = out_all + t * H;
      // softmax over all experts, then top_k (ties: lower id), renormalize, scale
      float m = logits[0], sum = 0;
      for (int64_t e = 1; e < E; ++e) m = std::fmax(m, logits[e]);
      for (int64_t e = 0; e < E; ++e) sum += scores[e] = std::exp(logits[e] - m);
      float wsum = 0;
      for (int64_t k = 0; k < K; ++k) {
        int64_t best = -1;
        for (int64_t e = 0; e < E; ++e)
          if (scores[e] >= 0 && (best < 0 || scores[e] > scores[best])) best = e;
        ids[k] = (float)best;
        weight[k] = scores[best] / sum;
        wsum += weight[k];
        scores[best] = -1;  // taken
      }
      for (int64_t k = 0; k < K; ++k)
        weight[k] = (l.renormalize ? weight[k] / wsum : weight[k]) * l.routed_scaling_factor;
      // experts: out = sum_k w_k * w2[e] @ (silu(gate) * up), gate/up = w13[e] @ x
      for (int64_t h = 0; h < H; ++h) out[h] = 0;
      for (int64_t k = 0; k < K; ++k) {
        const int64_t e = (int64_t)ids[k];
        const float* w13 = r->w13.data() + e * 2 * I * H;
        const float* w2 = r->w2.data() + e * H * I;
        for (int64_t i = 0; i < I; ++i) {
          double g = 0, u = 0;
          for (int64_t h = 0; h < H; ++h) {
            g += (double)w13[i * H + h] * x[h];
            u += (double)w13[(I + i) * H + h] * x[h];
          }
          act[i] = (float)(g / (1 + std::exp(-g)) * u);
        }
        for (int64_t h = 0; h < H; ++h) {
          double y = 0;
          for (int64_t i = 0; i < I; ++i) y += (double)w2[h * I + i] * act[i];
          out[h] += weight[k] * (float)y;
        }
      }
    }
    return nullptr;
  });
}

const moert_runner_ops kRunner = {sizeof(moert_runner_ops), "minimal", can_implement, create,
                                  destroy, workspace_size, set_weights, forward};
const moert_runner_ops* const kRunners[] = {&kRunner};

// ---- 4. Table-level calls: probe, lifecycle, attributes, host "device" memory.
int32_t probe(char* reason, size_t capacity) {
  if (reason && capacity) reason[0] = '\0';  // a GPU plugin checks for its driver here
  return 1;
}
moert_error* initialize(const moert_host_services*) { return nullptr; }
moert_error* shutdown() { return nullptr; }  // nothing outstanding: all calls are synchronous

const moert_kv kAttributes[] = {{"dtypes", "f32"},          {"weight_dtypes", "f32"},
                                {"activations", "silu_and_mul"}, {"routers", "softmax_topk"},
                                {"quant_schemes", "none"},  {"features", ""},
                                {"toolchain", "C++17"},     {"device_runtime", "host"}};
const moert_kv* attributes(size_t* n) {
  *n = sizeof kAttributes / sizeof kAttributes[0];
  return kAttributes;
}

moert_error* alloc(int32_t, size_t bytes, void** out) {
  *out = std::malloc(bytes ? bytes : 1);
  return *out ? nullptr : make_error(MOERT_STATUS_OUT_OF_MEMORY, "minimal: %zu bytes", bytes);
}
moert_error* release(int32_t, void* p) { std::free(p); return nullptr; }
moert_error* copy(int32_t, void* dst, const void* src, size_t n) {
  if (n) std::memcpy(dst, src, n);
  return nullptr;
}
moert_error* stream_create(int32_t, moert_stream* s) { *s = nullptr; return nullptr; }
moert_error* stream_noop(int32_t, moert_stream) { return nullptr; }

moert_plugin_api make_table() {
  moert_plugin_api t{};
  t.struct_size = sizeof t;        // what this plugin was compiled with
  t.abi_major = MOERT_ABI_MAJOR;
  t.abi_minor = MOERT_ABI_MINOR;
  t.name = "minimal";
  t.version = "1.0.0";
  t.vendor = "Example Vendor";
  t.device_type = MOERT_DEVICE_CPU;
  t.probe = probe;
  t.initialize = initialize;
  t.shutdown = shutdown;
  t.error_code = moert::plugin::error_code;
  t.error_message = moert::plugin::error_message;
  t.error_destroy = moert::plugin::error_destroy;
  t.attributes = attributes;
  t.device_alloc = alloc;
  t.device_free = release;
  t.copy_host_to_device = copy;
  t.copy_device_to_host = copy;
  t.stream_create = stream_create;
  t.stream_destroy = stream_noop;
  t.stream_synchronize = stream_noop;
  t.num_runners = 1;
  t.runners = kRunners;
  return t;                        // no experts kernels; 1.1 event/graph calls left NULL
}

}  // namespace

// ---- 5. The one exported symbol. No allocation, no device work here.
extern "C" MOERT_PLUGIN_EXPORT const moert_plugin_api* moert_plugin_entry_v1(
    uint32_t, uint32_t, const moert_host_services*) {
  static const moert_plugin_api table = make_table();
  return &table;
}
