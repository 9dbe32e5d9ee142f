// Layer weights, inputs and outputs <-> safetensors, with moert's names.
#include "moert/weights_io.h"

#include <cmath>

#include "moert/error.h"
#include "moert/quant.h"
#include "moert/routing.h"
#include "moert/safetensors.h"
#include "moert/weight_layout.h"

namespace moert {

namespace {

std::string describe(const HostTensor& t) { return dtype_name(t.dtype()) + " " + shape_string(t.shape()); }

// Shared-expert activation (the layer's); swigluoai has no shared form.
int32_t shared_activation(const LayerSpec& layer) {
  if (layer.desc.activation == MOERT_ACT_SWIGLUOAI)
    throw Error("layer '" + layer.name + "': a shared expert cannot use swigluoai (use a *_and_mul activation)");
  return layer.desc.activation;
}

void add_layer_metadata(safetensors::Writer& w, const LayerSpec& layer) {
  const auto& d = layer.desc;
  w.add_metadata("format", "moert");
  w.add_metadata("layer", layer.name);
  w.add_metadata("num_experts", std::to_string(d.num_experts));
  w.add_metadata("top_k", std::to_string(d.top_k));
  w.add_metadata("hidden_size", std::to_string(d.hidden_size));
  w.add_metadata("intermediate_size", std::to_string(d.intermediate_size));
  w.add_metadata("activation", activation_name(d.activation));
  w.add_metadata("quant_scheme", quant_scheme_name(d.quant_scheme));
  w.add_metadata("weight_dtype", dtype_name(d.weight_dtype));
}

}  // namespace

WeightSet load_weights(const std::string& path, const LayerSpec& layer, const std::string& prefix) {
  const auto specs = weight_tensor_specs(layer);
  safetensors::Reader file(path);
  WeightSet ws;
  for (const auto& s : specs) ws.*(s.field) = file.read(prefix + s.name, s.dtype, s.shape);
  return ws;
}

void save_weights(const std::string& path, const LayerSpec& layer, const WeightSet& weights,
                  const std::string& prefix, const SharedExpertSet* shared) {
  safetensors::Writer w;
  add_layer_metadata(w, layer);
  for (const auto& s : weight_tensor_specs(layer)) {
    const HostTensor& t = weights.*(s.field);
    if (t.empty())
      throw Error("save_weights(" + path + "): tensor '" + s.name + "' is missing; layer '" + layer.name +
                  "' needs " + dtype_name(s.dtype) + " " + shape_string(s.shape));
    if (t.dtype() != s.dtype || t.shape() != s.shape)
      throw Error("save_weights(" + path + "): tensor '" + s.name + "': expected " + dtype_name(s.dtype) + " " +
                  shape_string(s.shape) + ", got " + describe(t));
    w.add(prefix + s.name, t);
  }
  if (shared) {
    w.add(prefix + "shared.w13", shared->w13);
    w.add(prefix + "shared.w2", shared->w2);
    if (!shared->gate.empty()) w.add(prefix + "shared.gate", shared->gate);
  }
  w.write(path);
}

moert_shared_expert SharedExpertSet::view() const {
  moert_shared_expert s{};
  s.struct_size = sizeof(moert_shared_expert);
  s.intermediate_size = intermediate_size;
  s.activation = activation;
  s.w13 = w13.view();
  s.w2 = w2.view();
  s.gate = gate.empty() ? absent_tensor() : gate.view();
  return s;
}

bool has_shared_expert(const std::string& path, const std::string& prefix) {
  return safetensors::Reader(path).contains(prefix + "shared.w13");
}

SharedExpertSet load_shared_expert(const std::string& path, const LayerSpec& layer, const std::string& prefix) {
  safetensors::Reader file(path);
  const moert_dtype dt = layer.desc.activation_dtype;
  const int64_t h = layer.desc.hidden_size;
  SharedExpertSet s;
  s.activation = shared_activation(layer);
  // I_s comes from w2 [H, I_s]; then w13 must be [R_s, H].
  const auto& w2info = file.info(prefix + "shared.w2");
  if (w2info.shape.size() != 2 || w2info.shape[0] != h || w2info.shape[1] <= 0 || w2info.dtype != dt)
    throw Error(path + ": tensor '" + prefix + "shared.w2': expected " + dtype_name(dt) + " [" +
                std::to_string(h) + ", I_shared > 0], got " + dtype_name(w2info.dtype) + " " +
                shape_string(w2info.shape));
  s.intermediate_size = w2info.shape[1];
  const bool gated = layer.gated();
  s.w2 = file.read(prefix + "shared.w2", dt, {h, s.intermediate_size});
  s.w13 = file.read(prefix + "shared.w13", dt, {gated ? 2 * s.intermediate_size : s.intermediate_size, h});
  if (file.contains(prefix + "shared.gate")) s.gate = file.read(prefix + "shared.gate", dt, {h});
  return s;
}

LayerInputs load_inputs(const std::string& path, const LayerSpec& layer) {
  safetensors::Reader file(path);
  const int64_t h = layer.desc.hidden_size, e = layer.desc.num_experts;
  LayerInputs in;
  const auto& hi = file.info("hidden_states");
  if (hi.shape.size() != 2 || hi.dtype != layer.desc.activation_dtype || hi.shape[1] != h)
    throw Error(path + ": tensor 'hidden_states': expected " + dtype_name(layer.desc.activation_dtype) +
                " [T, " + std::to_string(h) + "], got " + dtype_name(hi.dtype) + " " + shape_string(hi.shape));
  const int64_t t = hi.shape[0];
  in.hidden_states = file.read("hidden_states", layer.desc.activation_dtype, {t, h});
  const auto& li = file.info("router_logits");
  const bool logit_dtype_ok = li.dtype == kF32 || li.dtype == kBF16 || li.dtype == kF16;
  if (!logit_dtype_ok || li.shape != std::vector<int64_t>{t, e})
    throw Error(path + ": tensor 'router_logits': expected f32, bf16 or f16 " +
                shape_string({t, e}) + " (T from hidden_states), got " + dtype_name(li.dtype) + " " +
                shape_string(li.shape));
  in.router_logits = file.read("router_logits", li.dtype, {t, e});
  // docs/semantics.md, routing step 1, at the file for every runner: a GPU
  // runner cannot fail its forward on a logit without a host
  // synchronization (it makes the token's output NaN instead).
  for (int64_t i = 0; i < t * e; ++i) {
    const float v = load_as_f32(in.router_logits.data(), li.dtype, i);
    if (!std::isfinite(v))
      throw Error(MOERT_STATUS_INVALID_ARGUMENT, nonfinite_logit_message(path + ": tensor 'router_logits'", i / e, i % e, v));
  }
  return in;
}

void save_inputs(const std::string& path, const HostTensor& hidden_states, const HostTensor& router_logits) {
  if (hidden_states.shape().size() != 2 || router_logits.shape().size() != 2 ||
      hidden_states.shape()[0] != router_logits.shape()[0])
    throw Error("save_inputs(" + path + "): hidden_states [T, H] and router_logits [T, E] need the same T, got " +
                describe(hidden_states) + " and " + describe(router_logits));
  safetensors::Writer w;
  w.add_metadata("format", "moert");
  w.add("hidden_states", hidden_states);
  w.add("router_logits", router_logits);
  w.write(path);
}

void save_output(const std::string& path, const HostTensor& output) {
  if (output.shape().size() != 2)
    throw Error("save_output(" + path + "): output must be [T, H], got " + describe(output));
  safetensors::Writer w;
  w.add_metadata("format", "moert");
  w.add("output", output);
  w.write(path);
}

HostTensor load_output(const std::string& path) {
  safetensors::Reader file(path);
  const auto& info = file.info("output");
  if (info.shape.size() != 2 || !(info.dtype == kF32 || info.dtype == kBF16 || info.dtype == kF16))
    throw Error(path + ": tensor 'output': expected f32, bf16 or f16 [T, H], got " + dtype_name(info.dtype) +
                " " + shape_string(info.shape));
  return file.read("output");
}

}  // namespace moert
