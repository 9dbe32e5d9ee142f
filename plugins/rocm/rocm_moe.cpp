#include "rocm_moe.h"

#include <cstring>
#include <vector>

#include "aiter_layout.h"
#include "moe_kernels.h"

namespace moert_rocm {

using moert::plugin::make_error;
using moert::plugin::present;

int32_t plugin_device_type() {
#if defined(MOERT_HIP_ON_CUDA)
  return MOERT_DEVICE_CUDA;
#else
  return MOERT_DEVICE_ROCM;
#endif
}

moert_error* gpu_error(hipError_t e, const char* what) {
  if (e == hipSuccess) return nullptr;
  const moert_status code = e == hipErrorMemoryAllocation ? MOERT_STATUS_OUT_OF_MEMORY : MOERT_STATUS_INTERNAL;
  return make_error(code, "%s failed: %s (" MOERT_GPU_RUNTIME_NAME " error %d)", what, hipGetErrorString(e),
                    static_cast<int>(e));
}

#define MOERT_TRY(expr)                      \
  do {                                       \
    if (moert_error* err_ = (expr)) return err_; \
  } while (0)
#define MOERT_GPU(expr) MOERT_TRY(gpu_error((expr), #expr))

namespace {

std::string shape_str(const moert_tensor& t) {
  std::string s = "[";
  for (int i = 0; i < t.ndim; ++i) s += (i ? ", " : "") + std::to_string(t.shape[i]);
  return s + "]";
}
std::string shape_str(const std::vector<int64_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}
bool shape_is(const moert_tensor& t, const std::vector<int64_t>& v) {
  if (t.ndim != static_cast<int32_t>(v.size()) || (t.ndim > 0 && !t.shape)) return false;
  for (int i = 0; i < t.ndim; ++i)
    if (t.shape[i] != v[i]) return false;
  return true;
}
bool dtype_is(const moert_tensor& t, int code, int bits) { return t.dtype.code == code && t.dtype.bits == bits; }

// Checks a forward/apply tensor: present, on this plugin's device, dtype and shape.
moert_error* check_io(const moert_tensor& t, const char* name, int code, int bits,
                      const std::vector<int64_t>& shape) {
  if (!present(t)) return make_error(MOERT_STATUS_INVALID_ARGUMENT, "%s is absent (data is NULL)", name);
  if (t.device.device_type != plugin_device_type())
    return make_error(MOERT_STATUS_INVALID_ARGUMENT, "%s: expected device type %d (this plugin's GPU), got %d",
                      name, plugin_device_type(), t.device.device_type);
  if (!dtype_is(t, code, bits))
    return make_error(MOERT_STATUS_INVALID_ARGUMENT, "%s: expected dtype code %d bits %d, got code %d bits %d",
                      name, code, bits, t.dtype.code, t.dtype.bits);
  if (!shape_is(t, shape))
    return make_error(MOERT_STATUS_INVALID_ARGUMENT, "%s: expected shape %s, got %s", name,
                      shape_str(shape).c_str(), shape_str(t).c_str());
  return nullptr;
}

// The bytes of a weight tensor on the host (copied from the device when needed).
moert_error* host_bytes(const moert_tensor& t, const char* name, size_t expect, std::vector<uint8_t>* out) {
  if (!present(t)) return make_error(MOERT_STATUS_INVALID_ARGUMENT, "weights.%s is absent", name);
  const size_t got = moert::plugin::nbytes(t);
  if (got != expect)
    return make_error(MOERT_STATUS_INVALID_ARGUMENT, "weights.%s: expected %zu bytes, got shape %s (%zu bytes)",
                      name, expect, shape_str(t).c_str(), got);
  out->resize(expect);
  const void* src = moert::plugin::data_ptr(t);
  if (t.device.device_type == MOERT_DEVICE_CPU || t.device.device_type == MOERT_DEVICE_CUDA_HOST ||
      t.device.device_type == MOERT_DEVICE_ROCM_HOST) {
    std::memcpy(out->data(), src, expect);
    return nullptr;
  }
  if (t.device.device_type != plugin_device_type())
    return make_error(MOERT_STATUS_INVALID_ARGUMENT, "weights.%s lives on device type %d; rocm takes host or "
                      "its own device memory", name, t.device.device_type);
  return gpu_error(hipMemcpy(out->data(), src, expect, hipMemcpyDeviceToHost), "hipMemcpy (weights to host)");
}

template <class T>
moert_error* upload(const std::vector<uint8_t>& bytes, T** dst) {
  if (*dst) { (void)hipFree(*dst); *dst = nullptr; }
  void* p = nullptr;
  MOERT_GPU(hipMalloc(&p, bytes.size()));
  *dst = static_cast<T*>(p);
  return gpu_error(hipMemcpy(p, bytes.data(), bytes.size(), hipMemcpyHostToDevice), "hipMemcpy (weights)");
}

bool is_e8m0_or_u8(const moert_tensor& t) {
  return dtype_is(t, MOERT_DTYPE_FLOAT8_E8M0FNU, 8) || dtype_is(t, MOERT_DTYPE_UINT, 8);
}
bool is_fp4_or_u8(const moert_tensor& t) {
  return dtype_is(t, MOERT_DTYPE_FLOAT4_E2M1FN, 4) || dtype_is(t, MOERT_DTYPE_UINT, 8);
}

size_t align256(size_t v) { return (v + 255) / 256 * 256; }

}  // namespace

struct MoeLayer::Work {
  float* topk_w;
  int32_t* topk_ids;
  int32_t* slot_local;
  int32_t* sorted_slots;
  int32_t* tile_expert;
  uint8_t* xq;
  float* xs;
  float* h;
  uint16_t* a;
  float* y;
};

MoeLayer::MoeLayer(const LayerConfig& cfg, int32_t device_id) : cfg_(cfg), device_(device_id) {}

MoeLayer::~MoeLayer() {
  (void)hipSetDevice(device_);  // a destructor has nobody to report to
  for (void* p : {static_cast<void*>(d_map_), static_cast<void*>(d_mask_), static_cast<void*>(d_w13_),
                  static_cast<void*>(d_w2_), static_cast<void*>(d_s13_), static_cast<void*>(d_s2_),
                  static_cast<void*>(d_b13_), static_cast<void*>(d_b2_)})
    if (p) (void)hipFree(p);
}

moert_error* MoeLayer::init() {
  MOERT_GPU(hipSetDevice(device_));
#if defined(MOERT_HIP_ON_CUDA)
  MOERT_GPU(cudaDeviceGetAttribute(&sm_count_, cudaDevAttrMultiProcessorCount, device_));
#else
  MOERT_GPU(hipDeviceGetAttribute(&sm_count_, hipDeviceAttributeMultiprocessorCount, device_));
#endif
  if (!cfg_.expert_map.empty()) {
    std::vector<uint8_t> map_bytes(cfg_.expert_map.size() * 4), mask;
    std::memcpy(map_bytes.data(), cfg_.expert_map.data(), map_bytes.size());
    moert_hip::expert_mask_from_map(cfg_.expert_map, cfg_.num_local, &mask);
    MOERT_TRY(upload(map_bytes, &d_map_));
    MOERT_TRY(upload(mask, &d_mask_));
  }
  return nullptr;
}

size_t MoeLayer::workspace_bytes(int64_t T) const {
  const size_t slots = static_cast<size_t>(T) * cfg_.top_k;
  const size_t tiles = static_cast<size_t>(moert_hip::moe_max_tiles(slots, cfg_.num_local));
  size_t b = 0;
  b += align256(slots * 4) * 3;                       // topk_w, topk_ids, slot_local
  b += align256(tiles * moert_hip::kTileM * 4);       // sorted_slots
  b += align256(tiles * 4);                           // tile_expert
  b += align256(static_cast<size_t>(T) * cfg_.H);     // x_q (fp8)
  b += align256(static_cast<size_t>(T) * 4);          // x_scale
  b += align256(slots * 2 * cfg_.I * 4);              // h (f32)
  b += align256(slots * cfg_.I * 2);                  // a (bf16)
  b += align256(slots * cfg_.H * 4);                  // y (f32)
  return b;
}

moert_error* MoeLayer::check_workspace(const moert_tensor& ws, int64_t T, Work* w) const {
  const size_t need = workspace_bytes(T);
  if (!present(ws)) return make_error(MOERT_STATUS_INVALID_ARGUMENT, "workspace is absent (needs %zu bytes)", need);
  const size_t got = moert::plugin::nbytes(ws);
  if (got < need)
    return make_error(MOERT_STATUS_INVALID_ARGUMENT, "workspace: expected at least %zu bytes for %lld tokens, got %zu",
                      need, static_cast<long long>(T), got);
  char* p = static_cast<char*>(moert::plugin::data_ptr(ws));
  const size_t slots = static_cast<size_t>(T) * cfg_.top_k;
  const size_t tiles = static_cast<size_t>(moert_hip::moe_max_tiles(slots, cfg_.num_local));
  auto take = [&p](size_t bytes) { char* r = p; p += align256(bytes); return r; };
  w->topk_w = reinterpret_cast<float*>(take(slots * 4));
  w->topk_ids = reinterpret_cast<int32_t*>(take(slots * 4));
  w->slot_local = reinterpret_cast<int32_t*>(take(slots * 4));
  w->sorted_slots = reinterpret_cast<int32_t*>(take(tiles * moert_hip::kTileM * 4));
  w->tile_expert = reinterpret_cast<int32_t*>(take(tiles * 4));
  w->xq = reinterpret_cast<uint8_t*>(take(static_cast<size_t>(T) * cfg_.H));
  w->xs = reinterpret_cast<float*>(take(static_cast<size_t>(T) * 4));
  w->h = reinterpret_cast<float*>(take(slots * 2 * cfg_.I * 4));
  w->a = reinterpret_cast<uint16_t*>(take(slots * cfg_.I * 2));
  w->y = reinterpret_cast<float*>(take(slots * cfg_.H * 4));
  return nullptr;
}

moert_error* MoeLayer::set_weights(const moert_expert_weights* W) {
  if (!W) return make_error(MOERT_STATUS_INVALID_ARGUMENT, "weights is NULL");
  MOERT_GPU(hipSetDevice(device_));
  const int64_t E = cfg_.num_local, H = cfg_.H, I = cfg_.I, R = 2 * I;
  struct Mat { const moert_tensor* w; const moert_tensor* s; const char* wn; const char* sn; int64_t N, K; };
  const Mat mats[2] = {{&W->w13, &W->w13_scale, "w13", "w13_scale", R, H},
                       {&W->w2, &W->w2_scale, "w2", "w2_scale", H, I}};
  std::vector<uint8_t> wb[2], sb[2];
  const bool shuffled = cfg_.layout != WeightLayout::kCheckpoint;
  for (int m = 0; m < 2; ++m) {
    const Mat& M = mats[m];
    if (!is_fp4_or_u8(*M.w))
      return make_error(MOERT_STATUS_INVALID_ARGUMENT, "weights.%s: expected dtype fp4_e2m1 (or u8 bytes)", M.wn);
    if (!is_e8m0_or_u8(*M.s))
      return make_error(MOERT_STATUS_INVALID_ARGUMENT, "weights.%s: expected dtype e8m0 (or u8)", M.sn);
    const size_t wbytes = static_cast<size_t>(E * M.N * M.K / 2);
    const int64_t srows = E * M.N, scols = M.K / 32;
    const size_t sbytes = shuffled ? static_cast<size_t>(moert_hip::scale_padded_rows(srows) *
                                                         moert_hip::scale_padded_cols(scols))
                                   : static_cast<size_t>(srows * scols);
    std::vector<uint8_t> w_in, s_in;
    MOERT_TRY(host_bytes(*M.w, M.wn, wbytes, &w_in));
    MOERT_TRY(host_bytes(*M.s, M.sn, sbytes, &s_in));
    if (shuffled) {
      wb[m].swap(w_in);
      sb[m].swap(s_in);
    } else {  // the post-processing hook: checkpoint -> aiter layouts
      wb[m].resize(wbytes);
      moert_hip::shuffle_weight_16x16(w_in.data(), wb[m].data(), E, M.N, M.K / 2);
      sb[m].resize(static_cast<size_t>(moert_hip::scale_padded_rows(srows) * moert_hip::scale_padded_cols(scols)));
      moert_hip::e8m0_shuffle(s_in.data(), sb[m].data(), srows, scols);
    }
  }
  std::vector<uint8_t> b13, b2;
  if (cfg_.has_bias) {
    if (!dtype_is(W->w13_bias, MOERT_DTYPE_FLOAT, 32) || !dtype_is(W->w2_bias, MOERT_DTYPE_FLOAT, 32))
      return make_error(MOERT_STATUS_INVALID_ARGUMENT, "weights.w13_bias / w2_bias: expected dtype f32");
    MOERT_TRY(host_bytes(W->w13_bias, "w13_bias", static_cast<size_t>(E * R * 4), &b13));
    MOERT_TRY(host_bytes(W->w2_bias, "w2_bias", static_cast<size_t>(E * H * 4), &b2));
  }
  MOERT_TRY(upload(wb[0], &d_w13_));
  MOERT_TRY(upload(sb[0], &d_s13_));
  MOERT_TRY(upload(wb[1], &d_w2_));
  MOERT_TRY(upload(sb[1], &d_s2_));
  if (cfg_.has_bias) {
    MOERT_TRY(upload(b13, &d_b13_));
    MOERT_TRY(upload(b2, &d_b2_));
  }
  has_weights_ = true;
  return nullptr;
}

moert_error* MoeLayer::run_experts(int64_t T, int32_t a_kind, const void* x, const float* x_scale,
                                   const int32_t* topk_ids, const float* topk_w, const int32_t* map,
                                   int64_t map_len, uint16_t* out, const Work& w, hipStream_t s) const {
  const int64_t slots = T * cfg_.top_k;
  const int64_t tiles = moert_hip::moe_max_tiles(slots, cfg_.num_local);
  MOERT_GPU(moert_hip::launch_moe_align(topk_ids, slots, map, map_len, cfg_.num_local, w.slot_local,
                                        w.sorted_slots, w.tile_expert, tiles, s));
  const int64_t busy = slots < cfg_.num_local ? slots : cfg_.num_local;
  moert_hip::GemmArgs g{};
  g.a_kind = a_kind;
  g.a = x;
  g.a_scale = x_scale;
  g.top_k = cfg_.top_k;
  g.w = d_w13_;
  g.w_scale = d_s13_;
  g.bias = d_b13_;
  g.N = 2 * cfg_.I;
  g.K = cfg_.H;
  g.sorted_slots = w.sorted_slots;
  g.tile_expert = w.tile_expert;
  g.max_tiles = tiles;
  g.out = w.h;
  g.narrow_tiles = busy * ((g.N + 127) / 128) < 2 * sm_count_;
  MOERT_GPU(moert_hip::launch_mxfp4_gemm(g, s));
  MOERT_GPU(moert_hip::launch_gated_activation(w.h, slots, cfg_.I, cfg_.row_mode, cfg_.activation, cfg_.alpha,
                                               cfg_.limit, w.slot_local, w.a, s));
  g.a_kind = moert_hip::kA_SlotBf16;
  g.a = w.a;
  g.a_scale = nullptr;
  g.w = d_w2_;
  g.w_scale = d_s2_;
  g.bias = d_b2_;
  g.N = cfg_.H;
  g.K = cfg_.I;
  g.out = w.y;
  g.narrow_tiles = busy * ((g.N + 127) / 128) < 2 * sm_count_;
  MOERT_GPU(moert_hip::launch_mxfp4_gemm(g, s));
  MOERT_GPU(moert_hip::launch_moe_combine(w.y, topk_w, w.slot_local, T, cfg_.top_k, cfg_.H, out, s));
  return nullptr;
}

moert_error* MoeLayer::forward(const moert_forward_args* a) {
  if (!a) return make_error(MOERT_STATUS_INVALID_ARGUMENT, "forward args is NULL");
  if (!has_weights_) return make_error(MOERT_STATUS_FAILED_PRECONDITION, "forward before set_weights");
  if (a->shared_expert)
    return make_error(MOERT_STATUS_UNIMPLEMENTED, "rocm runner does not run shared experts; use the modular runner");
  if (MOERT_HAS_FIELD(a, moert_forward_args, eplb) && a->eplb)
    return make_error(MOERT_STATUS_UNIMPLEMENTED, "rocm runner does not implement EPLB");
  const moert_tensor& x = a->hidden_states;
  if (!present(x) || x.ndim != 2 || !x.shape)
    return make_error(MOERT_STATUS_INVALID_ARGUMENT, "hidden_states: expected a 2-D tensor [T, %lld]",
                      static_cast<long long>(cfg_.H));
  const int64_t T = x.shape[0];
  if (T < 0 || T > cfg_.max_tokens)
    return make_error(MOERT_STATUS_INVALID_ARGUMENT, "hidden_states: T = %lld outside [0, max_num_tokens = %lld]",
                      static_cast<long long>(T), static_cast<long long>(cfg_.max_tokens));
  MOERT_TRY(check_io(x, "hidden_states", MOERT_DTYPE_BFLOAT, 16, {T, cfg_.H}));
  MOERT_TRY(check_io(a->output, "output", MOERT_DTYPE_BFLOAT, 16, {T, cfg_.H}));
  const moert_tensor& lg = a->router_logits;
  int kind;
  if (dtype_is(lg, MOERT_DTYPE_FLOAT, 32)) kind = 0;
  else if (dtype_is(lg, MOERT_DTYPE_BFLOAT, 16)) kind = 1;
  else if (dtype_is(lg, MOERT_DTYPE_FLOAT, 16)) kind = 2;
  else return make_error(MOERT_STATUS_INVALID_ARGUMENT, "router_logits: expected dtype f32, bf16 or f16");
  MOERT_TRY(check_io(lg, "router_logits", lg.dtype.code, lg.dtype.bits, {T, cfg_.num_experts}));
  if (T == 0) return nullptr;
  Work w;
  MOERT_TRY(check_workspace(a->workspace, T, &w));
  MOERT_GPU(hipSetDevice(device_));
  hipStream_t s = static_cast<hipStream_t>(a->stream);
  MOERT_GPU(moert_hip::launch_routing_topk(moert::plugin::data_ptr(lg), kind, T, cfg_.num_experts, cfg_.top_k,
                                           cfg_.sigmoid, cfg_.renormalize, cfg_.scaling, w.topk_w, w.topk_ids, s));
  const void* xp = moert::plugin::data_ptr(x);
  int32_t a_kind = moert_hip::kA_TokenBf16;
  if (cfg_.fp8_tokens) {  // a8w4 prepare
    MOERT_GPU(moert_hip::launch_fp8_per_token_quant(static_cast<const uint16_t*>(xp), T, cfg_.H, w.xq, w.xs, s));
    xp = w.xq;
    a_kind = moert_hip::kA_TokenFp8;
  }
  return run_experts(T, a_kind, xp, w.xs, w.topk_ids, w.topk_w, d_map_,
                     static_cast<int64_t>(cfg_.expert_map.size()),
                     static_cast<uint16_t*>(moert::plugin::data_ptr(a->output)), w, s);
}

moert_error* MoeLayer::apply(const moert_experts_args* a) {
  if (!a) return make_error(MOERT_STATUS_INVALID_ARGUMENT, "experts args is NULL");
  if (!has_weights_) return make_error(MOERT_STATUS_FAILED_PRECONDITION, "apply before set_weights");
  const moert_tensor& x = a->hidden_states;
  if (!present(x) || x.ndim != 2 || !x.shape)
    return make_error(MOERT_STATUS_INVALID_ARGUMENT, "hidden_states: expected a 2-D tensor [T, %lld]",
                      static_cast<long long>(cfg_.H));
  const int64_t T = x.shape[0];
  if (T < 0 || T > cfg_.max_tokens)
    return make_error(MOERT_STATUS_INVALID_ARGUMENT, "hidden_states: T = %lld outside [0, max_num_tokens = %lld]",
                      static_cast<long long>(T), static_cast<long long>(cfg_.max_tokens));
  int32_t a_kind = moert_hip::kA_TokenBf16;
  const float* xs = nullptr;
  if (cfg_.fp8_tokens) {
    MOERT_TRY(check_io(x, "hidden_states (fp8_per_token)", MOERT_DTYPE_FLOAT8_E4M3FN, 8, {T, cfg_.H}));
    MOERT_TRY(check_io(a->hidden_scale, "hidden_scale", MOERT_DTYPE_FLOAT, 32, {T}));
    a_kind = moert_hip::kA_TokenFp8;
    xs = static_cast<const float*>(moert::plugin::data_ptr(a->hidden_scale));
  } else {
    MOERT_TRY(check_io(x, "hidden_states", MOERT_DTYPE_BFLOAT, 16, {T, cfg_.H}));
  }
  MOERT_TRY(check_io(a->topk_ids, "topk_ids", MOERT_DTYPE_INT, 32, {T, cfg_.top_k}));
  MOERT_TRY(check_io(a->topk_weights, "topk_weights", MOERT_DTYPE_FLOAT, 32, {T, cfg_.top_k}));
  MOERT_TRY(check_io(a->output, "output", MOERT_DTYPE_BFLOAT, 16, {T, cfg_.H}));
  const int32_t* map = d_map_;
  int64_t map_len = static_cast<int64_t>(cfg_.expert_map.size());
  if (present(a->expert_map)) {
    if (a->expert_map.ndim != 1 || !a->expert_map.shape)
      return make_error(MOERT_STATUS_INVALID_ARGUMENT, "expert_map: expected a 1-D int32 tensor");
    MOERT_TRY(check_io(a->expert_map, "expert_map", MOERT_DTYPE_INT, 32, {a->expert_map.shape[0]}));
    map = static_cast<const int32_t*>(moert::plugin::data_ptr(a->expert_map));
    map_len = a->expert_map.shape[0];
  }
  if (T == 0) return nullptr;
  Work w;
  MOERT_TRY(check_workspace(a->workspace, T, &w));
  MOERT_GPU(hipSetDevice(device_));
  const float* tw = a->apply_router_weight_on_input
                        ? nullptr
                        : static_cast<const float*>(moert::plugin::data_ptr(a->topk_weights));
  return run_experts(T, a_kind, moert::plugin::data_ptr(x), xs,
                     static_cast<const int32_t*>(moert::plugin::data_ptr(a->topk_ids)), tw, map, map_len,
                     static_cast<uint16_t*>(moert::plugin::data_ptr(a->output)), w,
                     static_cast<hipStream_t>(a->stream));
}

}  // namespace moert_rocm
