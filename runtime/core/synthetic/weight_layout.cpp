// The ABI's weight table (moert_plugin.h, moert_expert_weights) as data.
#include "moert/weight_layout.h"

#include "moert/error.h"

namespace moert {

int64_t local_expert_count(const LayerSpec& layer) {
  return layer.expert_map.empty() ? layer.num_physical_experts() : layer.desc.num_local_experts;
}

moert_dtype stored_weight_dtype(const LayerSpec& layer) {
  switch (layer.desc.quant_scheme) {
    case MOERT_QUANT_FP8_PER_TENSOR:
    case MOERT_QUANT_FP8_PER_CHANNEL:
    case MOERT_QUANT_FP8_BLOCK_128:
      return kFP8E4M3;
    case MOERT_QUANT_MXFP4:
      return kFP4E2M1;
    default:
      return layer.desc.weight_dtype;
  }
}

namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

void check_layer(const LayerSpec& layer) {
  const auto& d = layer.desc;
  const std::string where = "layer '" + layer.name + "'";
  if (d.num_experts <= 0 || d.hidden_size <= 0 || d.intermediate_size <= 0)
    throw Error(where + ": num_experts, hidden_size and intermediate_size must be positive (got " +
                std::to_string(d.num_experts) + ", " + std::to_string(d.hidden_size) + ", " +
                std::to_string(d.intermediate_size) + ")");
  if (local_expert_count(layer) < 0)
    throw Error(where + ": num_local_experts must not be negative (got " +
                std::to_string(local_expert_count(layer)) + ")");
  const moert_dtype wd = d.weight_dtype;
  switch (d.quant_scheme) {
    case MOERT_QUANT_NONE:
      if (wd != kF32 && wd != kBF16 && wd != kF16)
        throw Error(where + ": quant scheme none needs weight_dtype f32, bf16 or f16, got " + dtype_name(wd));
      break;
    case MOERT_QUANT_FP8_PER_TENSOR:
    case MOERT_QUANT_FP8_PER_CHANNEL:
    case MOERT_QUANT_FP8_BLOCK_128:
      if (wd != kFP8E4M3)
        throw Error(where + ": quant scheme " + quant_scheme_name(d.quant_scheme) +
                    " needs weight_dtype fp8_e4m3, got " + dtype_name(wd));
      break;
    case MOERT_QUANT_MXFP4:
      if (wd != kFP4E2M1)
        throw Error(where + ": quant scheme mxfp4 needs weight_dtype fp4_e2m1, got " + dtype_name(wd));
      if (d.hidden_size % 32 != 0 || d.intermediate_size % 32 != 0)
        throw Error(where + ": mxfp4 needs hidden_size and intermediate_size divisible by 32 (got H=" +
                    std::to_string(d.hidden_size) + ", I=" + std::to_string(d.intermediate_size) + ")");
      break;
    default:
      throw Error(where + ": unknown quant scheme " + std::to_string(d.quant_scheme));
  }
}

}  // namespace

std::vector<WeightTensorSpec> weight_tensor_specs(const LayerSpec& layer) {
  check_layer(layer);
  const auto& d = layer.desc;
  const int64_t el = local_expert_count(layer);
  const int64_t r = layer.w13_rows(), h = d.hidden_size, i = d.intermediate_size;
  const moert_dtype wd = stored_weight_dtype(layer);

  std::vector<WeightTensorSpec> specs;
  specs.push_back({"w13", &WeightSet::w13, wd, {el, r, h}});
  specs.push_back({"w2", &WeightSet::w2, wd, {el, h, i}});
  switch (d.quant_scheme) {
    case MOERT_QUANT_FP8_PER_TENSOR:
      specs.push_back({"w13_scale", &WeightSet::w13_scale, kF32, {el}});
      specs.push_back({"w2_scale", &WeightSet::w2_scale, kF32, {el}});
      break;
    case MOERT_QUANT_FP8_PER_CHANNEL:
      specs.push_back({"w13_scale", &WeightSet::w13_scale, kF32, {el, r}});
      specs.push_back({"w2_scale", &WeightSet::w2_scale, kF32, {el, h}});
      break;
    case MOERT_QUANT_FP8_BLOCK_128:
      specs.push_back({"w13_scale", &WeightSet::w13_scale, kF32, {el, ceil_div(r, 128), ceil_div(h, 128)}});
      specs.push_back({"w2_scale", &WeightSet::w2_scale, kF32, {el, ceil_div(h, 128), ceil_div(i, 128)}});
      break;
    case MOERT_QUANT_MXFP4:
      specs.push_back({"w13_scale", &WeightSet::w13_scale, kE8M0, {el, r, h / 32}});
      specs.push_back({"w2_scale", &WeightSet::w2_scale, kE8M0, {el, h, i / 32}});
      break;
    default:
      break;
  }
  if (d.has_bias) {
    specs.push_back({"w13_bias", &WeightSet::w13_bias, kF32, {el, r}});
    specs.push_back({"w2_bias", &WeightSet::w2_bias, kF32, {el, h}});
  }
  if (d.has_score_correction_bias)
    specs.push_back({"score_correction_bias", &WeightSet::score_correction_bias, kF32, {d.num_experts}});
  return specs;
}

}  // namespace moert
