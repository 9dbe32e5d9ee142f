// Parsing one `layer:` mapping into a ConfigLayer, and the checks that tie
// its fields together (docs/config.md, "Layer").
#include "config_parse.h"

#include <cmath>

#include "moert/expert_map.h"
#include "moert/host_tensor.h"

namespace moert {
namespace host {

namespace {

const std::vector<std::string> kLayerKeys = {
    "name", "experts", "top_k", "hidden", "intermediate", "activation", "gate_up_layout", "bias",
    "swiglu", "routing", "dtype", "weight_dtype", "quant", "activation_quant", "max_num_tokens",
    "expert_parallel", "eplb", "shared_expert", "runner", "backends"};
const std::vector<std::string> kRoutingKeys = {
    "method", "scoring", "renormalize", "num_expert_group", "topk_group", "routed_scaling_factor",
    "score_correction_bias"};
const std::vector<std::string> kActivations = {
    "silu_and_mul", "gelu_and_mul", "gelu_tanh_and_mul", "swigluoai", "silu", "gelu", "relu2"};
const std::vector<std::string> kQuantSchemes = {
    "none", "fp8_per_tensor", "fp8_per_channel", "fp8_block128", "mxfp4"};
const std::vector<std::string> kActivationDtypes = {"f32", "bf16", "f16"};
const std::vector<std::string> kWeightDtypes = {"f32", "bf16", "f16", "fp8_e4m3", "fp4_e2m1"};
constexpr int64_t kMaxI32 = 2147483647;

// The weight dtype a quant scheme implies when the YAML does not say.
std::string implied_weight_dtype(const std::string& quant, const std::string& act_dtype) {
  if (quant == "none") return act_dtype;
  if (quant == "mxfp4") return "fp4_e2m1";
  return "fp8_e4m3";
}

void parse_routing(const YamlReader& r, const YAML::Node& n, LayerSpec& spec) {
  r.check_keys(n, "routing", kRoutingKeys);
  moert_layer_desc& d = spec.desc;
  if (n["method"]) {
    std::string m = r.choice(n["method"], "'routing.method'", {"topk", "grouped_topk", "custom"});
    if (m == "custom")
      r.fail(n["method"], "'routing.method' custom needs a routing function from the program that "
                          "embeds moert; a YAML file cannot give one (use topk or grouped_topk)");
    d.routing_method = routing_method_from_name(m);
  }
  if (n["scoring"])
    d.scoring = scoring_from_name(r.choice(n["scoring"], "'routing.scoring'", {"softmax", "sigmoid"}));
  if (n["renormalize"]) d.renormalize = r.boolean(n["renormalize"], "'routing.renormalize'") ? 1 : 0;
  const bool grouped = d.routing_method == MOERT_ROUTING_GROUPED_TOPK;
  for (const char* key : {"num_expert_group", "topk_group", "score_correction_bias"}) {
    if (n[key] && !grouped)
      r.fail(n[key], std::string("'routing.") + key + "' only applies to method grouped_topk");
  }
  if (grouped) {
    d.num_expert_group = static_cast<int32_t>(r.integer(r.require(n, "num_expert_group", "routing"),
        "'routing.num_expert_group'", 1, kMaxI32, "a positive integer"));
    d.topk_group = static_cast<int32_t>(r.integer(r.require(n, "topk_group", "routing"),
        "'routing.topk_group'", 1, kMaxI32, "a positive integer"));
  }
  if (n["score_correction_bias"])
    d.has_score_correction_bias = r.boolean(n["score_correction_bias"], "'routing.score_correction_bias'") ? 1 : 0;
  if (n["routed_scaling_factor"]) {
    double f = r.number(n["routed_scaling_factor"], "'routing.routed_scaling_factor'");
    if (!(f > 0)) r.fail(n["routed_scaling_factor"], "'routing.routed_scaling_factor' must be > 0, got " + n["routed_scaling_factor"].Scalar());
    d.routed_scaling_factor = static_cast<float>(f);
  }
}

void parse_expert_parallel(const YamlReader& r, const YAML::Node& n, LayerSpec& spec) {
  r.check_keys(n, "expert_parallel", {"rank", "size", "placement"});
  moert_layer_desc& d = spec.desc;
  d.ep_size = static_cast<int32_t>(r.integer(r.require(n, "size", "expert_parallel"),
                                             "'expert_parallel.size'", 1, kMaxI32, "a positive integer"));
  d.ep_rank = static_cast<int32_t>(r.integer(r.require(n, "rank", "expert_parallel"),
                                             "'expert_parallel.rank'", 0, kMaxI32, "a non-negative integer"));
  if (d.ep_rank >= d.ep_size)
    r.fail(n["rank"], "'expert_parallel.rank' must be below size " + std::to_string(d.ep_size) +
                          ", got " + std::to_string(d.ep_rank));
  if (n["placement"]) spec.placement = r.choice(n["placement"], "'expert_parallel.placement'", {"linear", "round_robin"});
}

// Checks between fields, each reported at the field that is wrong.
void check_layer(const YamlReader& r, const YAML::Node& n, const ConfigLayer& lc) {
  const moert_layer_desc& d = lc.spec.desc;
  if (d.top_k > d.num_experts)
    r.fail(n["top_k"], "'top_k' (" + std::to_string(d.top_k) + ") must not exceed 'experts' (" +
                           std::to_string(d.num_experts) + ")");
  if (d.routing_method == MOERT_ROUTING_GROUPED_TOPK) {
    const YAML::Node routing = n["routing"];
    if (d.num_experts % d.num_expert_group != 0)
      r.fail(routing["num_expert_group"], "'routing.num_expert_group' (" + std::to_string(d.num_expert_group) +
                                             ") must divide 'experts' (" + std::to_string(d.num_experts) + ")");
    if (d.topk_group > d.num_expert_group)
      r.fail(routing["topk_group"], "'routing.topk_group' (" + std::to_string(d.topk_group) +
                                       ") must not exceed 'routing.num_expert_group' (" +
                                       std::to_string(d.num_expert_group) + ")");
    const int64_t selectable = int64_t(d.topk_group) * (d.num_experts / d.num_expert_group);
    if (d.top_k > selectable)
      r.fail(n["top_k"], "'top_k' (" + std::to_string(d.top_k) + ") exceeds the " + std::to_string(selectable) +
                             " experts that topk_group groups hold");
  }
  if (d.quant_scheme == MOERT_QUANT_MXFP4) {
    if (d.hidden_size % 32 != 0)
      r.fail(n["hidden"], "'hidden' must be a multiple of 32 for quant mxfp4 (one e8m0 scale per 32), got " + std::to_string(d.hidden_size));
    if (d.intermediate_size % 32 != 0)
      r.fail(n["intermediate"], "'intermediate' must be a multiple of 32 for quant mxfp4 (one e8m0 scale per 32), got " + std::to_string(d.intermediate_size));
  }
  if (d.activation != MOERT_ACT_SWIGLUOAI && n["swiglu"])
    r.fail(n["swiglu"], "'swiglu' only applies to activation swigluoai");
  if (lc.shared_expert.intermediate > 0 && d.activation == MOERT_ACT_SWIGLUOAI)
    r.fail(n["shared_expert"], "'shared_expert' is not allowed with activation swigluoai (the ABI's shared expert does not take it)");
  if (d.activation_quant == MOERT_ACT_QUANT_FP8_PER_TOKEN && d.quant_scheme == MOERT_QUANT_NONE)
    r.fail(n["activation_quant"], "'activation_quant' fp8_per_token needs fp8 weights (quant fp8_per_tensor, fp8_per_channel or fp8_block128)");
}

}  // namespace

ConfigLayer parse_layer(const YamlReader& r, const YAML::Node& n, const std::string& default_name,
                        const std::vector<std::string>& top_runner, const BackendOptions& top_backends) {
  r.check_keys(n, "layer", kLayerKeys);
  ConfigLayer lc;
  lc.where = r.where(n);
  LayerSpec& spec = lc.spec;
  moert_layer_desc& d = spec.desc;
  spec.name = n["name"] ? r.string(n["name"], "'name'") : default_name;
  if (spec.name.empty()) r.fail(n["name"], "'name' must not be empty");

  d.num_experts = static_cast<int32_t>(r.integer(r.require(n, "experts", "layer"), "'experts'", 1, kMaxI32, "a positive integer"));
  d.top_k = static_cast<int32_t>(r.integer(r.require(n, "top_k", "layer"), "'top_k'", 1, kMaxI32, "a positive integer"));
  d.hidden_size = r.integer(r.require(n, "hidden", "layer"), "'hidden'", 1, INT64_MAX / 4, "a positive integer");
  d.intermediate_size = r.integer(r.require(n, "intermediate", "layer"), "'intermediate'", 1, INT64_MAX / 4, "a positive integer");

  if (n["activation"]) d.activation = activation_from_name(r.choice(n["activation"], "'activation'", kActivations));
  else d.activation = MOERT_ACT_SILU_AND_MUL;
  if (n["gate_up_layout"])
    d.gate_up_layout = r.choice(n["gate_up_layout"], "'gate_up_layout'", {"concat", "interleaved"}) == "interleaved"
                           ? MOERT_GATE_UP_INTERLEAVED : MOERT_GATE_UP_CONCAT;
  if (d.gate_up_layout == MOERT_GATE_UP_INTERLEAVED && !spec.gated())
    r.fail(n["gate_up_layout"], "'gate_up_layout' interleaved needs a gated activation (*_and_mul or swigluoai)");
  if (n["bias"]) d.has_bias = r.boolean(n["bias"], "'bias'") ? 1 : 0;
  if (n["swiglu"]) {
    r.check_keys(n["swiglu"], "swiglu", {"alpha", "limit"});
    if (n["swiglu"]["alpha"]) d.swiglu_alpha = static_cast<float>(r.number(n["swiglu"]["alpha"], "'swiglu.alpha'"));
    if (n["swiglu"]["limit"]) {
      double lim = r.number(n["swiglu"]["limit"], "'swiglu.limit'");
      if (!(lim > 0)) r.fail(n["swiglu"]["limit"], "'swiglu.limit' must be > 0, got " + n["swiglu"]["limit"].Scalar());
      d.swiglu_limit = static_cast<float>(lim);
    }
  }
  if (n["routing"]) parse_routing(r, n["routing"], spec);

  const std::string act_dtype = n["dtype"] ? r.choice(n["dtype"], "'dtype'", kActivationDtypes) : "bf16";
  d.activation_dtype = dtype_from_name(act_dtype);
  const std::string quant = n["quant"] ? r.choice(n["quant"], "'quant'", kQuantSchemes) : "none";
  d.quant_scheme = quant_scheme_from_name(quant);
  const std::string implied = implied_weight_dtype(quant, act_dtype);
  std::string wdt = implied;
  if (n["weight_dtype"]) {
    wdt = r.choice(n["weight_dtype"], "'weight_dtype'", kWeightDtypes);
    const bool ok = quant == "none" ? (wdt == "f32" || wdt == "bf16" || wdt == "f16") : wdt == implied;
    if (!ok)
      r.fail(n["weight_dtype"], "'weight_dtype' " + wdt + " does not fit quant " + quant + " (expected " +
                                    (quant == "none" ? std::string("f32, bf16 or f16") : implied) + ")");
  }
  d.weight_dtype = dtype_from_name(wdt);
  if (n["activation_quant"])
    d.activation_quant = r.choice(n["activation_quant"], "'activation_quant'", {"none", "fp8_per_token"}) == "fp8_per_token"
                             ? MOERT_ACT_QUANT_FP8_PER_TOKEN : MOERT_ACT_QUANT_NONE;
  // 0 = "size it to the run" (see ConfigLayer).
  d.max_num_tokens = n["max_num_tokens"]
      ? r.integer(n["max_num_tokens"], "'max_num_tokens'", 1, kMaxI32, "a positive integer") : 0;

  if (n["expert_parallel"]) parse_expert_parallel(r, n["expert_parallel"], spec);
  if (n["eplb"]) {
    r.check_keys(n["eplb"], "eplb", {"redundant_experts"});
    if (n["eplb"]["redundant_experts"])
      d.num_redundant_experts = static_cast<int32_t>(r.integer(n["eplb"]["redundant_experts"],
          "'eplb.redundant_experts'", 0, kMaxI32, "a non-negative integer"));
  }
  const int32_t physical = d.num_experts + d.num_redundant_experts;
  if (d.ep_size > physical)
    r.fail(n["expert_parallel"]["size"], "'expert_parallel.size' (" + std::to_string(d.ep_size) +
                                             ") exceeds the " + std::to_string(physical) + " physical experts");
  if (d.ep_size > 1) {
    spec.expert_map = make_expert_map(physical, d.ep_rank, d.ep_size, placement_from_name(spec.placement));
    d.num_local_experts = count_local_experts(spec.expert_map);
  } else {
    spec.expert_map.clear();
    d.num_local_experts = physical;
  }

  if (n["shared_expert"]) {
    const YAML::Node s = n["shared_expert"];
    r.check_keys(s, "shared_expert", {"intermediate", "gate"});
    lc.shared_expert.intermediate = r.integer(r.require(s, "intermediate", "shared_expert"),
        "'shared_expert.intermediate'", 1, INT64_MAX / 4, "a positive integer");
    if (s["gate"]) lc.shared_expert.gate = r.boolean(s["gate"], "'shared_expert.gate'");
  }

  lc.runner = top_runner;
  if (n["runner"]) {
    lc.runner = parse_runner_list(r, n["runner"], "'runner'");
    lc.runner_from_layer = true;
  }
  lc.backends = top_backends;
  if (n["backends"]) {
    BackendOptions own = parse_backends(r, n["backends"]);
    for (auto& b : own)
      for (auto& kv : b.second) lc.backends[b.first][kv.first] = kv.second;
  }
  check_layer(r, n, lc);
  return lc;
}

}  // namespace host
}  // namespace moert
