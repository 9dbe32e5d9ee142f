// See cuda_harness.h.
#include "cuda_harness.h"

#include <cstring>
#include <stdexcept>

namespace cudatest {

DevBuf::DevBuf(size_t bytes) : n_(bytes) { ok(plugin().api->device_alloc(0, bytes, &p_), "device_alloc"); }
DevBuf::~DevBuf() {
  if (p_) plugin().api->error_destroy(plugin().api->device_free(0, p_));
}
DevBuf& DevBuf::operator=(DevBuf&& o) noexcept {
  if (this != &o) {
    if (p_) plugin().api->error_destroy(plugin().api->device_free(0, p_));
    p_ = o.p_;
    n_ = o.n_;
    o.p_ = nullptr;
  }
  return *this;
}
void DevBuf::upload(const void* src, size_t bytes) { ok(plugin().api->copy_host_to_device(0, p_, src, bytes), "h2d"); }
void DevBuf::download(void* dst, size_t bytes) const {
  ok(plugin().api->copy_device_to_host(0, dst, p_, bytes), "d2h");
}

moert_tensor tensor(void* data, moert_dtype dt, std::vector<int64_t>& shape, bool on_device) {
  moert_tensor t;
  std::memset(&t, 0, sizeof t);
  t.data = data;
  t.device = {on_device ? MOERT_DEVICE_CUDA : MOERT_DEVICE_CPU, 0};
  t.ndim = static_cast<int32_t>(shape.size());
  t.dtype = dt;
  t.shape = shape.data();
  return t;
}

namespace {
moert_dtype act_dt(const Case& c) {
  return c.bf16 ? moert_dtype{MOERT_DTYPE_BFLOAT, 16, 1} : moert_dtype{MOERT_DTYPE_FLOAT, 16, 1};
}

moert_error* custom_routing_cb(void* ctx, const moert_tensor*, int32_t, moert_tensor* w, moert_tensor* ids,
                               moert_stream stream) {
  auto* h = static_cast<Harness*>(ctx);
  const auto* api = plugin().api;
  // Blocking copies after draining the stream: a test helper, not graph-safe.
  if (moert_error* e = api->stream_synchronize(0, stream)) return e;
  if (moert_error* e = api->copy_host_to_device(0, ids->data, h->custom_ids.data(), h->custom_ids.size() * 4)) return e;
  return api->copy_host_to_device(0, w->data, h->custom_w.data(), h->custom_w.size() * 4);
}
}  // namespace

Harness::Harness(const Case& c, const HostWeights& w, bool weights_on_device) : c_(c), api_(plugin().api) {
  ops_ = api_->runners[0];
  moert_layer_desc d = make_desc(c);
  if (c.routing == MOERT_ROUTING_CUSTOM) {
    d.custom_routing = custom_routing_cb;
    d.custom_routing_context = this;
  }
  ok(ops_->create(&d, 0, &runner_), "create");
  size_t ws = 0;
  ok(ops_->workspace_size(runner_, c.max_tokens, &ws), "workspace_size");
  ws_ = DevBuf(ws ? ws : 1);
  ws_shape_ = {static_cast<int64_t>(ws)};
  ok(api_->stream_create(0, &stream_), "stream_create");

  // Weights: host tensors, or device copies of them.
  std::vector<DevBuf> keep;
  auto place = [&](const void* p, size_t bytes) -> void* {
    if (!weights_on_device || !p) return const_cast<void*>(p);
    keep.emplace_back(bytes);
    keep.back().upload(p, bytes);
    return keep.back().get();
  };
  moert_expert_weights ew;
  std::memset(&ew, 0, sizeof ew);
  ew.struct_size = sizeof ew;
  const moert_dtype wdt = weight_dtype(c);
  std::vector<int64_t> s13 = w.shp13, s2 = w.shp2;
  ew.w13 = tensor(place(w.w13.data(), w.w13.size()), wdt, s13, weights_on_device);
  ew.w2 = tensor(place(w.w2.data(), w.w2.size()), wdt, s2, weights_on_device);
  std::vector<int64_t> sc13, sc2;
  const int64_t El = s13[0], R = s13[1];
  if (c.quant == MOERT_QUANT_MXFP4) {
    sc13 = {El, R, c.H / 32};
    sc2 = {El, c.H, c.I / 32};
    const moert_dtype e8{MOERT_DTYPE_FLOAT8_E8M0FNU, 8, 1};
    ew.w13_scale = tensor(place(w.w13_scale.data(), w.w13_scale.size()), e8, sc13, weights_on_device);
    ew.w2_scale = tensor(place(w.w2_scale.data(), w.w2_scale.size()), e8, sc2, weights_on_device);
  } else if (c.quant != MOERT_QUANT_NONE) {
    if (c.quant == MOERT_QUANT_FP8_PER_TENSOR) { sc13 = {El}; sc2 = {El}; }
    else if (c.quant == MOERT_QUANT_FP8_PER_CHANNEL) { sc13 = {El, R}; sc2 = {El, c.H}; }
    else {
      sc13 = {El, (R + 127) / 128, (c.H + 127) / 128};
      sc2 = {El, (c.H + 127) / 128, (c.I + 127) / 128};
    }
    const moert_dtype f32{MOERT_DTYPE_FLOAT, 32, 1};
    ew.w13_scale = tensor(place(w.w13_scale.data(), w.w13_scale.size()), f32, sc13, weights_on_device);
    ew.w2_scale = tensor(place(w.w2_scale.data(), w.w2_scale.size()), f32, sc2, weights_on_device);
  }
  std::vector<int64_t> sb13 = {El, R}, sb2 = {El, c.H}, scorr = {c.E};
  const moert_dtype f32{MOERT_DTYPE_FLOAT, 32, 1};
  if (c.bias) {
    ew.w13_bias = tensor(place(w.b13.data(), w.b13.size() * 4), f32, sb13, weights_on_device);
    ew.w2_bias = tensor(place(w.b2.data(), w.b2.size() * 4), f32, sb2, weights_on_device);
  }
  if (c.corr_bias) ew.score_correction_bias = tensor(place(w.corr.data(), w.corr.size() * 4), f32, scorr, weights_on_device);
  ok(ops_->set_weights(runner_, &ew), "set_weights");

  if (c.shared) {
    s13_shape_ = w.shps13;
    s2_shape_ = w.shps2;
    sw13_ = DevBuf(w.sw13.size() * 2);
    sw13_.upload(w.sw13.data(), w.sw13.size() * 2);
    sw2_ = DevBuf(w.sw2.size() * 2);
    sw2_.upload(w.sw2.data(), w.sw2.size() * 2);
    std::memset(&shared_, 0, sizeof shared_);
    shared_.struct_size = sizeof shared_;
    shared_.intermediate_size = c.shared_I;
    shared_.activation = c.shared_act;
    shared_.w13 = tensor(sw13_.get(), act_dt(c), s13_shape_, true);
    shared_.w2 = tensor(sw2_.get(), act_dt(c), s2_shape_, true);
    if (c.shared_gate) {
      sg_shape_ = {c.H};
      sgate_ = DevBuf(c.H * 2);
      sgate_.upload(w.sgate.data(), c.H * 2);
      shared_.gate = tensor(sgate_.get(), act_dt(c), sg_shape_, true);
    }
  }
  x_ = DevBuf(std::max<int64_t>(c.max_tokens, 1) * c.H * 2);
  logits_ = DevBuf(std::max<int64_t>(c.max_tokens, 1) * c.E * 4);
  out_ = DevBuf(std::max<int64_t>(c.max_tokens, 1) * c.H * 2);
}

Harness::~Harness() {
  if (runner_) ops_->destroy(runner_);
  if (stream_) api_->error_destroy(api_->stream_destroy(0, stream_));
}

void Harness::set_inputs(const std::vector<uint16_t>& x, const std::vector<float>& logits, int64_t T) {
  T_ = T;
  if (T > 0) {
    x_.upload(x.data(), T * c_.H * 2);
    logits_.upload(logits.data(), T * c_.E * 4);
    std::vector<uint16_t> poison(T * c_.H, 0xFFFF);  // NaN in bf16 and f16
    out_.upload(poison.data(), poison.size() * 2);
  }
  x_shape_ = {T, c_.H};
  l_shape_ = {T, c_.E};
  o_shape_ = {T, c_.H};
  std::memset(&args_, 0, sizeof args_);
  args_.struct_size = sizeof args_;
  args_.hidden_states = tensor(x_.get(), act_dt(c_), x_shape_, true);
  args_.router_logits = tensor(logits_.get(), {MOERT_DTYPE_FLOAT, 32, 1}, l_shape_, true);
  args_.output = tensor(out_.get(), act_dt(c_), o_shape_, true);
  args_.workspace = tensor(ws_.get(), {MOERT_DTYPE_UINT, 8, 1}, ws_shape_, true);
  args_.stream = stream_;
  args_.shared_expert = c_.shared ? &shared_ : nullptr;
  args_.eplb = eplb_.struct_size ? &eplb_ : nullptr;
}

void Harness::set_eplb(const EplbHost& e) {
  l2p_shape_ = {c_.E, e.R};
  cnt_shape_ = {c_.E};
  load_shape_ = {c_.E + c_.redundant};
  l2p_ = DevBuf(e.l2p.size() * 4);
  l2p_.upload(e.l2p.data(), e.l2p.size() * 4);
  cnt_ = DevBuf(e.count.size() * 4);
  cnt_.upload(e.count.data(), e.count.size() * 4);
  std::vector<int64_t> zeros(c_.E + c_.redundant, 0);
  load_ = DevBuf(zeros.size() * 8);
  load_.upload(zeros.data(), zeros.size() * 8);
  std::memset(&eplb_, 0, sizeof eplb_);
  eplb_.struct_size = sizeof eplb_;
  eplb_.logical_to_physical_map = tensor(l2p_.get(), {MOERT_DTYPE_INT, 32, 1}, l2p_shape_, true);
  eplb_.logical_replica_count = tensor(cnt_.get(), {MOERT_DTYPE_INT, 32, 1}, cnt_shape_, true);
  eplb_.expert_load = tensor(load_.get(), {MOERT_DTYPE_INT, 64, 1}, load_shape_, true);
}

std::vector<int64_t> Harness::expert_load() {
  sync();
  std::vector<int64_t> v(c_.E + c_.redundant);
  load_.download(v.data(), v.size() * 8);
  return v;
}

void Harness::forward() { ok(ops_->forward(runner_, &args_), "forward"); }
void Harness::sync() { ok(api_->stream_synchronize(0, stream_), "stream_synchronize"); }

std::vector<float> Harness::output() {
  sync();
  std::vector<uint16_t> raw(T_ * c_.H);
  if (!raw.empty()) out_.download(raw.data(), raw.size() * 2);
  std::vector<float> f(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) f[i] = c_.bf16 ? bf16_to_f32(raw[i]) : f16_to_f32(raw[i]);
  return f;
}

}  // namespace cudatest
