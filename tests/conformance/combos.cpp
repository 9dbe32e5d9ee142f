#include "combos.h"

#include <sstream>

#include "harness.h"
#include "moert/host_tensor.h"

namespace moert_conformance {

using moert::operator==;

Claims read_claims(const moert_plugin_api* api) {
  Claims out;
  size_t n = 0;
  const moert_kv* kv = api->attributes ? api->attributes(&n) : nullptr;
  for (size_t i = 0; kv && i < n; ++i) {
    if (!kv[i].key || !kv[i].value) continue;
    std::set<std::string>& values = out[kv[i].key];
    std::stringstream ss(kv[i].value);
    std::string item;
    while (std::getline(ss, item, ','))
      if (!item.empty()) values.insert(item);
  }
  return out;
}

bool claims(const Claims& c, const std::string& key, const std::string& value) {
  auto it = c.find(key);
  return it != c.end() && it->second.count(value) > 0;
}

const std::map<std::string, std::set<std::string>>& known_attribute_values() {
  static const std::map<std::string, std::set<std::string>> known = {
      {"dtypes", {"f32", "f16", "bf16"}},
      {"weight_dtypes", {"f32", "f16", "bf16", "fp8_e4m3", "fp4_e2m1"}},
      {"activations",
       {"silu_and_mul", "gelu_and_mul", "gelu_tanh_and_mul", "swigluoai", "silu", "gelu", "relu2"}},
      {"routers", {"softmax_topk", "sigmoid_topk", "grouped_topk", "custom"}},
      {"quant_schemes", {"none", "fp8_per_tensor", "fp8_per_channel", "fp8_block128", "mxfp4"}},
      {"activation_quant", {"none", "fp8_per_token"}},
  };
  return known;
}

std::string Combo::name() const {
  std::string s = moert::dtype_name(act_dtype) + "/" + moert::dtype_name(weight_dtype) + ":" +
                  moert::quant_scheme_name(quant_scheme) + "/" + moert::activation_name(activation) +
                  "/" + router;
  if (act_quant == MOERT_ACT_QUANT_FP8_PER_TOKEN) s += "/fp8_per_token";
  if (interleaved) s += "/interleaved";
  if (bias) s += "/bias";
  return s;
}

std::string Combo::id() const {
  std::string s = name();
  for (char& ch : s)
    if (ch == '/' || ch == ':') ch = '.';
  return s;
}

namespace {

struct WeightFormat {
  moert_dtype dtype;
  int32_t scheme;
};

std::vector<WeightFormat> claimed_weight_formats(const Claims& c) {
  std::vector<WeightFormat> out;
  const bool no_schemes_listed = c.find("quant_schemes") == c.end();
  if (no_schemes_listed || claims(c, "quant_schemes", "none"))
    for (const char* d : {"f32", "bf16", "f16"})
      if (claims(c, "weight_dtypes", d)) out.push_back({moert::dtype_from_name(d), MOERT_QUANT_NONE});
  if (claims(c, "weight_dtypes", "fp8_e4m3")) {
    const std::pair<const char*, int32_t> fp8[] = {{"fp8_per_tensor", MOERT_QUANT_FP8_PER_TENSOR},
                                                   {"fp8_per_channel", MOERT_QUANT_FP8_PER_CHANNEL},
                                                   {"fp8_block128", MOERT_QUANT_FP8_BLOCK_128}};
    for (const auto& q : fp8)
      if (claims(c, "quant_schemes", q.first)) out.push_back({moert::kFP8E4M3, q.second});
  }
  if (claims(c, "weight_dtypes", "fp4_e2m1") && claims(c, "quant_schemes", "mxfp4"))
    out.push_back({moert::kFP4E2M1, MOERT_QUANT_MXFP4});
  return out;
}

bool is_fp8_scheme(int32_t q) {
  return q == MOERT_QUANT_FP8_PER_TENSOR || q == MOERT_QUANT_FP8_PER_CHANNEL ||
         q == MOERT_QUANT_FP8_BLOCK_128;
}

bool gated(int32_t activation) {
  return activation != MOERT_ACT_SILU && activation != MOERT_ACT_GELU && activation != MOERT_ACT_RELU2;
}

}  // namespace

std::vector<Combo> claimed_combos(const Claims& c, uint32_t abi_minor) {
  std::vector<Combo> out;
  std::vector<moert_dtype> act_dtypes;
  for (const char* d : {"f32", "bf16", "f16"})
    if (claims(c, "dtypes", d)) act_dtypes.push_back(moert::dtype_from_name(d));
  const auto formats = claimed_weight_formats(c);
  std::vector<int32_t> activations;
  for (int32_t a = MOERT_ACT_SILU_AND_MUL; a <= MOERT_ACT_RELU2; ++a)
    if (claims(c, "activations", moert::activation_name(a))) activations.push_back(a);
  std::vector<std::string> routers;
  for (const char* r : {"softmax_topk", "sigmoid_topk", "grouped_topk", "custom"})
    if (claims(c, "routers", r) && !(std::string(r) == "custom" && abi_minor < 1)) routers.push_back(r);

  for (auto ad : act_dtypes)
    for (const auto& wf : formats)
      for (int32_t aq : {MOERT_ACT_QUANT_NONE, MOERT_ACT_QUANT_FP8_PER_TOKEN}) {
        if (aq == MOERT_ACT_QUANT_FP8_PER_TOKEN &&
            !(is_fp8_scheme(wf.scheme) && claims(c, "activation_quant", "fp8_per_token")))
          continue;
        for (int32_t act : activations)
          for (const auto& r : routers) {
            Combo k;
            k.act_dtype = ad;
            k.weight_dtype = wf.dtype;
            k.quant_scheme = wf.scheme;
            k.act_quant = aq;
            k.activation = act;
            k.router = r;
            out.push_back(k);
          }
      }
  // Feature variants on the first dtype, weight format and router, per activation.
  if (!act_dtypes.empty() && !formats.empty() && !routers.empty()) {
    for (int32_t act : activations) {
      Combo k;
      k.act_dtype = act_dtypes.front();
      k.weight_dtype = formats.front().dtype;
      k.quant_scheme = formats.front().scheme;
      k.activation = act;
      k.router = routers.front();
      if (claims(c, "features", "bias")) {
        Combo b = k;
        b.bias = true;
        out.push_back(b);
      }
      if (claims(c, "features", "interleaved_gate_up") && gated(act)) {
        Combo i = k;
        i.interleaved = true;
        out.push_back(i);
      }
    }
  }
  return out;
}

moert::LayerSpec make_layer(const Combo& k, int shape) {
  moert::LayerSpec l;
  l.name = "conformance";
  auto& d = l.desc;
  // Small first; a larger, more aligned one for kernels with tile constraints.
  d.num_experts = shape == 0 ? 8 : 16;
  d.top_k = shape == 0 ? 2 : 4;
  d.hidden_size = shape == 0 ? 128 : 512;
  d.intermediate_size = shape == 0 ? 64 : 256;
  d.max_num_tokens = shape == 0 ? 16 : 32;
  d.num_local_experts = d.num_experts;
  d.activation_dtype = k.act_dtype;
  d.weight_dtype = k.weight_dtype;
  d.quant_scheme = k.quant_scheme;
  d.activation_quant = k.act_quant;
  d.activation = k.activation;
  d.gate_up_layout = k.interleaved ? MOERT_GATE_UP_INTERLEAVED : MOERT_GATE_UP_CONCAT;
  d.has_bias = k.bias ? 1 : 0;
  d.renormalize = 1;
  d.routed_scaling_factor = 1.0f;
  if (k.router == "softmax_topk") {
    d.routing_method = MOERT_ROUTING_TOPK;
    d.scoring = MOERT_SCORING_SOFTMAX;
  } else if (k.router == "sigmoid_topk") {
    d.routing_method = MOERT_ROUTING_TOPK;
    d.scoring = MOERT_SCORING_SIGMOID;
    d.routed_scaling_factor = 2.5f;
  } else if (k.router == "grouped_topk") {
    d.routing_method = MOERT_ROUTING_GROUPED_TOPK;
    d.scoring = MOERT_SCORING_SIGMOID;
    d.num_expert_group = 4;
    d.topk_group = 2;
    d.has_score_correction_bias = 1;
    d.routed_scaling_factor = 2.5f;
  } else {  // custom: the suite's function; the harness gives it its context
    d.routing_method = MOERT_ROUTING_CUSTOM;
    d.scoring = MOERT_SCORING_SOFTMAX;
    d.custom_routing = suite_custom_routing;
    d.custom_routing_context = nullptr;
  }
  return l;
}

double tolerance(const Combo& k) {
  if (k.act_quant == MOERT_ACT_QUANT_FP8_PER_TOKEN) return 3e-2;
  if (k.act_dtype == moert::kBF16) return 1e-2;
  if (k.act_dtype == moert::kF16) return 3e-3;
  return 1e-5;  // f32 activations: weights dequantize exactly, only rounding order differs
}

}  // namespace moert_conformance
