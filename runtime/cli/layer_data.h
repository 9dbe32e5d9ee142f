// The host-side data of one layer run: weights, inputs, the shared expert
// and the EPLB state, from seeded synthetic data or safetensors files as the
// config's `run:` section says.
#pragma once

#include <cstdint>
#include <string>

#include "moert/config.h"
#include "moert/host_tensor.h"
#include "moert/synthetic.h"
#include "moert/weights_io.h"

namespace moert {
namespace cli {

struct LayerData {
  WeightSet weights;
  bool has_shared = false;
  SharedExpertSet shared;
  HostTensor hidden, logits;  // [T, H] activation dtype, [T, E]
  // EPLB (layers with redundant experts): [E, max_replicas] and [E] int32.
  bool has_eplb = false;
  HostTensor eplb_map, eplb_replicas;
  std::string weights_source, inputs_source;  // for the report
};

// Tensor-name prefix inside safetensors files: "" for a single-layer config,
// "<layer name>." for a `layers:` list.
std::string weights_prefix(const Config& config, const LayerSpec& layer);

// Inputs first (a file fixes the token count): `tokens` is used for random
// inputs and must match a file's (0 = take the file's).
void load_layer_inputs(const Config& config, const LayerSpec& layer, int64_t tokens, uint64_t seed, LayerData& data);
// Weights (and the shared expert when the layer has one).
void load_layer_weights(const Config& config, const ConfigLayer& layer, const LayerSpec& spec, uint64_t seed,
                        LayerData& data);

// A seeded shared expert of intermediate size `intermediate` in the layer's
// activation dtype (uniform values scaled by 1/sqrt(fan_in)).
SharedExpertSet make_random_shared_expert(const LayerSpec& layer, int64_t intermediate, bool gate, uint64_t seed);

// The EPLB replica table used for runs: physical expert E + j replicates
// logical expert j % E; logical e picks among its replicas by slot position.
void make_eplb_state(const LayerSpec& layer, HostTensor& map, HostTensor& replica_count);

}  // namespace cli
}  // namespace moert
