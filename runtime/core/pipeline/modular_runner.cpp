// ModularRunner: router -> prepare -> experts (any plugin) -> finalize.
#include "moert/modular.h"

#include <algorithm>
#include <cstring>

#include "moert/eplb.h"
#include "moert/error.h"
#include "moert/host_tensor.h"
#include "moert/moert_plugin.hpp"
#include "moert/quant.h"
#include "moert/reference.h"
#include "moert/reference_layer.h"
#include "moert/routing.h"
#include "reference/tensor_checks.h"

namespace moert {

struct ModularRunner::Host {
  explicit Host(const LayerConfig& L) : router(L) {
    const size_t TK = static_cast<size_t>(L.max_num_tokens * L.top_k);
    const size_t TH = static_cast<size_t>(L.max_num_tokens * L.hidden_size);
    logits.resize(static_cast<size_t>(L.max_num_tokens * L.num_experts) * 4);
    weights.resize(TK);
    logical.resize(TK);
    physical.resize(TK);
    hidden.resize(TH * 4);
    x.resize(TH);
    xq.resize(TH * 4);
    scales.resize(static_cast<size_t>(L.max_num_tokens));
    acc.resize(TH);
    slot_out.resize(TH * static_cast<size_t>(L.top_k));
    out_bytes.resize(TH * 4);
    eplb_map.resize(0);
  }
  Router router;
  std::vector<uint8_t> logits;
  std::vector<float> weights;
  std::vector<int32_t> logical, physical;
  std::vector<uint8_t> hidden;  // activation dtype bytes
  std::vector<float> x;
  std::vector<uint8_t> xq;      // fp8 codes, or the weighted input in the activation dtype
  std::vector<float> scales, acc, slot_out;
  std::vector<uint8_t> out_bytes;
  std::vector<int32_t> eplb_map, eplb_count;
  std::vector<int64_t> eplb_load;
  std::vector<uint8_t> shared_w13, shared_w2, shared_gate;
  std::vector<float> shared_scratch;
  std::vector<float> score_bias;
  int64_t shape_th[2] = {0, 0}, shape_t[1] = {0}, shape_tk[2] = {0, 0}, shape_tkh[3] = {0, 0, 0}, shape_map[1] = {0};
  int64_t shape_s13[2] = {0, 0}, shape_s2[2] = {0, 0}, shape_sg[1] = {0};
};

namespace {
bool option_on(const moert_layer_desc& d, const char* key) {
  for (int64_t i = 0; i < d.num_options; ++i)
    if (d.options[i].key && std::strcmp(d.options[i].key, key) == 0)
      return d.options[i].value && (std::strcmp(d.options[i].value, "1") == 0 || std::strcmp(d.options[i].value, "true") == 0);
  return false;
}
}  // namespace

ModularRunner::ModularRunner(const moert_plugin_api* api, const moert_experts_ops* ops, const moert_layer_desc& layer,
                             int32_t device_id)
    : api_(api), ops_(ops), layer_(layer_config_from_desc(&layer)), device_id_(device_id) {
  if (api == nullptr || ops == nullptr) throw Error("ModularRunner: null plugin table or experts ops");
  name_ = std::string("modular(") + (api->name ? api->name : "?") + "." + (ops->name ? ops->name : "?") + ")";
  if (ops->finalize_mode != MOERT_FINALIZE_BY_CORE && ops->finalize_mode != MOERT_FINALIZE_IN_KERNEL)
    throw Error(name_ + ": experts finalize_mode=" + std::to_string(ops->finalize_mode) + " is not BY_CORE or IN_KERNEL");
  apply_weight_on_input_ = option_on(layer, "apply_router_weight_on_input");
  if (apply_weight_on_input_ && layer_.top_k != 1)
    throw Error(name_ + ": apply_router_weight_on_input needs top_k=1, got top_k=" + std::to_string(layer_.top_k));
  check(api_, ops_->can_implement(&layer), name_ + ": experts '" + ops->name + "' cannot run this layer");
  check(api_, ops_->create(&layer, device_id_, &experts_), name_ + " create");
  try {
    host_ = std::make_unique<Host>(layer_);
    check(api_, ops_->workspace_size(experts_, layer_.max_num_tokens, &workspace_bytes_), name_ + " workspace_size");
    if (workspace_bytes_) workspace_ = device_buffer(workspace_bytes_);
    check(api_, api_->stream_create(device_id_, &stream_), name_ + " stream_create");
    const size_t T = static_cast<size_t>(layer_.max_num_tokens), K = static_cast<size_t>(layer_.top_k),
                 H = static_cast<size_t>(layer_.hidden_size);
    d_hidden_ = device_buffer(T * H * 4);
    d_scale_ = device_buffer(T * 4);
    d_ids_ = device_buffer(T * K * 4);
    d_weights_ = device_buffer(T * K * 4);
    d_out_ = device_buffer(T * K * H * 4);
    if (!layer_.expert_map.empty()) {
      d_map_ = device_buffer(layer_.expert_map.size() * 4);
      to_device(d_map_, layer_.expert_map.data(), layer_.expert_map.size() * 4);
    }
  } catch (...) {
    for (void* p : device_allocs_) api_->error_destroy(api_->device_free(device_id_, p));
    if (stream_) api_->error_destroy(api_->stream_destroy(device_id_, stream_));
    ops_->destroy(experts_);
    throw;
  }
}

ModularRunner::~ModularRunner() {
  if (stream_) take_error_message(api_, api_->stream_synchronize(device_id_, stream_));
  if (experts_) ops_->destroy(experts_);
  for (void* p : device_allocs_) take_error_message(api_, api_->device_free(device_id_, p));
  if (stream_) take_error_message(api_, api_->stream_destroy(device_id_, stream_));
}

void* ModularRunner::device_buffer(size_t bytes) {
  void* p = nullptr;
  check(api_, api_->device_alloc(device_id_, bytes, &p), name_ + " device_alloc(" + std::to_string(bytes) + ")");
  device_allocs_.push_back(p);
  return p;
}

void ModularRunner::to_host(void* dst, const void* src, size_t bytes) {
  check(api_, api_->copy_device_to_host(device_id_, dst, src, bytes), name_ + " copy_device_to_host");
}
void ModularRunner::to_host(void* dst, const moert_tensor& src, size_t bytes) { to_host(dst, plugin::data_ptr(src), bytes); }
void ModularRunner::to_device(void* dst, const void* src, size_t bytes) {
  check(api_, api_->copy_host_to_device(device_id_, dst, src, bytes), name_ + " copy_host_to_device");
}

moert_tensor ModularRunner::device_tensor(void* data, moert_dtype dtype, int64_t* shape, int32_t ndim) const {
  moert_tensor t{};
  t.data = data;
  t.device = moert_device{api_->device_type, device_id_};
  t.ndim = ndim;
  t.dtype = dtype;
  t.shape = shape;
  return t;
}

void ModularRunner::set_weights(const moert_expert_weights& weights) {
  check(api_, ops_->set_weights(experts_, &weights), name_ + " set_weights");
  // The router needs the selection bias on the host.
  host_->score_bias.clear();
  if (layer_.has_score_correction_bias) {
    const moert_tensor& b = weights.score_correction_bias;
    checks::expect_shape(b, "score_correction_bias", {layer_.num_experts},
                         "[num_experts=" + std::to_string(layer_.num_experts) + "]");
    checks::expect_dtype(b, "score_correction_bias", {kF32});
    host_->score_bias.resize(static_cast<size_t>(layer_.num_experts));
    const size_t n = host_->score_bias.size() * 4;
    const int32_t dt = b.device.device_type;
    if (dt == MOERT_DEVICE_CPU || dt == MOERT_DEVICE_CUDA_HOST || dt == MOERT_DEVICE_ROCM_HOST)
      std::memcpy(host_->score_bias.data(), plugin::data_ptr(b), n);
    else
      to_host(host_->score_bias.data(), b, n);
  }
}

void ModularRunner::synchronize() {
  check(api_, api_->stream_synchronize(device_id_, stream_), name_ + " stream_synchronize");
}

void ModularRunner::forward(const moert_forward_args& args) {
  Host& h = *host_;
  const LayerConfig& L = layer_;
  const int64_t T = validate_forward_tensors(L, args, api_->device_type == MOERT_DEVICE_CPU ? MOERT_DEVICE_CPU : api_->device_type);
  const moert_eplb_state* eplb = args.struct_size >= offsetof(moert_forward_args, eplb) + sizeof(void*) ? args.eplb : nullptr;
  int64_t max_replicas = 0;
  if (eplb) max_replicas = validate_eplb_state(*eplb, L);
  if (T == 0) return;
  const moert_stream stream = args.stream ? args.stream : stream_;
  const int32_t K = L.top_k;
  const int64_t H = L.hidden_size;
  const size_t act_bytes = L.activation_dtype.bits / 8;

  // Everything before this forward on the stream must have produced the inputs.
  check(api_, api_->stream_synchronize(device_id_, stream), name_ + " stream_synchronize");

  // ---- router (host) ----
  const size_t logit_bytes = static_cast<size_t>(T * L.num_experts) * (args.router_logits.dtype.bits / 8);
  to_host(h.logits.data(), args.router_logits, logit_bytes);
  int64_t lshape[2] = {T, L.num_experts};
  moert_tensor host_logits = args.router_logits;
  host_logits.data = h.logits.data();
  host_logits.byte_offset = 0;
  host_logits.device = moert_device{MOERT_DEVICE_CPU, 0};
  host_logits.shape = lshape;
  h.router.route(host_logits, T, h.score_bias.empty() ? nullptr : h.score_bias.data(), h.weights.data(),
                 h.logical.data());
  const int32_t* ids = h.logical.data();

  // ---- EPLB (host copies of the state; loads are read, bumped, written back) ----
  if (eplb) {
    const size_t nmap = static_cast<size_t>(L.num_experts * max_replicas);
    h.eplb_map.resize(nmap);
    h.eplb_count.resize(static_cast<size_t>(L.num_experts));
    to_host(h.eplb_map.data(), eplb->logical_to_physical_map, nmap * 4);
    to_host(h.eplb_count.data(), eplb->logical_replica_count, h.eplb_count.size() * 4);
    int64_t* load = nullptr;
    if (eplb->expert_load.data) {
      h.eplb_load.resize(static_cast<size_t>(L.num_physical()));
      to_host(h.eplb_load.data(), eplb->expert_load, h.eplb_load.size() * 8);
      load = h.eplb_load.data();
    }
    eplb_map_ids(L, h.eplb_map.data(), max_replicas, h.eplb_count.data(), T, ids, h.physical.data(), load);
    if (load) to_device(plugin::data_ptr(eplb->expert_load), load, h.eplb_load.size() * 8);
    ids = h.physical.data();
  }
  to_device(d_ids_, ids, static_cast<size_t>(T * K) * 4);
  to_device(d_weights_, h.weights.data(), static_cast<size_t>(T * K) * 4);

  // ---- prepare ----
  const bool fp8 = L.activation_quant == MOERT_ACT_QUANT_FP8_PER_TOKEN;
  const bool need_hidden = fp8 || apply_weight_on_input_ || args.shared_expert != nullptr;
  if (need_hidden) to_host(h.hidden.data(), args.hidden_states, static_cast<size_t>(T * H) * act_bytes);
  h.shape_th[0] = T;
  h.shape_th[1] = H;
  moert_experts_args ea{};
  ea.struct_size = sizeof ea;
  ea.hidden_states = args.hidden_states;
  if (fp8 || apply_weight_on_input_) {
    convert_to_f32(h.hidden.data(), L.activation_dtype, T * H, h.x.data());
    if (apply_weight_on_input_)  // top_k == 1: x_t *= w_t
      for (int64_t t = 0; t < T; ++t)
        for (int64_t j = 0; j < H; ++j) h.x[static_cast<size_t>(t * H + j)] *= h.weights[static_cast<size_t>(t)];
    std::vector<uint8_t>& staged = h.xq;
    if (fp8) {
      // Quantize the (possibly weighted) input: prepare_activations reads activation-dtype bytes.
      convert_from_f32(h.x.data(), T * H, L.activation_dtype, h.out_bytes.data());
      prepare_activations(L, h.out_bytes.data(), T, h.x.data(), staged.data(), h.scales.data());
      to_device(d_hidden_, staged.data(), static_cast<size_t>(T * H));
      to_device(d_scale_, h.scales.data(), static_cast<size_t>(T) * 4);
      h.shape_t[0] = T;
      ea.hidden_states = device_tensor(d_hidden_, kFP8E4M3, h.shape_th, 2);
      ea.hidden_scale = device_tensor(d_scale_, kF32, h.shape_t, 1);
    } else {
      convert_from_f32(h.x.data(), T * H, L.activation_dtype, staged.data());
      to_device(d_hidden_, staged.data(), static_cast<size_t>(T * H) * act_bytes);
      ea.hidden_states = device_tensor(d_hidden_, L.activation_dtype, h.shape_th, 2);
    }
  }

  // ---- experts ----
  h.shape_tk[0] = T;
  h.shape_tk[1] = K;
  h.shape_tkh[0] = T;
  h.shape_tkh[1] = K;
  h.shape_tkh[2] = H;
  h.shape_map[0] = L.num_physical();
  ea.topk_ids = device_tensor(d_ids_, kI32, h.shape_tk, 2);
  ea.topk_weights = device_tensor(d_weights_, kF32, h.shape_tk, 2);
  if (d_map_) ea.expert_map = device_tensor(d_map_, kI32, h.shape_map, 1);
  const bool by_core = ops_->finalize_mode == MOERT_FINALIZE_BY_CORE;
  ea.output = by_core ? device_tensor(d_out_, kF32, h.shape_tkh, 3) : device_tensor(d_out_, L.activation_dtype, h.shape_th, 2);
  int64_t ws_shape[1] = {static_cast<int64_t>(workspace_bytes_)};
  if (workspace_) ea.workspace = device_tensor(workspace_, kU8, ws_shape, 1);
  ea.stream = stream;
  ea.apply_router_weight_on_input = apply_weight_on_input_ ? 1 : 0;
  check(api_, ops_->apply(experts_, &ea), name_ + " experts apply");
  check(api_, api_->stream_synchronize(device_id_, stream), name_ + " stream_synchronize");

  // ---- finalize (host) ----
  const size_t n = static_cast<size_t>(T * H);
  if (by_core) {
    to_host(h.slot_out.data(), d_out_, n * static_cast<size_t>(K) * 4);
    std::fill(h.acc.begin(), h.acc.begin() + static_cast<std::ptrdiff_t>(n), 0.0f);
    for (int64_t t = 0; t < T; ++t)
      for (int32_t k = 0; k < K; ++k) {
        const float w = apply_weight_on_input_ ? 1.0f : h.weights[static_cast<size_t>(t * K + k)];
        const float* y = h.slot_out.data() + (t * K + k) * H;
        float* o = h.acc.data() + t * H;
        for (int64_t j = 0; j < H; ++j) o[j] += w * y[j];
      }
  } else {
    to_host(h.out_bytes.data(), d_out_, n * act_bytes);
    convert_to_f32(h.out_bytes.data(), L.activation_dtype, static_cast<int64_t>(n), h.acc.data());
  }
  if (args.shared_expert) {
    // Stage the shared expert's weights (device tensors) into host copies.
    moert_shared_expert se = *args.shared_expert;
    auto stage = [&](moert_tensor& t, std::vector<uint8_t>& buf, int64_t* shape) {
      if (t.data == nullptr) return;
      if (t.ndim < 1 || t.ndim > 2 || t.shape == nullptr) return;  // add_shared_expert reports the shape
      const size_t bytes = plugin::nbytes(t);
      if (buf.size() < bytes) buf.resize(bytes);
      to_host(buf.data(), t, bytes);
      for (int32_t i = 0; i < t.ndim; ++i) shape[i] = t.shape[i];
      t.data = buf.data();
      t.byte_offset = 0;
      t.shape = shape;
      t.device = moert_device{MOERT_DEVICE_CPU, 0};
    };
    stage(se.w13, h.shared_w13, h.shape_s13);
    stage(se.w2, h.shared_w2, h.shape_s2);
    stage(se.gate, h.shared_gate, h.shape_sg);
    add_shared_expert(L, se, h.hidden.data(), T, h.acc.data(), h.shared_scratch);
  }
  convert_from_f32(h.acc.data(), static_cast<int64_t>(n), L.activation_dtype, h.out_bytes.data());
  to_device(plugin::data_ptr(args.output), h.out_bytes.data(), n * act_bytes);
}

}  // namespace moert
