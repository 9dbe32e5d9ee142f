// LayerSpec defaults, the C view, and enum <-> name tables.
#include "moert/layer_spec.h"

#include <cstring>

#include "moert/error.h"
#include "moert/host_tensor.h"

namespace moert {

LayerSpec::LayerSpec() {
  std::memset(&desc, 0, sizeof desc);
  desc.struct_size = sizeof(moert_layer_desc);
  desc.num_experts = 8;
  desc.top_k = 2;
  desc.hidden_size = 64;
  desc.intermediate_size = 128;
  desc.activation = MOERT_ACT_SILU_AND_MUL;
  desc.gate_up_layout = MOERT_GATE_UP_CONCAT;
  desc.swiglu_alpha = 1.702f;
  desc.swiglu_limit = 7.0f;
  desc.routing_method = MOERT_ROUTING_TOPK;
  desc.scoring = MOERT_SCORING_SOFTMAX;
  desc.renormalize = 0;
  desc.num_expert_group = 1;
  desc.topk_group = 1;
  desc.routed_scaling_factor = 1.0f;
  desc.activation_dtype = kBF16;
  desc.weight_dtype = kBF16;
  desc.quant_scheme = MOERT_QUANT_NONE;
  desc.activation_quant = MOERT_ACT_QUANT_NONE;
  desc.max_num_tokens = 256;
  desc.ep_rank = 0;
  desc.ep_size = 1;
  desc.num_local_experts = desc.num_experts;
  std::memset(&c_, 0, sizeof c_);
}

LayerSpec::LayerSpec(const LayerSpec& o)
    : name(o.name), desc(o.desc), expert_map(o.expert_map), options(o.options),
      placement(o.placement) {
  std::memset(&c_, 0, sizeof c_);
}

LayerSpec& LayerSpec::operator=(const LayerSpec& o) {
  if (this != &o) {
    name = o.name;
    desc = o.desc;
    expert_map = o.expert_map;
    options = o.options;
    placement = o.placement;
  }
  return *this;
}

const moert_layer_desc* LayerSpec::c_desc() const {
  c_ = desc;
  c_.struct_size = sizeof(moert_layer_desc);
  c_.expert_map = expert_map.empty() ? nullptr : expert_map.data();
  kv_.clear();
  for (const auto& kv : options) kv_.push_back(moert_kv{kv.first.c_str(), kv.second.c_str()});
  c_.options = kv_.empty() ? nullptr : kv_.data();
  c_.num_options = static_cast<int64_t>(kv_.size());
  return &c_;
}

bool LayerSpec::gated() const {
  switch (desc.activation) {
    case MOERT_ACT_SILU:
    case MOERT_ACT_GELU:
    case MOERT_ACT_RELU2:
      return false;
    default:
      return true;
  }
}

int64_t LayerSpec::w13_rows() const {
  return gated() ? 2 * desc.intermediate_size : desc.intermediate_size;
}

namespace {

struct EnumName {
  int32_t value;
  const char* name;
};

template <size_t N>
const char* name_of(const EnumName (&table)[N], int32_t v) {
  for (const auto& e : table)
    if (e.value == v) return e.name;
  return "unknown";
}

template <size_t N>
int32_t value_of(const EnumName (&table)[N], const std::string& s, const char* what) {
  for (const auto& e : table)
    if (s == e.name) return e.value;
  std::string all;
  for (const auto& e : table) all += std::string(all.empty() ? "" : ", ") + e.name;
  throw Error("unknown " + std::string(what) + " '" + s + "' (expected one of: " + all + ")");
}

constexpr EnumName kActivations[] = {
    {MOERT_ACT_SILU_AND_MUL, "silu_and_mul"},
    {MOERT_ACT_GELU_AND_MUL, "gelu_and_mul"},
    {MOERT_ACT_GELU_TANH_AND_MUL, "gelu_tanh_and_mul"},
    {MOERT_ACT_SWIGLUOAI, "swigluoai"},
    {MOERT_ACT_SILU, "silu"},
    {MOERT_ACT_GELU, "gelu"},
    {MOERT_ACT_RELU2, "relu2"},
};
constexpr EnumName kQuantSchemes[] = {
    {MOERT_QUANT_NONE, "none"},
    {MOERT_QUANT_FP8_PER_TENSOR, "fp8_per_tensor"},
    {MOERT_QUANT_FP8_PER_CHANNEL, "fp8_per_channel"},
    {MOERT_QUANT_FP8_BLOCK_128, "fp8_block128"},
    {MOERT_QUANT_MXFP4, "mxfp4"},
};
constexpr EnumName kScorings[] = {
    {MOERT_SCORING_SOFTMAX, "softmax"},
    {MOERT_SCORING_SIGMOID, "sigmoid"},
};
constexpr EnumName kRoutingMethods[] = {
    {MOERT_ROUTING_TOPK, "topk"},
    {MOERT_ROUTING_GROUPED_TOPK, "grouped_topk"},
    {MOERT_ROUTING_CUSTOM, "custom"},
};

}  // namespace

const char* activation_name(int32_t a) { return name_of(kActivations, a); }
int32_t activation_from_name(const std::string& s) { return value_of(kActivations, s, "activation"); }
const char* quant_scheme_name(int32_t q) { return name_of(kQuantSchemes, q); }
int32_t quant_scheme_from_name(const std::string& s) { return value_of(kQuantSchemes, s, "quant scheme"); }
const char* scoring_name(int32_t s) { return name_of(kScorings, s); }
int32_t scoring_from_name(const std::string& s) { return value_of(kScorings, s, "scoring function"); }
const char* routing_method_name(int32_t r) { return name_of(kRoutingMethods, r); }
int32_t routing_method_from_name(const std::string& s) { return value_of(kRoutingMethods, s, "routing method"); }

}  // namespace moert
