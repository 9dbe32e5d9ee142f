// Weights, inputs and outputs of one layer in safetensors files, with moert's
// tensor names (docs/weights-format.md):
//   <prefix>w13, <prefix>w2, <prefix>w13_scale, <prefix>w2_scale,
//   <prefix>w13_bias, <prefix>w2_bias, <prefix>score_correction_bias,
//   shared expert: <prefix>shared.w13, <prefix>shared.w2, <prefix>shared.gate
//   inputs: hidden_states [T, H], router_logits [T, E]; output: output [T, H]
// Every mismatch is a moert::Error naming the file, the tensor, the expected
// dtype/shape and the one found.
#pragma once

#include <string>

#include "moert/host_tensor.h"
#include "moert/layer_spec.h"
#include "moert/synthetic.h"

namespace moert {

// Loads every tensor the layer needs (weight_tensor_specs) from `path`, each
// checked for dtype and shape. Tensors the layer does not use are ignored.
WeightSet load_weights(const std::string& path, const LayerSpec& layer,
                       const std::string& prefix = "");
struct SharedExpertSet;
// Writes the tensors of `weights` that the layer uses (and the shared expert
// when given), checked against the layer first. Metadata records the layer's
// shape and quant scheme for humans.
void save_weights(const std::string& path, const LayerSpec& layer, const WeightSet& weights,
                  const std::string& prefix = "", const SharedExpertSet* shared = nullptr);

// A shared expert in activation_dtype: w13 [R_s, H], w2 [H, I_s], gate [H]
// (optional). I_s is taken from w2's shape.
struct SharedExpertSet {
  HostTensor w13, w2, gate;
  int64_t intermediate_size = 0;
  int32_t activation = MOERT_ACT_SILU_AND_MUL;
  // Borrows the tensors; host tensors (copy them to the device for a forward).
  moert_shared_expert view() const;
};
// True when "<prefix>shared.w13" is in the file.
bool has_shared_expert(const std::string& path, const std::string& prefix = "");
// Loads and checks it; its activation is the layer's (swigluoai not allowed).
SharedExpertSet load_shared_expert(const std::string& path, const LayerSpec& layer,
                                   const std::string& prefix = "");

// hidden_states [T, H] in activation_dtype, router_logits [T, E] in f32, bf16
// or f16, with the same T.
struct LayerInputs {
  HostTensor hidden_states, router_logits;
  int64_t tokens() const { return hidden_states.shape().empty() ? 0 : hidden_states.shape()[0]; }
};
LayerInputs load_inputs(const std::string& path, const LayerSpec& layer);
void save_inputs(const std::string& path, const HostTensor& hidden_states,
                 const HostTensor& router_logits);

// "output" [T, H].
void save_output(const std::string& path, const HostTensor& output);
HostTensor load_output(const std::string& path);

}  // namespace moert
