// check_layer (plugins/rocm/rocm_layer.cpp), the rocm plugin's answer to
// can_implement and create, on the host: it runs without an AMD GPU, so CI
// drives the layer and option checks that the GPU tests cannot reach there.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "rocm_layer.h"

namespace {

// gpt-oss-like: MXFP4 weights, bf16 activations, swigluoai, top-4 of 32.
moert_layer_desc gptoss_desc(const std::vector<moert_kv>& opts) {
  moert_layer_desc d;
  std::memset(&d, 0, sizeof d);
  d.struct_size = sizeof d;
  d.num_experts = 32;
  d.top_k = 4;
  d.hidden_size = 256;
  d.intermediate_size = 128;
  d.activation = MOERT_ACT_SWIGLUOAI;
  d.gate_up_layout = MOERT_GATE_UP_INTERLEAVED;
  d.has_bias = 1;
  d.swiglu_alpha = 1.702f;
  d.swiglu_limit = 7.0f;
  d.routing_method = MOERT_ROUTING_TOPK;
  d.scoring = MOERT_SCORING_SOFTMAX;
  d.renormalize = 1;
  d.routed_scaling_factor = 1.0f;
  d.activation_dtype = moert_dtype{MOERT_DTYPE_BFLOAT, 16, 1};
  d.weight_dtype = moert_dtype{MOERT_DTYPE_FLOAT4_E2M1FN, 4, 1};
  d.quant_scheme = MOERT_QUANT_MXFP4;
  d.activation_quant = MOERT_ACT_QUANT_NONE;
  d.max_num_tokens = 64;
  d.ep_size = 1;
  d.num_local_experts = 32;
  d.options = opts.empty() ? nullptr : opts.data();
  d.num_options = static_cast<int64_t>(opts.size());
  return d;
}

TEST(RocmLayerCheck, TakesTheWeightLayoutOption) {
  for (const auto& [value, layout] : std::vector<std::pair<const char*, moert_rocm::WeightLayout>>{
           {"checkpoint", moert_rocm::WeightLayout::kCheckpoint},
           {"aiter_shuffled", moert_rocm::WeightLayout::kAiterShuffled},
           {"aiter_a16w4", moert_rocm::WeightLayout::kAiterA16W4}}) {
    const std::vector<moert_kv> opts = {{"weight_layout", value}};
    const moert_layer_desc d = gptoss_desc(opts);
    moert_rocm::LayerConfig c;
    EXPECT_EQ(moert_rocm::check_layer(&d, &c), "") << value;
    EXPECT_EQ(c.layout, layout) << value;
  }
  const moert_layer_desc plain = gptoss_desc({});
  moert_rocm::LayerConfig c;
  EXPECT_EQ(moert_rocm::check_layer(&plain, &c), "");
  EXPECT_EQ(c.layout, moert_rocm::WeightLayout::kCheckpoint);
}

TEST(RocmLayerCheck, BadWeightLayoutNamesTheValue) {
  const std::vector<moert_kv> opts = {{"weight_layout", "shuffled"}};
  const moert_layer_desc d = gptoss_desc(opts);
  const std::string why = moert_rocm::check_layer(&d, nullptr);
  EXPECT_NE(why.find("weight_layout"), std::string::npos) << why;
  EXPECT_NE(why.find("'shuffled'"), std::string::npos) << why;
}

// A key the runner does not know (a typo, or another backend's) is refused
// with its name and the accepted key, not ignored.
TEST(RocmLayerCheck, UnknownOptionIsRefusedWithTheAcceptedKey) {
  for (const char* key : {"weight_layuot", "cuda.gemv_kernel", ""}) {
    const std::vector<moert_kv> opts = {{"weight_layout", "checkpoint"}, {key, "x"}};
    const moert_layer_desc d = gptoss_desc(opts);
    const std::string why = moert_rocm::check_layer(&d, nullptr);
    EXPECT_NE(why.find(std::string("unknown option '") + key + "'"), std::string::npos) << why;
    EXPECT_NE(why.find("accepts weight_layout"), std::string::npos) << why;
  }
  const std::vector<moert_kv> null_value = {{"weight_layout", nullptr}};
  const moert_layer_desc d = gptoss_desc(null_value);
  EXPECT_NE(moert_rocm::check_layer(&d, nullptr).find("NULL key or value"), std::string::npos);
}

}  // namespace
