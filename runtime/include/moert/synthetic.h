// Seeded synthetic weights and inputs for any LayerSpec (all dtypes and quant
// schemes), on the host. Used by `moert run`, `moert bench`, the conformance
// suite and the tests.
#pragma once

#include <cstdint>

#include "moert/host_tensor.h"
#include "moert/layer_spec.h"

namespace moert {

// Owns the tensors; view() returns a moert_expert_weights that borrows them.
struct WeightSet {
  HostTensor w13, w2, w13_scale, w2_scale, w13_bias, w2_bias, score_correction_bias;
  moert_expert_weights view() const;
};

// Random weights with the shapes, dtypes and scales the ABI documents for
// `layer` (local experts only when the layer has an expert map). Values are
// scaled so that activations stay O(1) through the layer.
WeightSet make_random_weights(const LayerSpec& layer, uint64_t seed);

// Random hidden states [T, H] in activation_dtype and router logits [T, E] f32.
HostTensor make_random_hidden(const LayerSpec& layer, int64_t tokens, uint64_t seed);
HostTensor make_random_logits(const LayerSpec& layer, int64_t tokens, uint64_t seed);

}  // namespace moert
