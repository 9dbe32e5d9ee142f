// What the plugin claims (its attributes) and the grid of layer
// configurations the suite derives from the claims.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "moert/layer_spec.h"
#include "moert/moert_plugin.h"

namespace moert_conformance {

// Attribute values split at commas, by key. Keys absent from the table are
// absent from the map.
using Claims = std::map<std::string, std::set<std::string>>;
Claims read_claims(const moert_plugin_api* api);
bool claims(const Claims& c, const std::string& key, const std::string& value);

// The known attribute keys whose values must come from a fixed list, and the list.
const std::map<std::string, std::set<std::string>>& known_attribute_values();

struct Combo {
  moert_dtype act_dtype;
  moert_dtype weight_dtype;  // as the layer names it (f32/bf16/f16, fp8_e4m3, fp4_e2m1)
  int32_t quant_scheme;
  int32_t act_quant = MOERT_ACT_QUANT_NONE;
  int32_t activation;
  std::string router;  // softmax_topk | sigmoid_topk | grouped_topk | custom
  bool interleaved = false;
  bool bias = false;
  // "bf16/bf16:none/silu_and_mul/softmax_topk" (+ "/fp8_per_token", "/interleaved", "/bias")
  std::string name() const;
  // A gtest-friendly identifier made of the same parts.
  std::string id() const;
};

// Every combination of the claimed activation dtypes, weight formats,
// activations and routers, plus feature variants (bias, interleaved gate/up)
// on a subset. `abi_minor` gates routers that need ABI 1.1 fields (custom).
std::vector<Combo> claimed_combos(const Claims& c, uint32_t abi_minor);

// Layer shapes tried in order until the plugin accepts one.
constexpr int kNumShapes = 2;
moert::LayerSpec make_layer(const Combo& combo, int shape);

// Relative-error bound for the combination (by activation dtype / act quant).
double tolerance(const Combo& combo);

}  // namespace moert_conformance
