// The "cuda" runner (see cuda_runner.h): layer checks, weight repacking and
// the forward's kernel sequence.
#include "cuda_runner.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "fused_trace.h"
#include "status_error.h"
#include "../../kernels/cuda/activation.cuh"
#include "../../kernels/cuda/combine.cuh"
#include "../../kernels/cuda/dequant.cuh"
#include "../../kernels/cuda/grouped_gemm.cuh"
#include "../../kernels/cuda/grouped_gemv_bulk.cuh"
#include "../../kernels/cuda/routing.cuh"
#include "../../kernels/cuda/sort_align.cuh"

namespace moert_cuda {
namespace {

using moert::plugin::data_ptr;
using moert::plugin::present;

bool is_dtype(moert_dtype d, int code, int bits) { return d.code == code && d.bits == bits && d.lanes == 1; }
bool is_bf16(moert_dtype d) { return is_dtype(d, MOERT_DTYPE_BFLOAT, 16); }
bool is_f16(moert_dtype d) { return is_dtype(d, MOERT_DTYPE_FLOAT, 16); }
bool is_f32(moert_dtype d) { return is_dtype(d, MOERT_DTYPE_FLOAT, 32); }

std::string dt_name(moert_dtype d) {
  switch (d.code) {
    case MOERT_DTYPE_FLOAT: return d.bits == 16 ? "f16" : d.bits == 32 ? "f32" : d.bits == 64 ? "f64" : "float?";
    case MOERT_DTYPE_BFLOAT: return "bf16";
    case MOERT_DTYPE_INT: return d.bits == 32 ? "i32" : d.bits == 64 ? "i64" : "int?";
    case MOERT_DTYPE_UINT: return "u8";
    case MOERT_DTYPE_FLOAT8_E4M3FN: return "fp8_e4m3";
    case MOERT_DTYPE_FLOAT8_E8M0FNU: return "e8m0";
    case MOERT_DTYPE_FLOAT4_E2M1FN: return "fp4_e2m1";
    default: return "code" + std::to_string(d.code);
  }
}

std::string shape_str(const std::vector<int64_t>& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
  return r + "]";
}
std::vector<int64_t> shape_of(const moert_tensor& t) {
  std::vector<int64_t> s;
  for (int i = 0; i < t.ndim; ++i) s.push_back(t.shape[i]);
  return s;
}

// Checks a tensor's presence, dtype and shape; names it in the message.
void expect(const moert_tensor& t, const char* name, moert_dtype dt, const std::vector<int64_t>& shape) {
  invalid_if(!present(t), std::string(name) + " is required but absent");
  invalid_if(t.dtype.code != dt.code || t.dtype.bits != dt.bits,
             std::string(name) + ": expected dtype " + dt_name(dt) + ", got " + dt_name(t.dtype));
  invalid_if(shape_of(t) != shape,
             std::string(name) + ": expected shape " + shape_str(shape) + ", got " + shape_str(shape_of(t)));
  invalid_if(t.strides != nullptr, std::string(name) + ": only compact tensors (strides == NULL) are accepted");
}
void expect_on_device(const moert_tensor& t, const char* name, int32_t device) {
  invalid_if(t.device.device_type != MOERT_DEVICE_CUDA || t.device.device_id != device,
             std::string(name) + ": expected a tensor on cuda:" + std::to_string(device) + ", got device type " +
                 std::to_string(t.device.device_type) + " id " + std::to_string(t.device.device_id));
}

constexpr moert_dtype kF32{MOERT_DTYPE_FLOAT, 32, 1};
constexpr moert_dtype kI32{MOERT_DTYPE_INT, 32, 1};
constexpr moert_dtype kI64{MOERT_DTYPE_INT, 64, 1};
constexpr moert_dtype kFp8{MOERT_DTYPE_FLOAT8_E4M3FN, 8, 1};
constexpr moert_dtype kFp4{MOERT_DTYPE_FLOAT4_E2M1FN, 4, 1};
constexpr moert_dtype kE8m0{MOERT_DTYPE_FLOAT8_E8M0FNU, 8, 1};

// An experiment switch from the environment, read once by the caller: on
// unless set to 0.
bool env_flag_on(const char* name) {
  const char* e = std::getenv(name);
  return !(e && e[0] == '0');
}
// An experiment number from the environment, read once by the caller:
// clamped to [lo, hi] when set and not empty, else `unset`.
int64_t env_int(const char* name, int64_t unset, int64_t lo, int64_t hi) {
  const char* e = std::getenv(name);
  return e && *e ? std::max(lo, std::min(hi, static_cast<int64_t>(std::atoll(e)))) : unset;
}

bool gated_act(int a) { return a == MOERT_ACT_SILU_AND_MUL || a == MOERT_ACT_GELU_AND_MUL || a == MOERT_ACT_GELU_TANH_AND_MUL || a == MOERT_ACT_SWIGLUOAI; }

size_t align256(size_t v) { return (v + 255) & ~size_t(255); }

cudaMemcpyKind kind_from(const moert_tensor& src) {
  return src.device.device_type == MOERT_DEVICE_CUDA ? cudaMemcpyDeviceToDevice : cudaMemcpyHostToDevice;
}

// Copies a [E, rows, row_bytes] tensor to dst; with `interleave`, rows
// [0, rows/2) (gate) go to even and [rows/2, rows) (up) to odd rows.
void upload_rows(void* dst, const moert_tensor& src, int64_t experts, int64_t rows, size_t row_bytes,
                 bool interleave) {
  const char* s = static_cast<const char*>(data_ptr(src));
  char* d = static_cast<char*>(dst);
  const cudaMemcpyKind kind = kind_from(src);
  if (!interleave) {
    cuda_ok(cudaMemcpy(d, s, experts * rows * row_bytes, kind), "copying weights");
    return;
  }
  const int64_t half = rows / 2;
  for (int64_t e = 0; e < experts; ++e) {
    const char* se = s + e * rows * row_bytes;
    char* de = d + e * rows * row_bytes;
    cuda_ok(cudaMemcpy2D(de, 2 * row_bytes, se, row_bytes, row_bytes, half, kind), "interleaving gate rows");
    cuda_ok(cudaMemcpy2D(de + row_bytes, 2 * row_bytes, se + half * row_bytes, row_bytes, row_bytes, half, kind),
            "interleaving up rows");
  }
}

// A small tensor's bytes on the host, wherever it lives.
std::vector<char> host_copy(const moert_tensor& t) {
  std::vector<char> v(moert::plugin::nbytes(t));
  if (v.empty()) return v;
  cuda_ok(cudaMemcpy(v.data(), data_ptr(t), v.size(),
                     t.device.device_type == MOERT_DEVICE_CUDA ? cudaMemcpyDeviceToHost : cudaMemcpyHostToHost),
          "reading scales");
  return v;
}

}  // namespace

// ------------------------------------------------------------------ DeviceBuffer

DeviceBuffer::~DeviceBuffer() {
  if (ptr_) cudaFree(ptr_);
}
void DeviceBuffer::reset(size_t bytes) {
  if (ptr_) cudaFree(ptr_);
  ptr_ = nullptr;
  if (bytes) cuda_ok(cudaMalloc(&ptr_, bytes), "cudaMalloc(" + std::to_string(bytes) + " bytes)");
}

CudaRunner::~CudaRunner() = default;

// ------------------------------------------------------------------ layer checks

std::string unsupported_reason(const moert_layer_desc& l) {
  if (!MOERT_HAS_FIELD(&l, moert_layer_desc, reserved0)) return "layer_desc too small (struct_size)";
  if (!is_bf16(l.activation_dtype) && !is_f16(l.activation_dtype))
    return "activation_dtype " + dt_name(l.activation_dtype) + " not supported (bf16, f16)";
  if (l.num_experts < 1 || l.top_k < 1 || l.hidden_size < 1 || l.intermediate_size < 1)
    return "num_experts, top_k, hidden_size and intermediate_size must be positive";
  if (l.top_k > l.num_experts) return "top_k > num_experts";
  if (l.top_k > 32) return "top_k > 32 not supported";
  if (l.num_experts > 1024) return "num_experts > 1024 not supported (routing keeps scores in shared memory)";
  if (l.hidden_size % 32 || l.intermediate_size % 32)
    return "hidden_size and intermediate_size must be multiples of 32 (got " + std::to_string(l.hidden_size) + ", " +
           std::to_string(l.intermediate_size) + ")";
  if (l.activation < 0 || l.activation > MOERT_ACT_RELU2) return "unknown activation " + std::to_string(l.activation);
  if (l.gate_up_layout == MOERT_GATE_UP_INTERLEAVED && !gated_act(l.activation))
    return "interleaved gate/up layout needs a gated activation";
  const int nl = l.num_local_experts;
  if (nl < 1 || nl > 4096) return "num_local_experts must be in [1, 4096]";
  const int32_t redundant = MOERT_HAS_FIELD(&l, moert_layer_desc, num_redundant_experts) ? l.num_redundant_experts : 0;
  if (!l.expert_map && nl != l.num_experts + redundant) return "without an expert_map, num_local_experts must equal the physical expert count";
  if (l.ep_size < 1 || l.ep_rank < 0 || l.ep_rank >= l.ep_size)
    return "ep_rank " + std::to_string(l.ep_rank) + " must be in [0, ep_size=" + std::to_string(l.ep_size) + ")";
  if (l.expert_map) {
    for (int64_t i = 0; i < int64_t(l.num_experts) + redundant; ++i)
      if (l.expert_map[i] < -1 || l.expert_map[i] >= nl)
        return "expert_map[" + std::to_string(i) + "] = " + std::to_string(l.expert_map[i]) +
               " outside [-1, num_local_experts=" + std::to_string(nl) + ")";
  }
  switch (l.quant_scheme) {
    case MOERT_QUANT_NONE:
      if (l.weight_dtype.code != l.activation_dtype.code || l.weight_dtype.bits != l.activation_dtype.bits)
        return "quant none: weight_dtype " + dt_name(l.weight_dtype) + " must equal activation_dtype " + dt_name(l.activation_dtype);
      break;
    case MOERT_QUANT_FP8_PER_TENSOR:
    case MOERT_QUANT_FP8_PER_CHANNEL:
    case MOERT_QUANT_FP8_BLOCK_128:
      if (!is_dtype(l.weight_dtype, MOERT_DTYPE_FLOAT8_E4M3FN, 8)) return "fp8 schemes need weight_dtype fp8_e4m3, got " + dt_name(l.weight_dtype);
      break;
    case MOERT_QUANT_MXFP4:
      if (!is_dtype(l.weight_dtype, MOERT_DTYPE_FLOAT4_E2M1FN, 4)) return "mxfp4 needs weight_dtype fp4_e2m1, got " + dt_name(l.weight_dtype);
      break;
    default: return "quant scheme " + std::to_string(l.quant_scheme) + " not supported";
  }
  if (l.activation_quant == MOERT_ACT_QUANT_FP8_PER_TOKEN) {
    if (l.quant_scheme < MOERT_QUANT_FP8_PER_TENSOR || l.quant_scheme > MOERT_QUANT_FP8_BLOCK_128)
      return "fp8_per_token activation quant is supported with fp8 weights only";
  } else if (l.activation_quant != MOERT_ACT_QUANT_NONE) {
    return "activation_quant " + std::to_string(l.activation_quant) + " not supported";
  }
  if (l.scoring != MOERT_SCORING_SOFTMAX && l.scoring != MOERT_SCORING_SIGMOID) return "unknown scoring";
  if (l.routing_method == MOERT_ROUTING_GROUPED_TOPK) {
    const int g = l.num_expert_group;
    if (g < 1 || g > 32 || l.num_experts % g) return "grouped top-k: num_expert_group must divide num_experts and be <= 32";
    if (l.topk_group < 1 || l.topk_group > g) return "grouped top-k: topk_group must be in [1, num_expert_group]";
    if (l.top_k > l.topk_group * (l.num_experts / g)) return "grouped top-k: top_k exceeds the experts of the kept groups";
  } else if (l.routing_method == MOERT_ROUTING_CUSTOM) {
    if (!MOERT_HAS_FIELD(&l, moert_layer_desc, custom_routing) || !l.custom_routing)
      return "custom routing needs layer.custom_routing";
  } else if (l.routing_method != MOERT_ROUTING_TOPK) {
    return "unknown routing method";
  }
  if (l.max_num_tokens < 1) return "max_num_tokens must be >= 1, got " + std::to_string(l.max_num_tokens);
  return "";
}

// ------------------------------------------------------------------ runner

CudaRunner::CudaRunner(const moert_layer_desc& layer, int32_t device_id) : device_(device_id) {
  const std::string why = unsupported_reason(layer);
  if (!why.empty()) fail(MOERT_STATUS_UNIMPLEMENTED, why);
  std::memset(&d_, 0, sizeof d_);
  std::memcpy(&d_, &layer, std::min(sizeof d_, layer.struct_size));
  d_.struct_size = sizeof d_;
  // Backend options (strings borrowed for this call; parsed now).
  auto int_option = [](const std::string& key, const std::string& val, long lo, long hi, const char* expected) {
    char* end = nullptr;
    const long v = std::strtol(val.c_str(), &end, 10);
    invalid_if(val.empty() || *end || v < lo || v > hi,
               "option " + key + ": expected " + expected + ", got '" + val + "'");
    return static_cast<int>(v);
  };
  for (int64_t i = 0; layer.options && i < layer.num_options; ++i) {
    const std::string key = layer.options[i].key ? layer.options[i].key : "";
    const std::string val = layer.options[i].value ? layer.options[i].value : "";
    if (key == "cuda.decode_rows_per_expert") {
      char* end = nullptr;
      const double v = std::strtod(val.c_str(), &end);
      invalid_if(val.empty() || *end || v < 0, "option cuda.decode_rows_per_expert: expected a number >= 0, got '" + val + "'");
      decode_rows_ = v;
    } else if (key == "cuda.mma_bk") {
      invalid_if(val != "32" && val != "64", "option cuda.mma_bk: expected 32 or 64, got '" + val + "'");
      mma_bk_ = std::atoi(val.c_str());
    } else if (key == "cuda.mma_tile_rows") {
      invalid_if(val != "64" && val != "128" && val != "auto", "option cuda.mma_tile_rows: expected 64, 128 or auto, got '" + val + "'");
      forced_tile_rows_ = val == "auto" ? 0 : std::atoi(val.c_str());
    } else if (key == "cuda.gemv_kernel") {
      invalid_if(val != "auto" && val != "rows" && val != "stream" && val != "bulk",
                 "option cuda.gemv_kernel: expected auto, rows, stream or bulk, got '" + val + "'");
      gemv_.kernel = val == "rows"     ? GemvKernel::kRows
                     : val == "stream" ? GemvKernel::kStream
                     : val == "bulk"   ? GemvKernel::kBulk
                                       : GemvKernel::kAuto;
    } else if (key == "cuda.l2_prefetch") {
      invalid_if(val != "auto" && val != "off", "option cuda.l2_prefetch: expected auto or off, got '" + val + "'");
      l2_prefetch_ = val == "auto";
    } else if (key == "cuda.wgmma_l2_hints") {
      invalid_if(val != "off" && val != "on", "option cuda.wgmma_l2_hints: expected off or on, got '" + val + "'");
      wgmma_l2_hints_ = val == "on";
    } else if (key == "cuda.wgmma_epilogue") {
      invalid_if(val != "auto" && val != "staged" && val != "direct",
                 "option cuda.wgmma_epilogue: expected auto, staged or direct, got '" + val + "'");
      wgmma_epilogue_ = val == "staged" ? WgEpilogue::kStaged : val == "direct" ? WgEpilogue::kDirect : WgEpilogue::kAuto;
    } else if (key == "cuda.fused_gemv") {
      invalid_if(val != "auto" && val != "off" && val != "on",
                 "option cuda.fused_gemv: expected auto, off or on, got '" + val + "'");
      fused_gemv_ = val == "auto" ? FusedGemv::kAuto : val == "on" ? FusedGemv::kOn : FusedGemv::kOff;
    } else if (key == "cuda.fused_decode") {
      invalid_if(val != "auto" && val != "off", "option cuda.fused_decode: expected auto or off, got '" + val + "'");
      fused_decode_ = val == "auto";
    } else if (key == "cuda.gemv_rows_groups") {
      gemv_.rows_groups = val == "auto" ? 0 : int_option(key, val, 1, 64, "auto or 1 to 64");
    } else if (key == "cuda.gemv_rows_per_pass") {
      invalid_if(val != "auto" && val != "2" && val != "8",
                 "option cuda.gemv_rows_per_pass: expected auto, 2 or 8, got '" + val + "'");
      gemv_.rows_per_pass = val == "auto" ? 0 : std::atoi(val.c_str());
    } else if (key == "cuda.gemv_pairs_per_warp") {
      gemv_.pairs_per_warp = int_option(key, val, 0, 64, "0 (auto) to 64");
    } else {
      // The host passes this backend's options only (docs/config.md), so a
      // key not listed here is a typo or another backend's; either way it
      // would do nothing, silently.
      fail(MOERT_STATUS_INVALID_ARGUMENT,
           "unknown option '" + key +
               "' (the cuda runner accepts cuda.decode_rows_per_expert, cuda.gemv_kernel, cuda.gemv_pairs_per_warp, "
               "cuda.gemv_rows_groups, cuda.gemv_rows_per_pass, cuda.fused_decode, cuda.l2_prefetch, cuda.fused_gemv, "
               "cuda.mma_tile_rows, cuda.mma_bk, cuda.wgmma_l2_hints, cuda.wgmma_epilogue)");
    }
  }
  d_.options = nullptr;
  d_.num_options = 0;
  cuda_ok(cudaSetDevice(device_), "cudaSetDevice(" + std::to_string(device_) + ")");
  gated_ = gated_act(d_.activation);
  rows13_ = gated_ ? 2 * d_.intermediate_size : d_.intermediate_size;
  bf16_ = is_bf16(d_.activation_dtype);
  wf_ = d_.quant_scheme == MOERT_QUANT_NONE ? WeightFormat::kDense
        : d_.quant_scheme == MOERT_QUANT_MXFP4 ? WeightFormat::kMxfp4 : WeightFormat::kFp8;
  trace_ = std::make_unique<FusedTrace>(
      "E " + std::to_string(d_.num_experts) + " top-" + std::to_string(d_.top_k) + " H " +
      std::to_string(d_.hidden_size) + " I " + std::to_string(d_.intermediate_size) +
      (wf_ == WeightFormat::kMxfp4 ? " mxfp4" : wf_ == WeightFormat::kFp8 ? " fp8" : bf16_ ? " bf16" : " f16"));
  const int64_t phys = d_.num_experts + d_.num_redundant_experts;
  if (layer.expert_map) {
    expert_map_.reset(sizeof(int32_t) * phys);
    for (int64_t i = 0; i < phys; ++i)
      invalid_if(layer.expert_map[i] < -1 || layer.expert_map[i] >= d_.num_local_experts,
                 "expert_map[" + std::to_string(i) + "] = " + std::to_string(layer.expert_map[i]) +
                     " outside [-1, num_local_experts)");
    cuda_ok(cudaMemcpy(expert_map_.get(), layer.expert_map, sizeof(int32_t) * phys, cudaMemcpyHostToDevice),
            "copying expert_map");
  }
  d_.expert_map = nullptr;
}

WorkspaceLayout CudaRunner::layout(int64_t max_tokens) const {
  WorkspaceLayout w{};
  const int64_t T = std::max<int64_t>(max_tokens, 0), S = T * d_.top_k, E = d_.num_local_experts;
  const size_t elt = 2;  // bf16 / f16
  size_t off = 0;
  auto take = [&](size_t bytes) { size_t o = off; off += align256(bytes); return o; };
  w.topk_weights = take(sizeof(float) * S);
  w.local_ids = take(sizeof(int32_t) * S);
  w.raw_ids = take(d_.routing_method == MOERT_ROUTING_CUSTOM ? sizeof(int32_t) * S : 0);
  w.offsets = take(sizeof(int32_t) * (E + 1));
  w.active = take(sizeof(int32_t) * E);
  w.active_count = take(sizeof(int32_t));
  const int64_t tiles = max_row_tiles(S, E, kMmaTileRows);
  w.tile_expert = take(sizeof(int32_t) * tiles);
  w.tile_row0 = take(sizeof(int32_t) * tiles);
  w.tile_count = take(sizeof(int32_t) * 3);  // the row tiles, then GEMM1's and GEMM2's work-item counters
  w.sorted_slot = take(sizeof(int32_t) * S);
  w.sort_counts = take(sizeof(int32_t) * sort_block_counts_ints(S, E));  // large batches' many-block sort
  // One token: GEMV2's combine tickets, one per block column (at most H / 8: 4 warps of >= 1 pair each).
  w.combine_tickets = take(sizeof(uint32_t) * (d_.hidden_size / 8 + 1));
  const bool aq = d_.activation_quant == MOERT_ACT_QUANT_FP8_PER_TOKEN;
  w.xq = take(aq ? elt * T * d_.hidden_size : 0);
  w.xs = take(aq ? sizeof(float) * T : 0);
  w.inter = take(elt * S * d_.intermediate_size);
  w.y = take(elt * S * d_.hidden_size);
  // Shared expert: processed in token chunks that fit this region (sized for
  // up to 1024 tokens of a shared expert as wide as a routed one).
  w.shared_bytes = align256(elt * std::min<int64_t>(T, 1024) * (3 * d_.intermediate_size + d_.hidden_size));
  w.shared = take(w.shared_bytes);
  w.total = off;
  return w;
}

void CudaRunner::set_weights(const moert_expert_weights& w) {
  invalid_if(!MOERT_HAS_FIELD(&w, moert_expert_weights, score_correction_bias), "expert_weights struct_size too small");
  cuda_ok(cudaSetDevice(device_), "cudaSetDevice");
  const int64_t E = d_.num_local_experts, H = d_.hidden_size, I = d_.intermediate_size, R = rows13_;
  const bool inter = gated_ && d_.gate_up_layout == MOERT_GATE_UP_CONCAT;
  const moert_dtype wdt = d_.quant_scheme == MOERT_QUANT_NONE ? d_.activation_dtype
                          : d_.quant_scheme == MOERT_QUANT_MXFP4 ? kFp4 : kFp8;
  expect(w.w13, "weights.w13", wdt, {E, R, H});
  expect(w.w2, "weights.w2", wdt, {E, H, I});
  const size_t rb13 = weight_row_bytes(H);
  const size_t rb2 = weight_row_bytes(I);
  w13_.reset(E * R * rb13);
  w2_.reset(E * H * rb2);
  upload_rows(w13_.get(), w.w13, E, R, rb13, inter);
  upload_rows(w2_.get(), w.w2, E, H, rb2, false);

  if (wf_ == WeightFormat::kFp8) {
    // Expand every fp8 scale form to [E][rows][kb] in the repacked row order.
    auto expand = [&](const moert_tensor& t, const char* name, int64_t rows, int64_t K, bool interleave,
                      DeviceBuffer& dst, int32_t& kb_out) {
      int64_t kb = 1;
      std::vector<int64_t> shape;
      if (d_.quant_scheme == MOERT_QUANT_FP8_PER_TENSOR) shape = {E};
      else if (d_.quant_scheme == MOERT_QUANT_FP8_PER_CHANNEL) shape = {E, rows};
      else { kb = (K + 127) / 128; shape = {E, (rows + 127) / 128, kb}; }
      expect(t, name, kF32, shape);
      const std::vector<char> raw = host_copy(t);
      const float* s = reinterpret_cast<const float*>(raw.data());
      std::vector<float> out(E * rows * kb);
      for (int64_t e = 0; e < E; ++e)
        for (int64_t r = 0; r < rows; ++r) {
          const int64_t orig = interleave ? ((r & 1) ? rows / 2 + r / 2 : r / 2) : r;
          for (int64_t b = 0; b < kb; ++b) {
            float v;
            if (d_.quant_scheme == MOERT_QUANT_FP8_PER_TENSOR) v = s[e];
            else if (d_.quant_scheme == MOERT_QUANT_FP8_PER_CHANNEL) v = s[e * rows + orig];
            else v = s[(e * ((rows + 127) / 128) + orig / 128) * kb + b];
            out[(e * rows + r) * kb + b] = v;
          }
        }
      dst.reset(out.size() * sizeof(float));
      cuda_ok(cudaMemcpy(dst.get(), out.data(), out.size() * sizeof(float), cudaMemcpyHostToDevice), "copying scales");
      kb_out = static_cast<int32_t>(kb);
    };
    expand(w.w13_scale, "weights.w13_scale", R, H, inter, s13_, scale_kb13_);
    expand(w.w2_scale, "weights.w2_scale", H, I, false, s2_, scale_kb2_);
  } else if (wf_ == WeightFormat::kMxfp4) {
    expect(w.w13_scale, "weights.w13_scale", kE8m0, {E, R, H / 32});
    expect(w.w2_scale, "weights.w2_scale", kE8m0, {E, H, I / 32});
    mx13_.reset(E * R * (H / 32));
    mx2_.reset(E * H * (I / 32));
    upload_rows(mx13_.get(), w.w13_scale, E, R, H / 32, inter);
    upload_rows(mx2_.get(), w.w2_scale, E, H, I / 32, false);
    // The plugin's bit order and biased scales (dequant.cuh), which every MXFP4 decode here reads.
    launch_mxfp4_to_plugin_layout(w13_.get(), mx13_.as<uint8_t>(), E * R * (H / 32), nullptr);
    launch_mxfp4_to_plugin_layout(w2_.get(), mx2_.as<uint8_t>(), E * H * (I / 32), nullptr);
  }
  if (d_.has_bias) {
    expect(w.w13_bias, "weights.w13_bias", kF32, {E, R});
    expect(w.w2_bias, "weights.w2_bias", kF32, {E, H});
    b13_.reset(E * R * 4);
    b2_.reset(E * H * 4);
    upload_rows(b13_.get(), w.w13_bias, E, R, 4, inter);
    upload_rows(b2_.get(), w.w2_bias, E, H, 4, false);
  }
  if (d_.routing_method == MOERT_ROUTING_GROUPED_TOPK && d_.has_score_correction_bias) {
    expect(w.score_correction_bias, "weights.score_correction_bias", kF32, {d_.num_experts});
    corr_bias_.reset(4 * d_.num_experts);
    cuda_ok(cudaMemcpy(corr_bias_.get(), data_ptr(w.score_correction_bias), 4 * d_.num_experts,
                       kind_from(w.score_correction_bias)),
            "copying score_correction_bias");
  }
  cuda_ok(cudaDeviceSynchronize(), "set_weights");
  weights_set_ = true;
}

void CudaRunner::forward(const moert_forward_args& a) {
  invalid_if(!MOERT_HAS_FIELD(&a, moert_forward_args, shared_expert), "forward_args struct_size too small");
  if (!weights_set_) fail(MOERT_STATUS_FAILED_PRECONDITION, "forward before set_weights");
  invalid_if(a.hidden_states.ndim != 2, "hidden_states: expected 2 dims [T, H]");
  const int64_t T = a.hidden_states.shape[0];
  invalid_if(T > d_.max_num_tokens, "hidden_states: T = " + std::to_string(T) + " exceeds max_num_tokens " +
                                        std::to_string(d_.max_num_tokens));
  expect(a.hidden_states, "hidden_states", d_.activation_dtype, {T, d_.hidden_size});
  expect_on_device(a.hidden_states, "hidden_states", device_);
  invalid_if(!present(a.router_logits) || !(is_f32(a.router_logits.dtype) || is_bf16(a.router_logits.dtype) || is_f16(a.router_logits.dtype)),
             "router_logits: expected f32, bf16 or f16, got " + dt_name(a.router_logits.dtype));
  expect(a.router_logits, "router_logits", a.router_logits.dtype, {T, d_.num_experts});
  expect_on_device(a.router_logits, "router_logits", device_);
  expect(a.output, "output", d_.activation_dtype, {T, d_.hidden_size});
  expect_on_device(a.output, "output", device_);
  const size_t need = workspace_size(T);
  invalid_if(!present(a.workspace) || moert::plugin::nbytes(a.workspace) < need,
             "workspace: need " + std::to_string(need) + " bytes, got " +
                 std::to_string(present(a.workspace) ? moert::plugin::nbytes(a.workspace) : 0));
  cuda_ok(cudaSetDevice(device_), "cudaSetDevice");
  if (bf16_) forward_typed<__nv_bfloat16>(a, T);
  else forward_typed<__half>(a, T);
}

template <class T>
void CudaRunner::forward_typed(const moert_forward_args& a, int64_t tokens) {
  cudaStream_t st = static_cast<cudaStream_t>(a.stream);
  const WorkspaceLayout L = layout(tokens);
  char* ws = static_cast<char*>(data_ptr(a.workspace));
  auto at = [&](size_t off) { return ws + off; };
  const int K = d_.top_k;
  const int64_t S = tokens * K, H = d_.hidden_size, I = d_.intermediate_size, E = d_.num_local_experts;

  // ---- routing
  RoutingParams rp{};
  rp.logits = data_ptr(a.router_logits);
  rp.logits_dtype = is_f32(a.router_logits.dtype) ? 0 : is_bf16(a.router_logits.dtype) ? 1 : 2;
  rp.tokens = tokens;
  rp.num_experts = d_.num_experts;
  rp.top_k = K;
  rp.sigmoid = d_.scoring == MOERT_SCORING_SIGMOID;
  rp.grouped = d_.routing_method == MOERT_ROUTING_GROUPED_TOPK;
  rp.num_groups = d_.num_expert_group;
  rp.topk_groups = d_.topk_group;
  rp.correction_bias = rp.grouped && d_.has_score_correction_bias ? corr_bias_.as<float>() : nullptr;
  rp.renormalize = d_.renormalize;
  rp.scaling = d_.routed_scaling_factor;
  rp.expert_map = expert_map_.as<int32_t>();
  rp.topk_weights = reinterpret_cast<float*>(at(L.topk_weights));
  rp.local_ids = reinterpret_cast<int32_t*>(at(L.local_ids));
  const moert_eplb_state* eplb = MOERT_HAS_FIELD(&a, moert_forward_args, eplb) ? a.eplb : nullptr;
  if (eplb) {
    const int64_t phys = d_.num_experts + d_.num_redundant_experts;
    invalid_if(!present(eplb->logical_to_physical_map), "EPLB requires logical_to_physical_map");
    invalid_if(!present(eplb->logical_replica_count), "EPLB requires logical_replica_count");
    invalid_if(eplb->logical_to_physical_map.ndim != 2, "eplb.logical_to_physical_map: expected [E, max_replicas]");
    const int64_t R = eplb->logical_to_physical_map.shape[1];
    expect(eplb->logical_to_physical_map, "eplb.logical_to_physical_map", kI32, {d_.num_experts, R});
    expect(eplb->logical_replica_count, "eplb.logical_replica_count", kI32, {d_.num_experts});
    expect_on_device(eplb->logical_to_physical_map, "eplb.logical_to_physical_map", device_);
    expect_on_device(eplb->logical_replica_count, "eplb.logical_replica_count", device_);
    rp.l2p_map = static_cast<const int32_t*>(data_ptr(eplb->logical_to_physical_map));
    rp.max_replicas = static_cast<int>(R);
    rp.replica_count = static_cast<const int32_t*>(data_ptr(eplb->logical_replica_count));
    if (present(eplb->expert_load)) {
      expect(eplb->expert_load, "eplb.expert_load", kI64, {phys});
      expect_on_device(eplb->expert_load, "eplb.expert_load", device_);
      rp.expert_load = static_cast<unsigned long long*>(data_ptr(eplb->expert_load));
    }
  } else {
    invalid_if(d_.num_redundant_experts > 0, "EPLB requires logical_to_physical_map (layer has redundant experts)");
  }
  const moert_shared_expert* sh = a.shared_expert;
  if (sh) {
    invalid_if(!MOERT_HAS_FIELD(sh, moert_shared_expert, gate), "shared_expert struct_size too small");
    invalid_if(sh->activation == MOERT_ACT_SWIGLUOAI || sh->activation < 0 || sh->activation > MOERT_ACT_RELU2,
               "shared_expert.activation: swigluoai or unknown activation not allowed");
    invalid_if(sh->intermediate_size < 32 || sh->intermediate_size % 32, "shared_expert.intermediate_size must be a positive multiple of 32");
    const int64_t rs = gated_act(sh->activation) ? 2 * sh->intermediate_size : sh->intermediate_size;
    expect(sh->w13, "shared_expert.w13", d_.activation_dtype, {rs, H});
    expect(sh->w2, "shared_expert.w2", d_.activation_dtype, {H, sh->intermediate_size});
    expect_on_device(sh->w13, "shared_expert.w13", device_);
    expect_on_device(sh->w2, "shared_expert.w2", device_);
    if (present(sh->gate)) {
      expect(sh->gate, "shared_expert.gate", d_.activation_dtype, {H});
      expect_on_device(sh->gate, "shared_expert.gate", device_);
    }
  }
  if (tokens == 0) return;

  // ---- routing and sort by expert
  SortBuffers sb{reinterpret_cast<int32_t*>(at(L.offsets)),     reinterpret_cast<int32_t*>(at(L.sorted_slot)),
                 reinterpret_cast<int32_t*>(at(L.active)),      reinterpret_cast<int32_t*>(at(L.active_count)),
                 reinterpret_cast<int32_t*>(at(L.tile_expert)), reinterpret_cast<int32_t*>(at(L.tile_row0)),
                 reinterpret_cast<int32_t*>(at(L.tile_count))};
  // Large batches sort over many blocks (sort_align.cuh) in this scratch
  // (sized for this batch, 0 ints when small); MOERT_CUDA_SORT_MULTI=0 keeps
  // the one-block sort, for experiments.
  static const bool sort_multi = env_flag_on("MOERT_CUDA_SORT_MULTI");
  int32_t* sort_counts = sort_multi ? reinterpret_cast<int32_t*>(at(L.sort_counts)) : nullptr;
  // Decode path (GEMV) when experts see few rows on average; tensor cores
  // otherwise, with 128-row tiles once experts average that many rows.
  const bool decode = S <= decode_rows_ * E;
  // Dense weights on Hopper's wgmma kernel (grouped_gemm_sm90.cu, whose
  // 128-row tile is 128 x 256): 128-row tiles from 64 rows per expert. H200,
  // same call, against its 64 x 256 tile: qwen3 1024 / 4096 tokens (64 / 256
  // rows per expert) 424 -> 397 / 925 -> 813 us, gpt-oss 4096 (512 rows)
  // 2604 -> 2490, mixtral 256 (64 rows) 816 -> 737; gpt-oss 1024 (128 rows)
  // 1619 -> 1647. Elsewhere (mma.sync GPUs, quantized weights) dense weights
  // below K = 4096 keep the 64-row tile up to 512 rows per expert, where its
  // smaller row remainder won when the wgmma 128-row tile was 128 x 128
  // (qwen3 4096 tokens 1500 -> 1421 us), and 128-row tiles start at 128 rows.
  const bool dense = wf_ == WeightFormat::kDense;
  const bool wide_k = H >= 4096 || !dense;
  const bool wgmma_dense = wgmma_can_run(wf_, mma_bk_, H) && wgmma_can_run(wf_, mma_bk_, I);
  const int auto_rows = wgmma_dense ? (S >= 64 * E ? 128 : 64)
                                    : (S >= 128 * E && (wide_k || S >= 512 * E) ? 128 : 64);
  const int tile_rows = forced_tile_rows_ ? forced_tile_rows_ : auto_rows;
  const bool aq = d_.activation_quant == MOERT_ACT_QUANT_FP8_PER_TOKEN;
  const T* x = static_cast<const T*>(data_ptr(a.hidden_states));
  const T* x_in = aq ? reinterpret_cast<const T*>(at(L.xq)) : x;
  const int64_t max_groups = std::min<int64_t>(E, S);
  const int64_t max_tiles = max_row_tiles(S, E, tile_rows);
  auto run_grouped = [&](const GemmParams& p, WeightFormat wf) {
    if (decode) launch_grouped_gemv<T>(p, wf, max_groups, tokens, gemv_, st);
    else launch_grouped_mma<T>(p, wf, tile_rows, mma_bk_, max_tiles, st);
  };

  GemmParams g1{};
  g1.l2_hints = wgmma_l2_hints_;
  g1.wg_epilogue = wgmma_epilogue_;
  g1.a = x_in;
  g1.lda = H;
  g1.a_index = sb.sorted_slot;
  g1.a_index_div = K;
  g1.a_scale = aq ? reinterpret_cast<const float*>(at(L.xs)) : nullptr;
  g1.b = w13_.get();
  const size_t rb13 = weight_row_bytes(H);
  g1.b_expert_bytes = rows13_ * rb13;
  g1.w_scale = s13_.as<float>();
  g1.w_scale_kb = scale_kb13_;
  g1.mx_scale = mx13_.as<uint8_t>();
  g1.bias = d_.has_bias ? b13_.as<float>() : nullptr;
  g1.n = static_cast<int32_t>(rows13_);
  g1.k = static_cast<int32_t>(H);
  g1.expert_offsets = sb.offsets;
  g1.active_experts = sb.active;
  g1.active_count = sb.active_count;
  g1.tile_expert = sb.tile_expert;
  g1.tile_row0 = sb.tile_row0;
  g1.tile_count = sb.tile_count;
  g1.item_counter = sb.tile_count + 1;
  g1.slots = static_cast<int32_t>(S);  // g2 inherits it and groups
  g1.groups = static_cast<int32_t>(E);
  g1.c = at(L.inter);
  g1.ldc = I;
  g1.epi = gated_ ? Epilogue::kActPairs : Epilogue::kActSingle;
  g1.act = d_.activation;
  g1.alpha = d_.swiglu_alpha;
  g1.limit = d_.swiglu_limit;
  const size_t rb2 = weight_row_bytes(I);
  GemmParams g2 = g1;
  g2.a = at(L.inter);
  g2.lda = I;
  g2.a_index = nullptr;
  g2.a_index_div = 1;
  g2.a_scale = nullptr;  // the intermediate is not fp8-quantized (docs/semantics.md)
  g2.b = w2_.get();
  g2.prefetch = nullptr;
  // Decode GEMV2 (rows kernel): each block's first 24 KB of weight rows into
  // L2 before its PDL wait, while GEMV1's last blocks finish
  // (GemmParams::pre_wait_l2_bytes). H200, same call, twice, graph µs, qwen3
  // 16 tokens, 0 / 24 / 48 / 96 KB: 226.3, 226.9 / 224.5, 224.7 / 228.1,
  // 228.2 / 240.0, 241.1 (bench/results/h200-2026-12-03b/early_ab.txt).
  // The same before GEMM2 on the mma.sync kernel (48 / 96 KB a block)
  // measured neutral to slower at 64-256 tokens and is not kept.
  // MOERT_CUDA_GEMV2_EARLY_KB (KB a block, 0: off) for experiments.
  static const int64_t gemv2_early_kb = env_int("MOERT_CUDA_GEMV2_EARLY_KB", 24, 0, 1 << 20);
  g2.pre_wait_l2_bytes = decode ? static_cast<int32_t>(gemv2_early_kb * 1024) : 0;
  g2.b_expert_bytes = H * rb2;
  g2.w_scale = s2_.as<float>();
  g2.w_scale_kb = scale_kb2_;
  g2.mx_scale = mx2_.as<uint8_t>();
  g2.bias = d_.has_bias ? b2_.as<float>() : nullptr;
  g2.n = static_cast<int32_t>(H);
  g2.k = static_cast<int32_t>(I);
  g2.c = at(L.y);
  g2.ldc = H;
  g2.c_index = sb.sorted_slot;
  g2.epi = Epilogue::kStore;
  g2.item_counter = sb.tile_count + 2;
  // One token: GEMM1's blocks route the token themselves (decode_route.cuh)
  // in place of the route-and-sort kernel. Option cuda.fused_decode: off.
  const bool bulk_gemv = gemv_.kernel == GemvKernel::kAuto || gemv_.kernel == GemvKernel::kBulk;
  const bool fuse = tokens == 1 && decode && fused_decode_ && d_.routing_method != MOERT_ROUTING_CUSTOM && !aq &&
                    wf_ != WeightFormat::kFp8 && bulk_gemv;
  DecodeFusion fd{};
  fd.route = rp;
  fd.sort = sb;
  fd.num_local_experts = static_cast<int32_t>(E);
  fd.trace = trace_->device();
  // GEMV1 and GEMV2 in one cooperative kernel (grouped_gemv_bulk.cuh). auto:
  // when GEMV2's weight rows are >= 4 KB. H200, graph replay, one token, same
  // call, two kernels -> one: mixtral (28 KB rows) 196.6 -> 178.9 us, gpt-oss
  // bf16 (5.6 KB) 75.4 -> 69.9; qwen3 (1.5 KB) 38.7 -> 43.3 and gpt-oss MXFP4
  // (1.4 KB) 55.1 -> 56.7 (and qwen3 45.4 with GEMV2 filling GEMV1's ring).
  // And for MXFP4 weights: since the fused kernel routes from registers and
  // streams with evict-first hints, gpt-oss MXFP4 two kernels -> one, same
  // calls: 40.5 / 40.4 -> 35.0 / 35.3 us, and 37.6 / 38.1 -> 34.8 (H200,
  // 2026-12-02 ~05:45 UTC).
  const bool fused12_wanted =
      fused_gemv_ == FusedGemv::kOn ||
      (fused_gemv_ == FusedGemv::kAuto && (weight_row_bytes(I) >= 4096 || wf_ == WeightFormat::kMxfp4));
  // Its GEMV2 bytes per warp run (0: the call cannot take the kernel), the L2 prefetch period below.
  const int64_t fused12_run = fuse && fused12_wanted ? gemv_bulk_fused_run_bytes<T>(g1, g2, wf_, fd) : 0;
  const bool fused12 = fused12_run > 0;
  // One token: while GEMM1 streams its weights, its blocks bring the same
  // experts' GEMM2 weights into L2 (up to 40% of L2 over the top-k experts;
  // MOERT_CUDA_L2_PREFETCH_PCT changes the share, for experiments), so GEMM2
  // reads them from L2 and the layer is closer to one DRAM stream. Only when
  // that covers at least 3/4 of GEMM2's weights (H200, graph replay: qwen3
  // at 80% 43.0 -> 40.4 us, gpt-oss MXFP4 at 100% 62.6 -> 60.9 us; gpt-oss
  // bf16 at 30% 75.1 -> 76.5 us, mixtral at 2% unchanged). Option
  // cuda.l2_prefetch: off.
  // Pairs per warp of the one-token bulk GEMV2 with the combine (no shared
  // expert; with one, GEMV2 runs as run_grouped plans it): option
  // cuda.gemv_pairs_per_warp when set, else 4 for MXFP4 weights and the
  // one-wave plan (0) otherwise. Why 4: the one-wave plan gives gpt-oss
  // MXFP4's GEMV2 warps 2 pairs each, against ~760 instructions of per-warp
  // set-up (first copies, staging); H200, graph µs, same call, twice:
  // 38.1 / 38.1 -> 37.0 / 36.9 (3: 37.0 / 37.2), 2026-12-02 ~02:20 UTC.
  // Tuning knob MOERT_CUDA_GEMV2_PPW (experiments, read once) overrides both.
  static const int gemv2_ppw_env = static_cast<int>(env_int("MOERT_CUDA_GEMV2_PPW", 0, 0, 64));
  constexpr int kMxfp4Gemv2Ppw = 4;
  const int gemv2_ppw = gemv2_ppw_env          ? gemv2_ppw_env
                        : gemv_.pairs_per_warp ? gemv_.pairs_per_warp
                        : wf_ == WeightFormat::kMxfp4 && !sh ? kMxfp4Gemv2Ppw
                                                             : 0;
  if (tokens == 1 && decode && l2_prefetch_) {
    static const int64_t pct = env_int("MOERT_CUDA_L2_PREFETCH_PCT", 40, 0, 100);
    // The same share of every GEMM2 warp's run of rows, so no warp is left
    // with only DRAM reads (a prefix of each expert would leave the warps of
    // its other rows as slow as before).
    const int64_t per_expert = static_cast<int64_t>(H * rb2);
    const int64_t budget = std::min(per_expert, device_l2_bytes() * pct / 100 / K);
    int64_t period = fused12     ? fused12_run
                     : bulk_gemv ? gemv_bulk_run_bytes<T>(g2, wf_, max_groups, gemv2_ppw)
                                 : 0;
    if (period <= 0 || period > per_expert) period = per_expert;  // another kernel: a prefix of each expert
    g1.prefetch = w2_.get();
    g1.prefetch_expert_bytes = per_expert;
    g1.prefetch_period = period;
    g1.prefetch_bytes = static_cast<int64_t>(static_cast<double>(period) * budget / per_expert) & ~int64_t{15};
    if (g1.prefetch_bytes <= 0 || 4 * budget < 3 * per_expert) g1.prefetch = nullptr;
  }
  // One token in two GEMV kernels, no shared expert: GEMV2 also does the
  // combine (grouped_gemv_bulk.cuh, CombineTail), one launch fewer; the
  // routed GEMV1 zeroes its tickets. MOERT_CUDA_GEMV2_COMBINE=0 turns it off.
  static const bool gemv2_combine = env_flag_on("MOERT_CUDA_GEMV2_COMBINE");
  // Arms the per-column combine tickets for `cols` block columns (0: the
  // kernel cannot take the call); the output row must allow 16-byte stores.
  auto arm_combine_tickets = [&](int64_t cols) {
    const int64_t out_bytes = H * static_cast<int64_t>(sizeof(T));
    if (cols <= 0 || cols > H / 8 + 1 || out_bytes % 16 != 0 || reinterpret_cast<uintptr_t>(data_ptr(a.output)) % 16 != 0)
      return false;
    fd.tickets = reinterpret_cast<unsigned int*>(at(L.combine_tickets));
    fd.ntickets = static_cast<int32_t>(cols);
    fd.out = data_ptr(a.output);
    fd.out_bytes = static_cast<int32_t>(out_bytes);
    return true;
  };
  CombineTail ct{};
  if (fuse && !fused12 && !sh && gemv2_combine &&
      arm_combine_tickets(gemv_bulk_combine_tickets<T>(g2, wf_, max_groups, gemv2_ppw))) {
    ct.tickets = fd.tickets;
    ct.weights = rp.topk_weights;
    ct.local_ids = rp.local_ids;
    ct.top_k = static_cast<int>(K);
    ct.out = fd.out;
  }
  // The fused GEMVs, no shared expert: the fused kernel also does the
  // combine (the same per-column tickets, after its grid barrier), so the
  // one-token layer is one kernel. MOERT_CUDA_FUSED_COMBINE=0 turns it off.
  static const bool fused_combine = env_flag_on("MOERT_CUDA_FUSED_COMBINE");
  if (fused12 && !sh && fused_combine) arm_combine_tickets(gemv_bulk_fused_combine_tickets<T>(g1, g2, wf_, fd));
  // The fused GEMVs when chosen above (false: the launch could not take the
  // call after all), else GEMV1 routed or after route-and-sort, then GEMV2.
  const bool both_fused =
      fused12 && launch_gemv_bulk_fused<T>(g1, g2, wf_, fd, st);
  const bool fused_combined = both_fused && fd.tickets;
  const bool routed = !both_fused && fuse && launch_gemv_bulk_routed<T>(g1, wf_, fd, gemv_.pairs_per_warp, st);
  if (!both_fused && !routed) {
    if (d_.routing_method == MOERT_ROUTING_CUSTOM) {
      int64_t shp[2] = {tokens, K};
      moert_tensor tw{at(L.topk_weights), {MOERT_DEVICE_CUDA, device_}, 2, kF32, shp, nullptr, 0};
      moert_tensor ti{at(L.raw_ids), {MOERT_DEVICE_CUDA, device_}, 2, kI32, shp, nullptr, 0};
      moert_error* err = d_.custom_routing(d_.custom_routing_context, &a.router_logits, K, &tw, &ti, a.stream);
      if (err) {
        // Opaque and owned by the function's author (moert_plugin.h): not read, not freed.
        fail(MOERT_STATUS_INVALID_ARGUMENT, "custom routing function failed");
      }
      launch_map_ids(reinterpret_cast<const int32_t*>(at(L.raw_ids)), rp, st);
      launch_sort_align(rp.local_ids, S, static_cast<int>(E), tile_rows, sb, sort_counts, st);
    } else if (route_and_sort_fits(rp, static_cast<int>(E))) {
      launch_route_and_sort(rp, static_cast<int>(E), tile_rows, sb, st);  // small batches: one kernel
    } else {
      launch_routing(rp, st);
      launch_sort_align(rp.local_ids, S, static_cast<int>(E), tile_rows, sb, sort_counts, st);
    }
    if (aq)
      launch_quantize_rows_fp8<T>(x, reinterpret_cast<T*>(at(L.xq)), reinterpret_cast<float*>(at(L.xs)), tokens, H,
                                  nullptr, st);
    run_grouped(g1, wf_);
  }
  // GEMV2 and the combine in one kernel only after the routed GEMV1 (it zeroed the tickets).
  const bool combined = fused_combined || (!both_fused && routed && ct.tickets &&
                                            launch_gemv_bulk_combine<T>(g2, wf_, max_groups, ct, gemv2_ppw, st));
  // The pre-wait prefetch reads the group arrays: final before GEMV1 starts,
  // unless GEMV1 routed the token itself and wrote them.
  if (routed) g2.pre_wait_l2_bytes = 0;
  if (!both_fused && !combined) run_grouped(g2, wf_);

  CombineParams cp{};
  cp.y = at(L.y);
  cp.weights = rp.topk_weights;
  cp.local_ids = rp.local_ids;
  cp.top_k = K;
  cp.hidden = H;
  cp.x = x;
  cp.out = data_ptr(a.output);
  if (!sh) {
    cp.t0 = 0;
    cp.t1 = tokens;
    if (!combined) launch_combine<T>(cp, st);
    return;
  }

  // ---- shared expert, in token chunks that fit the workspace region
  const int64_t Is = sh->intermediate_size;
  const bool sgated = gated_act(sh->activation);
  const int64_t Rs = sgated ? 2 * Is : Is;
  const int64_t per_token = 2 * (Rs + Is + H);
  const int64_t chunk = std::min<int64_t>(tokens, static_cast<int64_t>(L.shared_bytes) / per_token);
  invalid_if(chunk < 1, "shared_expert.intermediate_size " + std::to_string(Is) + " too large for the workspace");
  T* sh_h = reinterpret_cast<T*>(at(L.shared));
  T* sh_a = sh_h + chunk * Rs;
  T* sh_o = sh_a + chunk * Is;
  cp.shared_gate = present(sh->gate) ? data_ptr(sh->gate) : nullptr;
  for (int64_t t0 = 0; t0 < tokens; t0 += chunk) {
    const int64_t tc = std::min(chunk, tokens - t0);
    GemmParams s1{};
    s1.wg_epilogue = wgmma_epilogue_;
    s1.a = x + t0 * H;
    s1.lda = H;
    s1.a_index_div = 1;
    s1.b = data_ptr(sh->w13);
    s1.b_expert_bytes = 0;
    s1.n = static_cast<int32_t>(Rs);
    s1.k = static_cast<int32_t>(H);
    s1.m = static_cast<int32_t>(tc);
    s1.c = sh_h;
    s1.ldc = Rs;
    s1.epi = Epilogue::kStore;
    GemmParams s2 = s1;
    s2.a = sh_a;
    s2.lda = Is;
    s2.b = data_ptr(sh->w2);
    s2.n = static_cast<int32_t>(H);
    s2.k = static_cast<int32_t>(Is);
    s2.c = sh_o;
    s2.ldc = H;
    const bool small = tc <= 8;
    const int srows = tc >= 512 ? 128 : 64;
    if (small) launch_grouped_gemv<T>(s1, WeightFormat::kDense, 1, tc, gemv_, st);
    else launch_grouped_mma<T>(s1, WeightFormat::kDense, srows, mma_bk_, ceil_div(tc, srows), st);
    launch_activation<T>(sh_h, sh_a, tc, Is, sh->activation, 0.f, 0.f, st);
    if (small) launch_grouped_gemv<T>(s2, WeightFormat::kDense, 1, tc, gemv_, st);
    else launch_grouped_mma<T>(s2, WeightFormat::kDense, srows, mma_bk_, ceil_div(tc, srows), st);
    cp.t0 = t0;
    cp.t1 = t0 + tc;
    cp.shared_out = sh_o;
    launch_combine<T>(cp, st);
  }
}

}  // namespace moert_cuda
