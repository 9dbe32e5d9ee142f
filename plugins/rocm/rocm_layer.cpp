#include "rocm_layer.h"

#include <cstring>

#include "aiter_layout.h"

namespace moert_rocm {

const char* weight_layout_name(WeightLayout l) {
  switch (l) {
    case WeightLayout::kCheckpoint: return "checkpoint";
    case WeightLayout::kAiterShuffled: return "aiter_shuffled";
    default: return "aiter_a16w4";
  }
}

namespace {
std::string num(int64_t v) { return std::to_string(v); }
}  // namespace

std::string check_layer(const moert_layer_desc* L, LayerConfig* out) {
  if (!L) return "layer is NULL";
  if (!MOERT_HAS_FIELD(L, moert_layer_desc, num_options))
    return "layer struct_size " + num(L->struct_size) + " is older than ABI 1.0's moert_layer_desc";
  LayerConfig c;
  if (L->quant_scheme != MOERT_QUANT_MXFP4)
    return "rocm runs MXFP4 weights only (quant_scheme mxfp4); got quant_scheme " + num(L->quant_scheme);
  if (!(L->weight_dtype.code == MOERT_DTYPE_FLOAT4_E2M1FN && L->weight_dtype.bits == 4))
    return "rocm needs weight_dtype fp4_e2m1 for mxfp4";
  if (!(L->activation_dtype.code == MOERT_DTYPE_BFLOAT && L->activation_dtype.bits == 16))
    return "rocm takes bf16 activations only (aiter a16w4 / a8w4); got dtype code " +
           num(L->activation_dtype.code) + " bits " + num(L->activation_dtype.bits);
  if (L->activation != MOERT_ACT_SILU_AND_MUL && L->activation != MOERT_ACT_SWIGLUOAI)
    return "rocm implements silu_and_mul and swigluoai; got activation " + num(L->activation);
  if (L->activation_quant != MOERT_ACT_QUANT_NONE && L->activation_quant != MOERT_ACT_QUANT_FP8_PER_TOKEN)
    return "unknown activation_quant " + num(L->activation_quant);
  if (L->routing_method != MOERT_ROUTING_TOPK)
    return "rocm routes with plain top-k only (softmax or sigmoid); grouped_topk and custom routing are not "
           "implemented";
  if (L->scoring != MOERT_SCORING_SOFTMAX && L->scoring != MOERT_SCORING_SIGMOID)
    return "unknown scoring " + num(L->scoring);
  if (L->num_experts <= 0 || L->num_experts > 1024)
    return "num_experts must be in [1, 1024] for the routing kernel; got " + num(L->num_experts);
  if (L->top_k <= 0 || L->top_k > 32 || L->top_k > L->num_experts)
    return "top_k must be in [1, min(32, num_experts)]; got " + num(L->top_k);
  if (L->hidden_size <= 0 || L->hidden_size % 64 != 0)
    return "hidden_size must be a positive multiple of 64 (shuffle_weight needs K/2 % 32 == 0); got " +
           num(L->hidden_size);
  if (L->intermediate_size <= 0 || L->intermediate_size % 64 != 0)
    return "intermediate_size must be a positive multiple of 64; got " + num(L->intermediate_size);
  if (L->max_num_tokens <= 0) return "max_num_tokens must be positive; got " + num(L->max_num_tokens);
  if (L->max_num_tokens * L->top_k > 2000000)  // GEMM tiles go on grid.y (65535 at most)
    return "max_num_tokens * top_k must stay below 2,000,000 (use a chunking runner); got " +
           num(L->max_num_tokens * L->top_k);
  if (MOERT_HAS_FIELD(L, moert_layer_desc, num_redundant_experts) && L->num_redundant_experts != 0)
    return "rocm does not implement EPLB redundant experts (num_redundant_experts " +
           num(L->num_redundant_experts) + ")";
  if (L->gate_up_layout != MOERT_GATE_UP_CONCAT && L->gate_up_layout != MOERT_GATE_UP_INTERLEAVED)
    return "unknown gate_up_layout " + num(L->gate_up_layout);
  if (L->activation == MOERT_ACT_SWIGLUOAI && !(L->swiglu_limit > 0.0f))
    return "swigluoai needs swiglu_limit > 0";

  for (int64_t i = 0; i < L->num_options; ++i) {
    const char* k = L->options[i].key;
    const char* v = L->options[i].value;
    if (!k || !v) return "option " + num(i) + " has a NULL key or value";
    if (std::strcmp(k, "weight_layout") == 0) {
      if (std::strcmp(v, "checkpoint") == 0) c.layout = WeightLayout::kCheckpoint;
      else if (std::strcmp(v, "aiter_shuffled") == 0) c.layout = WeightLayout::kAiterShuffled;
      else if (std::strcmp(v, "aiter_a16w4") == 0) c.layout = WeightLayout::kAiterA16W4;
      else
        return std::string("option weight_layout: expected checkpoint, aiter_shuffled or aiter_a16w4; got '") +
               v + "'";
    } else {
      // The host hands a runner its own backend's options only
      // (docs/config.md), so any other key is a typo that would change
      // nothing, silently.
      return std::string("unknown option '") + k + "' (the rocm runner accepts weight_layout)";
    }
  }

  c.num_experts = L->num_experts;
  c.top_k = L->top_k;
  c.num_local = L->num_local_experts > 0 ? L->num_local_experts : L->num_experts;
  c.H = L->hidden_size;
  c.I = L->intermediate_size;
  c.max_tokens = L->max_num_tokens;
  c.activation = L->activation;
  c.row_mode = c.layout == WeightLayout::kAiterA16W4 ? moert_hip::kRowsBlock16
               : L->gate_up_layout == MOERT_GATE_UP_INTERLEAVED ? moert_hip::kRowsInterleaved
                                                                : moert_hip::kRowsConcat;
  c.has_bias = L->has_bias ? 1 : 0;
  c.alpha = L->swiglu_alpha;
  c.limit = L->swiglu_limit;
  c.sigmoid = L->scoring == MOERT_SCORING_SIGMOID;
  c.renormalize = L->renormalize ? 1 : 0;
  c.scaling = L->routed_scaling_factor;
  c.fp8_tokens = L->activation_quant == MOERT_ACT_QUANT_FP8_PER_TOKEN;
  if (c.num_local > 4096) return "num_local_experts above 4096 is not supported by moe_align";
  if (L->expert_map) {
    c.expert_map.assign(L->expert_map, L->expert_map + L->num_experts);
    std::vector<uint8_t> mask;
    std::string why = moert_hip::expert_mask_from_map(c.expert_map, c.num_local, &mask);
    if (!why.empty()) return why;
  } else if (c.num_local != c.num_experts) {
    return "num_local_experts " + num(c.num_local) + " != num_experts " + num(c.num_experts) +
           " needs an expert_map";
  }
  if (out) *out = c;
  return "";
}

}  // namespace moert_rocm
