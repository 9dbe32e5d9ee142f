// LayerSpec: an owning C++ holder for one moert_layer_desc (the C struct
// borrows its expert map and option strings from here).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "moert/moert_plugin.h"

namespace moert {

class LayerSpec {
 public:
  LayerSpec();  // Defaults: softmax top-k, renormalize off, silu_and_mul, bf16, no quant.
  LayerSpec(const LayerSpec& other);
  LayerSpec& operator=(const LayerSpec& other);

  std::string name = "layer";        // for messages and safetensors prefixes
  moert_layer_desc desc;             // pointer fields are refreshed by c_desc()
  std::vector<int32_t> expert_map;   // empty = identity
  std::map<std::string, std::string> options;
  std::string placement = "linear";  // "linear" | "round_robin"

  // The C view. Valid while this object lives and is not modified.
  const moert_layer_desc* c_desc() const;

  int32_t num_physical_experts() const { return desc.num_experts + desc.num_redundant_experts; }
  bool gated() const;           // activation has a gate and an up half
  int64_t w13_rows() const;     // 2I when gated, I otherwise

 private:
  mutable moert_layer_desc c_;
  mutable std::vector<moert_kv> kv_;
};

// Human-readable names for the enums, and their inverses (throw moert::Error
// listing the accepted names).
const char* activation_name(int32_t a);
int32_t activation_from_name(const std::string& s);
const char* quant_scheme_name(int32_t q);
int32_t quant_scheme_from_name(const std::string& s);
const char* scoring_name(int32_t s);
int32_t scoring_from_name(const std::string& s);
const char* routing_method_name(int32_t r);
int32_t routing_method_from_name(const std::string& s);

}  // namespace moert
