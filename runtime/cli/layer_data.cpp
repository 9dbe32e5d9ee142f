// Building the host data of one layer run (layer_data.h).
#include "layer_data.h"

#include <cmath>
#include <filesystem>
#include <random>
#include <vector>

#include "moert/error.h"
#include "moert/quant.h"

namespace moert {
namespace cli {

std::string weights_prefix(const Config& config, const LayerSpec& layer) {
  return config.layers.size() > 1 ? layer.name + "." : "";
}

void load_layer_inputs(const Config& config, const LayerSpec& layer, int64_t tokens, uint64_t seed, LayerData& data) {
  if (config.run.inputs == "random") {
    data.hidden = make_random_hidden(layer, tokens, seed);
    data.logits = make_random_logits(layer, tokens, seed);
    data.inputs_source = "random (seed " + std::to_string(seed) + ")";
    return;
  }
  LayerInputs in = load_inputs(config.run.inputs, layer);
  if (tokens > 0 && in.tokens() != tokens)
    throw Error(config.run.inputs + ": holds " + std::to_string(in.tokens()) + " tokens, but " +
                std::to_string(tokens) + " were asked for (drop --tokens to use the file's)");
  data.hidden = std::move(in.hidden_states);
  data.logits = std::move(in.router_logits);
  data.inputs_source = config.run.inputs;
}

void load_layer_weights(const Config& config, const ConfigLayer& layer, const LayerSpec& spec, uint64_t seed,
                        LayerData& data) {
  const int64_t shared_i = layer.shared_expert.intermediate;
  if (config.run.weights == "random") {
    data.weights = make_random_weights(spec, seed);
    data.weights_source = "random (seed " + std::to_string(seed) + ")";
    if (shared_i > 0) {
      data.shared = make_random_shared_expert(spec, shared_i, layer.shared_expert.gate, seed);
      data.has_shared = true;
    }
    return;
  }
  const std::string prefix = weights_prefix(config, spec);
  data.weights = load_weights(config.run.weights, spec, prefix);
  data.weights_source = config.run.weights + (prefix.empty() ? "" : " (tensors " + prefix + "*)");
  if (shared_i > 0) {
    if (!has_shared_expert(config.run.weights, prefix))
      throw Error(config.run.weights + ": layer '" + spec.name + "' has a shared expert in the config, but the file "
                  "holds no tensor '" + prefix + "shared.w13'");
    data.shared = load_shared_expert(config.run.weights, spec, prefix);
    if (data.shared.intermediate_size != shared_i)
      throw Error(config.run.weights + ": shared expert of layer '" + spec.name + "' has intermediate size " +
                  std::to_string(data.shared.intermediate_size) + ", the config says " + std::to_string(shared_i));
    data.has_shared = true;
  }
}

namespace {

// Uniform in [-sqrt(3), sqrt(3)) (unit variance) from the raw bits of a
// standard engine, so values do not depend on the standard library's
// distribution code.
float unit(std::mt19937_64& rng) {
  const double u = static_cast<double>(rng() >> 11) * (1.0 / 9007199254740992.0);
  return static_cast<float>((2.0 * u - 1.0) * std::sqrt(3.0));
}

HostTensor random_matrix(std::mt19937_64& rng, moert_dtype dtype, std::vector<int64_t> shape, double fan_in) {
  HostTensor t(dtype, std::move(shape));
  std::vector<float> v(static_cast<size_t>(t.numel()));
  const float scale = static_cast<float>(1.0 / std::sqrt(fan_in));
  for (auto& x : v) x = unit(rng) * scale;
  convert_from_f32(v.data(), t.numel(), dtype, t.data());
  return t;
}

}  // namespace

SharedExpertSet make_random_shared_expert(const LayerSpec& layer, int64_t intermediate, bool gate, uint64_t seed) {
  const moert_dtype dt = layer.desc.activation_dtype;
  const int64_t h = layer.desc.hidden_size;
  const bool gated = layer.gated();
  // A stream of its own, apart from the routed experts' streams.
  std::mt19937_64 rng(seed ^ 0x5348415245445850ull);  // "SHAREDXP"
  SharedExpertSet s;
  s.intermediate_size = intermediate;
  s.activation = layer.desc.activation;
  s.w13 = random_matrix(rng, dt, {gated ? 2 * intermediate : intermediate, h}, static_cast<double>(h));
  s.w2 = random_matrix(rng, dt, {h, intermediate}, static_cast<double>(intermediate));
  if (gate) s.gate = random_matrix(rng, dt, {h}, static_cast<double>(h));
  return s;
}

void make_eplb_state(const LayerSpec& layer, HostTensor& map, HostTensor& replica_count) {
  const int32_t e = layer.desc.num_experts, r = layer.desc.num_redundant_experts;
  const int32_t max_replicas = 1 + (r + e - 1) / e;
  map = HostTensor(kI32, {e, max_replicas});
  replica_count = HostTensor(kI32, {e});
  int32_t* m = map.as<int32_t>();
  int32_t* c = replica_count.as<int32_t>();
  for (int32_t i = 0; i < e * max_replicas; ++i) m[i] = -1;
  for (int32_t i = 0; i < e; ++i) {
    m[i * max_replicas] = i;
    c[i] = 1;
  }
  for (int32_t j = 0; j < r; ++j) {
    const int32_t logical = j % e;
    m[logical * max_replicas + c[logical]++] = e + j;
  }
}

}  // namespace cli
}  // namespace moert
