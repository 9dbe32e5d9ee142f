#include "cpu_layer.h"

#include <cstdlib>
#include <cstring>

#include "activation.h"
#include "isa_kernels.h"

namespace moert_cpu {

static const moert_dtype kF32{MOERT_DTYPE_FLOAT, 32, 1};
static const moert_dtype kBF16{MOERT_DTYPE_BFLOAT, 16, 1};
static const moert_dtype kFP8{MOERT_DTYPE_FLOAT8_E4M3FN, 8, 1};
static const moert_dtype kFP4{MOERT_DTYPE_FLOAT4_E2M1FN, 4, 1};

static bool same(moert_dtype a, moert_dtype b) { return a.code == b.code && a.bits == b.bits && a.lanes == b.lanes; }

std::string dtype_str(moert_dtype d) {
  if (same(d, kF32)) return "f32";
  if (same(d, kBF16)) return "bf16";
  if (same(d, moert_dtype{MOERT_DTYPE_FLOAT, 16, 1})) return "f16";
  if (same(d, moert_dtype{MOERT_DTYPE_FLOAT, 64, 1})) return "f64";
  if (same(d, moert_dtype{MOERT_DTYPE_INT, 32, 1})) return "i32";
  if (same(d, moert_dtype{MOERT_DTYPE_INT, 64, 1})) return "i64";
  if (same(d, moert_dtype{MOERT_DTYPE_UINT, 8, 1})) return "u8";
  if (same(d, kFP8)) return "fp8_e4m3";
  if (same(d, moert_dtype{MOERT_DTYPE_FLOAT8_E8M0FNU, 8, 1})) return "e8m0";
  if (same(d, kFP4)) return "fp4_e2m1";
  return "dtype(code=" + std::to_string(d.code) + ",bits=" + std::to_string(d.bits) + ")";
}

std::string shape_str(const moert_tensor& t) {
  std::string s = "[";
  for (int32_t i = 0; i < t.ndim; ++i) s += (i ? ", " : "") + std::to_string(t.shape[i]);
  return s + "]";
}

void expect_tensor(const moert_tensor& t, const char* what, moert_dtype dtype,
                   const std::vector<int64_t>& shape) {
  auto fail = [&](const std::string& m) { throw StatusError(MOERT_STATUS_INVALID_ARGUMENT, std::string(what) + ": " + m); };
  int64_t n = 1;
  for (int64_t v : shape) n *= v;
  if (t.data == nullptr && n > 0) fail("missing (data is NULL)");  // empty tensors may have no data
  if (t.device.device_type != MOERT_DEVICE_CPU) fail("expected a CPU tensor, got device_type " + std::to_string(t.device.device_type));
  if (!same(t.dtype, dtype)) fail("expected dtype " + dtype_str(dtype) + ", got " + dtype_str(t.dtype));
  bool ok = t.ndim == static_cast<int32_t>(shape.size()) && (t.ndim == 0 || t.shape != nullptr);
  for (int32_t i = 0; ok && i < t.ndim; ++i) ok = t.shape[i] == shape[i];
  if (!ok) {
    std::string want = "[";
    for (size_t i = 0; i < shape.size(); ++i) want += (i ? ", " : "") + std::to_string(shape[i]);
    fail("expected shape " + want + "], got " + (t.shape || t.ndim == 0 ? shape_str(t) : std::string("NULL shape")));
  }
  if (t.strides != nullptr) {  // only compact row-major tensors
    int64_t st = 1;
    for (int32_t i = t.ndim - 1; i >= 0; --i) {
      if (t.shape[i] > 1 && t.strides[i] != st) fail("expected a compact row-major tensor");
      st *= t.shape[i];
    }
  }
}

static void unimpl(const std::string& m) { throw StatusError(MOERT_STATUS_UNIMPLEMENTED, "cpu: " + m); }
static void invalid(const std::string& m) { throw StatusError(MOERT_STATUS_INVALID_ARGUMENT, "cpu: " + m); }

static int64_t parse_positive(const char* key, const char* value) {
  char* end = nullptr;
  long long v = std::strtoll(value, &end, 10);
  if (end == value || *end != '\0' || v <= 0)
    invalid(std::string("option ") + key + ": expected a positive integer, got '" + value + "'");
  return v;
}

CpuLayer parse_layer(const moert_layer_desc* d) {
  if (d == nullptr) invalid("layer is NULL");
  if (d->struct_size < offsetof(moert_layer_desc, custom_routing))
    invalid("layer struct_size " + std::to_string(d->struct_size) + " is below the ABI 1.0 size " +
            std::to_string(offsetof(moert_layer_desc, custom_routing)));
  CpuLayer L;
  std::memcpy(&L.desc, d, d->struct_size < sizeof(moert_layer_desc) ? d->struct_size : sizeof(moert_layer_desc));
  L.desc.struct_size = sizeof(moert_layer_desc);
  moert_layer_desc& D = L.desc;
  const bool v11 = MOERT_HAS_FIELD(d, moert_layer_desc, num_redundant_experts);
  if (!v11) { D.custom_routing = nullptr; D.custom_routing_context = nullptr; D.num_redundant_experts = 0; }

  if (D.num_experts <= 0) invalid("num_experts must be > 0, got " + std::to_string(D.num_experts));
  if (D.top_k <= 0 || D.top_k > D.num_experts)
    invalid("top_k must be in [1, num_experts=" + std::to_string(D.num_experts) + "], got " + std::to_string(D.top_k));
  if (D.hidden_size <= 0 || D.intermediate_size <= 0) invalid("hidden_size and intermediate_size must be > 0");
  if (D.max_num_tokens <= 0) invalid("max_num_tokens must be > 0, got " + std::to_string(D.max_num_tokens));
  if (D.ep_size < 1 || D.ep_rank < 0 || D.ep_rank >= D.ep_size)
    invalid("ep_rank must be in [0, ep_size) with ep_size >= 1, got ep_rank=" + std::to_string(D.ep_rank) +
            " ep_size=" + std::to_string(D.ep_size));
  if (D.activation < MOERT_ACT_SILU_AND_MUL || D.activation > MOERT_ACT_RELU2)
    invalid("unknown activation " + std::to_string(D.activation));
  if (D.gate_up_layout != MOERT_GATE_UP_CONCAT && D.gate_up_layout != MOERT_GATE_UP_INTERLEAVED)
    invalid("unknown gate_up_layout " + std::to_string(D.gate_up_layout));
  const bool gated = activation_is_gated(D.activation);
  L.rows13 = gated ? 2 * D.intermediate_size : D.intermediate_size;

  if (same(D.activation_dtype, kF32)) L.bf16 = false;
  else if (same(D.activation_dtype, kBF16)) L.bf16 = true;
  else unimpl("activation dtype " + dtype_str(D.activation_dtype) + " is not supported (supported: f32, bf16)");

  switch (D.quant_scheme) {
    case MOERT_QUANT_NONE:
      if (!same(D.weight_dtype, kF32) && !same(D.weight_dtype, kBF16))
        unimpl("unquantized weight dtype " + dtype_str(D.weight_dtype) + " is not supported (supported: f32, bf16)");
      // Weights in another dtype than the activations take the streaming /
      // tiled path (converted block by block like quantized weights).
      L.direct_weights = !same(D.weight_dtype, D.activation_dtype);
      break;
    case MOERT_QUANT_FP8_PER_TENSOR:
    case MOERT_QUANT_FP8_PER_CHANNEL:
    case MOERT_QUANT_FP8_BLOCK_128:
      if (!same(D.weight_dtype, kFP8))
        invalid("fp8 quant schemes need weight dtype fp8_e4m3, got " + dtype_str(D.weight_dtype));
      L.direct_weights = true;
      break;
    case MOERT_QUANT_MXFP4:
      if (!same(D.weight_dtype, kFP4)) invalid("mxfp4 needs weight dtype fp4_e2m1, got " + dtype_str(D.weight_dtype));
      if (D.hidden_size % 32 || D.intermediate_size % 32)
        invalid("mxfp4 needs hidden_size and intermediate_size divisible by 32, got " +
                std::to_string(D.hidden_size) + " and " + std::to_string(D.intermediate_size));
      L.direct_weights = true;
      break;
    default: unimpl("quant scheme " + std::to_string(D.quant_scheme) + " is not supported");
  }
  if (D.activation_quant != MOERT_ACT_QUANT_NONE)
    unimpl("activation_quant fp8_per_token is not supported (activations stay in f32/bf16)");

  if (D.scoring != MOERT_SCORING_SOFTMAX && D.scoring != MOERT_SCORING_SIGMOID)
    invalid("unknown scoring " + std::to_string(D.scoring));
  if (D.routing_method == MOERT_ROUTING_GROUPED_TOPK) {
    if (D.num_expert_group <= 0 || D.num_experts % D.num_expert_group)
      invalid("grouped_topk: num_expert_group must divide num_experts=" + std::to_string(D.num_experts) +
              ", got " + std::to_string(D.num_expert_group));
    if (D.topk_group <= 0 || D.topk_group > D.num_expert_group)
      invalid("grouped_topk: topk_group must be in [1, num_expert_group], got " + std::to_string(D.topk_group));
    if (D.top_k > D.topk_group * (D.num_experts / D.num_expert_group))
      invalid("grouped_topk: top_k exceeds the experts of topk_group groups");
  } else if (D.routing_method == MOERT_ROUTING_CUSTOM) {
    if (!v11 || D.custom_routing == nullptr) invalid("routing_method custom needs layer.custom_routing");
  } else if (D.routing_method != MOERT_ROUTING_TOPK) {
    invalid("unknown routing_method " + std::to_string(D.routing_method));
  }

  if (D.num_redundant_experts < 0) invalid("num_redundant_experts must be >= 0");
  L.num_physical = D.num_experts + D.num_redundant_experts;
  if (D.num_local_experts <= 0 || D.num_local_experts > L.num_physical)
    invalid("num_local_experts must be in [1, " + std::to_string(L.num_physical) + "], got " +
            std::to_string(D.num_local_experts));
  if (d->expert_map) {
    L.expert_map.assign(d->expert_map, d->expert_map + L.num_physical);
    for (int32_t i = 0; i < L.num_physical; ++i)
      if (L.expert_map[i] < -1 || L.expert_map[i] >= D.num_local_experts)
        invalid("expert_map[" + std::to_string(i) + "] = " + std::to_string(L.expert_map[i]) +
                " is outside [-1, num_local_experts=" + std::to_string(D.num_local_experts) + ")");
  } else if (D.num_local_experts != L.num_physical) {
    invalid("without an expert_map every expert is local: num_local_experts must be " + std::to_string(L.num_physical));
  }
  D.expert_map = nullptr;

  L.shared_intermediate_max = 4 * D.intermediate_size;
  for (int64_t i = 0; i < D.num_options; ++i) {
    const moert_kv& kv = d->options[i];
    std::string key = kv.key ? kv.key : "";
    const char* value = kv.value ? kv.value : "";
    if (key == "num_threads") L.num_threads = static_cast<int32_t>(parse_positive("num_threads", value));
    else if (key == "small_batch") L.small_batch = parse_positive("small_batch", value);
    else if (key == "gemv_rows") L.gemv_rows = parse_positive("gemv_rows", value);
    else if (key == "bf16_rows") L.bf16_rows = std::string(value) == "0" ? 0 : parse_positive("bf16_rows", value);  // 0: off
    else if (key == "shared_intermediate_size") L.shared_intermediate_max = parse_positive("shared_intermediate_size", value);
    else if (key == "bf16_gemm") {
      L.bf16_gemm = value;
      if (L.bf16_gemm != "auto" && L.bf16_gemm != "onednn" && L.bf16_gemm != "avx2")
        invalid("option bf16_gemm: expected 'auto', 'onednn' or 'avx2', got '" + L.bf16_gemm + "'");
      if (L.bf16_gemm == "onednn" && !cpu_has_avx512_core())
        unimpl("option bf16_gemm: onednn needs AVX-512 (F/BW/VL/DQ); oneDNN 2.6 has no bf16 matmul on "
               "this CPU (use auto or avx2)");
    } else if (key == "expert_schedule") {
      L.expert_schedule = value;
      if (L.expert_schedule != "auto" && L.expert_schedule != "experts" && L.expert_schedule != "columns" &&
          L.expert_schedule != "owners")
        invalid("option expert_schedule: expected 'auto', 'experts', 'columns' or 'owners', got '" +
                L.expert_schedule + "'");
    } else if (key == "isa") {
      L.isa = value;
      if (L.isa != "avx2" && L.isa != "auto") invalid("option isa: expected 'avx2' or 'auto', got '" + L.isa + "'");
    } else {
      invalid("unknown layer option '" + key + "' (the cpu runner accepts num_threads, isa, small_batch, gemv_rows, bf16_rows, bf16_gemm, expert_schedule, shared_intermediate_size)");
    }
  }
  L.bf16_gemm_onednn = L.bf16_gemm == "onednn" || (L.bf16_gemm == "auto" && cpu_has_avx512_bf16());
  if (L.expert_schedule == "owners" && (L.direct_weights || !L.bf16 || L.bf16_gemm_onednn))
    unimpl("option expert_schedule: owners needs the panel16 kernels (bf16 weights and activations on "
           "bf16_gemm avx2)");
  D.options = nullptr;
  D.num_options = 0;
  return L;
}

}  // namespace moert_cpu
