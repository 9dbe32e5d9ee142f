// The tensors a layer's routed-expert weights consist of, with the shapes and
// dtypes the ABI documents (moert_plugin.h, moert_expert_weights). One table
// shared by the synthetic generator, the safetensors weights I/O and the bench.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "moert/host_tensor.h"
#include "moert/layer_spec.h"
#include "moert/synthetic.h"

namespace moert {

struct WeightTensorSpec {
  const char* name;              // "w13", "w2", "w13_scale", ..., "score_correction_bias"
  HostTensor WeightSet::*field;  // where it lives in a WeightSet
  moert_dtype dtype;
  std::vector<int64_t> shape;    // logical elements (fp4: unpacked)
};

// Local experts whose weights an instance holds: desc.num_local_experts when
// the layer has an expert map, else every physical expert (E + redundant).
int64_t local_expert_count(const LayerSpec& layer);

// Dtype of w13/w2 as stored: weight_dtype for "none", fp8_e4m3 for the fp8
// schemes, fp4_e2m1 for mxfp4.
moert_dtype stored_weight_dtype(const LayerSpec& layer);

// The tensors present for this layer (absent ones are left out). Throws
// moert::Error when the layer cannot have weights (e.g. mxfp4 with H or I not
// a multiple of 32, weight_dtype not allowed for the quant scheme).
std::vector<WeightTensorSpec> weight_tensor_specs(const LayerSpec& layer);

}  // namespace moert
