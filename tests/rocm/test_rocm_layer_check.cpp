// check_layer (plugins/rocm/rocm_layer.cpp), the rocm plugin's answer to
// can_implement and create, on the host: it runs without an AMD GPU, so CI
// drives the layer and option checks that the GPU tests cannot reach there.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "moe_reference.h"
#include "rocm_layer.h"

namespace {

// The rocm tests' default shape (swigluoai with biases, interleaved
// gate/up, top-2 of 8) with these options.
moert_layer_desc desc_with(std::vector<moert_kv>& opts) {
  static const rocm_test::Shape shape;
  return rocm_test::layer_desc(shape, 64, &opts);
}

TEST(RocmLayerCheck, TakesTheWeightLayoutOption) {
  for (const auto& [value, layout] : std::vector<std::pair<const char*, moert_rocm::WeightLayout>>{
           {"checkpoint", moert_rocm::WeightLayout::kCheckpoint},
           {"aiter_shuffled", moert_rocm::WeightLayout::kAiterShuffled},
           {"aiter_a16w4", moert_rocm::WeightLayout::kAiterA16W4}}) {
    std::vector<moert_kv> opts = {{"weight_layout", value}};
    const moert_layer_desc d = desc_with(opts);
    moert_rocm::LayerConfig c;
    EXPECT_EQ(moert_rocm::check_layer(&d, &c), "") << value;
    EXPECT_EQ(c.layout, layout) << value;
  }
  std::vector<moert_kv> none;
  const moert_layer_desc plain = desc_with(none);
  moert_rocm::LayerConfig c;
  EXPECT_EQ(moert_rocm::check_layer(&plain, &c), "");
  EXPECT_EQ(c.layout, moert_rocm::WeightLayout::kCheckpoint);
}

TEST(RocmLayerCheck, BadWeightLayoutNamesTheValue) {
  std::vector<moert_kv> opts = {{"weight_layout", "shuffled"}};
  const moert_layer_desc d = desc_with(opts);
  const std::string why = moert_rocm::check_layer(&d, nullptr);
  EXPECT_NE(why.find("weight_layout"), std::string::npos) << why;
  EXPECT_NE(why.find("'shuffled'"), std::string::npos) << why;
}

// A key the runner does not know (a typo, or another backend's) is refused
// with its name and the accepted key, not ignored.
TEST(RocmLayerCheck, UnknownOptionIsRefusedWithTheAcceptedKey) {
  for (const char* key : {"weight_layuot", "cuda.gemv_kernel", ""}) {
    std::vector<moert_kv> opts = {{"weight_layout", "checkpoint"}, {key, "x"}};
    const moert_layer_desc d = desc_with(opts);
    const std::string why = moert_rocm::check_layer(&d, nullptr);
    EXPECT_NE(why.find(std::string("unknown option '") + key + "'"), std::string::npos) << why;
    EXPECT_NE(why.find("accepts weight_layout"), std::string::npos) << why;
  }
  std::vector<moert_kv> null_value = {{"weight_layout", nullptr}};
  const moert_layer_desc d = desc_with(null_value);
  EXPECT_NE(moert_rocm::check_layer(&d, nullptr).find("NULL key or value"), std::string::npos);
}

}  // namespace
