// layer_config_from_desc: copy + validation of a moert_layer_desc.
#include "moert/layer_config.h"

#include <cstddef>
#include <string>

#include "moert/error.h"
#include "moert/host_tensor.h"
#include "moert/layer_spec.h"

namespace moert {

bool activation_is_gated(int32_t a) {
  return a == MOERT_ACT_SILU_AND_MUL || a == MOERT_ACT_GELU_AND_MUL ||
         a == MOERT_ACT_GELU_TANH_AND_MUL || a == MOERT_ACT_SWIGLUOAI;
}

bool LayerConfig::gated() const { return activation_is_gated(activation); }

namespace {
[[noreturn]] void bad(const std::string& msg) { throw Error(MOERT_STATUS_INVALID_ARGUMENT, msg); }
std::string s(int64_t v) { return std::to_string(v); }
}  // namespace

LayerConfig layer_config_from_desc(const moert_layer_desc* d) {
  if (d == nullptr) bad("layer desc is NULL");
  if (d->struct_size < offsetof(moert_layer_desc, custom_routing))
    bad("layer desc struct_size " + s(static_cast<int64_t>(d->struct_size)) +
        " is smaller than the ABI 1.0 layout (" + s(offsetof(moert_layer_desc, custom_routing)) + ")");
  LayerConfig c;
  c.num_experts = d->num_experts;
  c.top_k = d->top_k;
  c.hidden_size = d->hidden_size;
  c.intermediate_size = d->intermediate_size;
  c.activation = d->activation;
  c.gate_up_layout = d->gate_up_layout;
  c.has_bias = d->has_bias != 0;
  c.swiglu_alpha = d->swiglu_alpha;
  c.swiglu_limit = d->swiglu_limit;
  c.routing_method = d->routing_method;
  c.scoring = d->scoring;
  c.renormalize = d->renormalize != 0;
  c.num_expert_group = d->num_expert_group;
  c.topk_group = d->topk_group;
  c.has_score_correction_bias = d->has_score_correction_bias != 0;
  c.routed_scaling_factor = d->routed_scaling_factor;
  c.activation_dtype = d->activation_dtype;
  c.weight_dtype = d->weight_dtype;
  c.quant_scheme = d->quant_scheme;
  c.activation_quant = d->activation_quant;
  c.max_num_tokens = d->max_num_tokens;
  c.ep_rank = d->ep_rank;
  c.ep_size = d->ep_size;
  c.num_local_experts = d->num_local_experts;
  if (MOERT_HAS_FIELD(d, moert_layer_desc, custom_routing)) c.custom_routing = d->custom_routing;
  if (MOERT_HAS_FIELD(d, moert_layer_desc, custom_routing_context))
    c.custom_routing_context = d->custom_routing_context;
  if (MOERT_HAS_FIELD(d, moert_layer_desc, num_redundant_experts))
    c.num_redundant_experts = d->num_redundant_experts;

  // ---- shape ----
  if (c.num_experts < 1) bad("num_experts=" + s(c.num_experts) + " must be >= 1");
  if (c.top_k < 1 || c.top_k > c.num_experts)
    bad("top_k=" + s(c.top_k) + " must lie in [1, num_experts=" + s(c.num_experts) + "]");
  if (c.hidden_size < 1) bad("hidden_size=" + s(c.hidden_size) + " must be >= 1");
  if (c.intermediate_size < 1) bad("intermediate_size=" + s(c.intermediate_size) + " must be >= 1");
  if (c.max_num_tokens < 1) bad("max_num_tokens=" + s(c.max_num_tokens) + " must be >= 1");

  // ---- activation ----
  if (c.activation < MOERT_ACT_SILU_AND_MUL || c.activation > MOERT_ACT_RELU2)
    bad("activation=" + s(c.activation) + " is not a moert_activation (0..6)");
  if (c.gate_up_layout != MOERT_GATE_UP_CONCAT && c.gate_up_layout != MOERT_GATE_UP_INTERLEAVED)
    bad("gate_up_layout=" + s(c.gate_up_layout) + " is not CONCAT(0) or INTERLEAVED(1)");
  if (c.activation == MOERT_ACT_SWIGLUOAI && !(c.swiglu_limit > 0.0f))
    bad("swigluoai needs swiglu_limit > 0, got " + std::to_string(c.swiglu_limit));

  // ---- routing ----
  if (c.scoring != MOERT_SCORING_SOFTMAX && c.scoring != MOERT_SCORING_SIGMOID)
    bad("scoring=" + s(c.scoring) + " is not softmax(0) or sigmoid(1)");
  if (!(c.routed_scaling_factor > 0.0f) || c.routed_scaling_factor != c.routed_scaling_factor)
    bad("routed_scaling_factor=" + std::to_string(c.routed_scaling_factor) + " must be > 0 (1.0 = none)");
  switch (c.routing_method) {
    case MOERT_ROUTING_TOPK:
      break;
    case MOERT_ROUTING_GROUPED_TOPK: {
      const int32_t g = c.num_expert_group;
      if (g < 1 || c.num_experts % g != 0)
        bad("grouped_topk: num_expert_group=" + s(g) + " must divide num_experts=" + s(c.num_experts));
      if (c.topk_group < 1 || c.topk_group > g)
        bad("grouped_topk: topk_group=" + s(c.topk_group) + " must lie in [1, num_expert_group=" + s(g) + "]");
      const int64_t selectable = static_cast<int64_t>(c.topk_group) * (c.num_experts / g);
      if (c.top_k > selectable)
        bad("grouped_topk: top_k=" + s(c.top_k) + " exceeds the experts in topk_group groups (" +
            s(selectable) + ")");
      break;
    }
    case MOERT_ROUTING_CUSTOM:
      if (!MOERT_HAS_FIELD(d, moert_layer_desc, custom_routing))
        bad("custom routing needs an ABI 1.1 layer desc (custom_routing field); struct_size=" +
            s(static_cast<int64_t>(d->struct_size)));
      if (c.custom_routing == nullptr) bad("routing_method=custom but custom_routing is NULL");
      break;
    default:
      bad("routing_method=" + s(c.routing_method) + " is not topk(0), grouped_topk(1) or custom(2)");
  }
  if (c.has_score_correction_bias && c.routing_method != MOERT_ROUTING_GROUPED_TOPK)
    bad("has_score_correction_bias is set but routing_method is " +
        std::string(routing_method_name(c.routing_method)) + " (the bias belongs to grouped_topk)");

  // ---- numerics ----
  if (!(c.activation_dtype == kF32 || c.activation_dtype == kBF16 || c.activation_dtype == kF16))
    bad("activation_dtype " + dtype_name(c.activation_dtype) + " is not one of f32, bf16, f16");
  switch (c.quant_scheme) {
    case MOERT_QUANT_NONE:
      if (!(c.weight_dtype == kF32 || c.weight_dtype == kBF16 || c.weight_dtype == kF16))
        bad("quant_scheme none needs weight_dtype f32, bf16 or f16, got " + dtype_name(c.weight_dtype));
      break;
    case MOERT_QUANT_FP8_PER_TENSOR:
    case MOERT_QUANT_FP8_PER_CHANNEL:
    case MOERT_QUANT_FP8_BLOCK_128:
      if (c.weight_dtype != kFP8E4M3)
        bad(std::string("quant_scheme ") + quant_scheme_name(c.quant_scheme) +
            " needs weight_dtype fp8_e4m3, got " + dtype_name(c.weight_dtype));
      break;
    case MOERT_QUANT_MXFP4:
      if (c.weight_dtype != kFP4E2M1)
        bad("quant_scheme mxfp4 needs weight_dtype fp4_e2m1, got " + dtype_name(c.weight_dtype));
      if (c.hidden_size % 32 != 0 || c.intermediate_size % 32 != 0)
        bad("mxfp4 needs hidden_size and intermediate_size divisible by 32, got H=" + s(c.hidden_size) +
            ", I=" + s(c.intermediate_size));
      break;
    default:
      bad("quant_scheme=" + s(c.quant_scheme) + " is not a moert_quant_scheme (0..4)");
  }
  if (c.activation_quant != MOERT_ACT_QUANT_NONE && c.activation_quant != MOERT_ACT_QUANT_FP8_PER_TOKEN)
    bad("activation_quant=" + s(c.activation_quant) + " is not none(0) or fp8_per_token(1)");

  // ---- parallelism and the expert map ----
  if (c.ep_size < 1) bad("ep_size=" + s(c.ep_size) + " must be >= 1");
  if (c.ep_rank < 0 || c.ep_rank >= c.ep_size)
    bad("ep_rank=" + s(c.ep_rank) + " must lie in [0, ep_size=" + s(c.ep_size) + ")");
  if (c.num_redundant_experts < 0)
    bad("num_redundant_experts=" + s(c.num_redundant_experts) + " must be >= 0");
  const int32_t phys = c.num_physical();
  if (d->expert_map == nullptr) {
    if (c.num_local_experts != phys)
      bad("expert_map is NULL (all experts local) but num_local_experts=" + s(c.num_local_experts) +
          " != physical experts " + s(phys));
  } else {
    if (c.num_local_experts < 0 || c.num_local_experts > phys)
      bad("num_local_experts=" + s(c.num_local_experts) + " must lie in [0, " + s(phys) + "]");
    c.expert_map.assign(d->expert_map, d->expert_map + phys);
    std::vector<char> seen(static_cast<size_t>(c.num_local_experts), 0);
    int32_t local = 0;
    for (int32_t p = 0; p < phys; ++p) {
      const int32_t v = c.expert_map[static_cast<size_t>(p)];
      if (v == -1) continue;
      if (v < 0 || v >= c.num_local_experts)
        bad("expert_map[" + s(p) + "]=" + s(v) + " must be -1 or a local index in [0, num_local_experts=" +
            s(c.num_local_experts) + ")");
      if (seen[static_cast<size_t>(v)]) bad("expert_map maps two experts to local index " + s(v));
      seen[static_cast<size_t>(v)] = 1;
      ++local;
    }
    if (local != c.num_local_experts)
      bad("expert_map has " + s(local) + " local entries but num_local_experts=" + s(c.num_local_experts));
  }
  return c;
}

}  // namespace moert
