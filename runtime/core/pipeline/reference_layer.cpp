// ReferenceLayer: one full forward on host memory.
#include "moert/reference_layer.h"

#include <algorithm>
#include <string>

#include "moert/eplb.h"
#include "moert/error.h"
#include "moert/host_tensor.h"
#include "moert/moert_plugin.hpp"
#include "moert/quant.h"
#include "reference/tensor_checks.h"

namespace moert {

using checks::dim;

namespace {
void expect_on(const moert_tensor& t, const std::string& name, int32_t device_type) {
  if (device_type == MOERT_DEVICE_CPU) {
    checks::expect_host(t, name);
  } else if (t.device.device_type != device_type) {
    throw Error(name + " lives on device type " + std::to_string(t.device.device_type) + "; expected " +
                std::to_string(device_type) + " (the experts plugin's device)");
  }
}
}  // namespace

int64_t validate_forward_tensors(const LayerConfig& L, const moert_forward_args& a, int32_t device_type) {
  if (a.struct_size < offsetof(moert_forward_args, shared_expert) + sizeof(void*))
    throw Error("forward args struct_size " + std::to_string(a.struct_size) + " is too small (expected " +
                std::to_string(sizeof(moert_forward_args)) + ")");
  const moert_tensor& hs = a.hidden_states;
  if (hs.data == nullptr && !(hs.ndim == 2 && hs.shape && hs.shape[0] == 0))
    throw Error("hidden_states is absent (data is NULL)");
  if (hs.ndim != 2 || hs.shape == nullptr)
    throw Error("hidden_states must be 2-D [T, hidden_size=" + std::to_string(L.hidden_size) + "], got ndim=" +
                std::to_string(hs.ndim));
  const int64_t T = hs.shape[0];
  if (T < 0 || T > L.max_num_tokens)
    throw Error("hidden_states has T=" + std::to_string(T) + " tokens; allowed [0, max_num_tokens=" +
                std::to_string(L.max_num_tokens) + "]");
  if (T == 0) {
    // Zero tokens: only the shapes matter (data may be NULL).
    if (hs.shape[1] != L.hidden_size)
      throw Error("hidden_states shape " + shape_string(checks::shape_of(hs)) + " does not match [T, " +
                  dim("hidden_size", L.hidden_size) + "]");
    return 0;
  }
  const std::string th = "[T, " + dim("hidden_size", L.hidden_size) + "]";
  checks::expect_shape(hs, "hidden_states", {T, L.hidden_size}, th);
  checks::expect_dtype(hs, "hidden_states", {L.activation_dtype});
  expect_on(hs, "hidden_states", device_type);
  checks::expect_shape(a.router_logits, "router_logits", {T, L.num_experts},
                       "[T=" + std::to_string(T) + ", " + dim("num_experts", L.num_experts) + "]");
  checks::expect_dtype(a.router_logits, "router_logits", {kF32, kBF16, kF16});
  expect_on(a.router_logits, "router_logits", device_type);
  checks::expect_shape(a.output, "output", {T, L.hidden_size},
                       "[T=" + std::to_string(T) + ", " + dim("hidden_size", L.hidden_size) + "]");
  checks::expect_dtype(a.output, "output", {L.activation_dtype});
  expect_on(a.output, "output", device_type);
  return T;
}

ReferenceLayer::ReferenceLayer(const LayerConfig& layer)
    : layer_(layer),
      router_(layer),
      experts_(layer),
      x_(static_cast<size_t>(layer.max_num_tokens * layer.hidden_size)),
      acc_(static_cast<size_t>(layer.max_num_tokens * layer.hidden_size)),
      topk_weights_(static_cast<size_t>(layer.max_num_tokens * layer.top_k)),
      logical_ids_(static_cast<size_t>(layer.max_num_tokens * layer.top_k)),
      physical_ids_(static_cast<size_t>(layer.max_num_tokens * layer.top_k)) {}

void ReferenceLayer::forward(const moert_forward_args& args) {
  if (!experts_.weights().loaded())
    throw Error(MOERT_STATUS_FAILED_PRECONDITION, "forward before set_weights");
  const int64_t T = validate_forward_tensors(layer_, args);
  const moert_eplb_state* eplb = args.struct_size >= offsetof(moert_forward_args, eplb) + sizeof(void*) ? args.eplb : nullptr;
  int64_t max_replicas = 0;
  if (eplb) {
    max_replicas = validate_eplb_state(*eplb, layer_);
    checks::expect_host(eplb->logical_to_physical_map, "EPLB logical_to_physical_map");
  }
  if (T == 0) return;

  const auto& scb = experts_.weights().score_correction_bias;
  router_.route(args.router_logits, T, scb.empty() ? nullptr : scb.data(), topk_weights_.data(),
                logical_ids_.data());
  const int32_t* ids = logical_ids_.data();
  if (eplb) {
    eplb_map_ids(layer_, static_cast<const int32_t*>(plugin::data_ptr(eplb->logical_to_physical_map)),
                 max_replicas, static_cast<const int32_t*>(plugin::data_ptr(eplb->logical_replica_count)), T, ids,
                 physical_ids_.data(),
                 eplb->expert_load.data ? static_cast<int64_t*>(plugin::data_ptr(eplb->expert_load)) : nullptr);
    ids = physical_ids_.data();
  }
  const void* hidden = plugin::data_ptr(args.hidden_states);
  prepare_activations(layer_, hidden, T, x_.data(), nullptr, nullptr);
  const int64_t n = T * layer_.hidden_size;
  std::fill(acc_.begin(), acc_.begin() + n, 0.0f);
  experts_.compute(x_.data(), T, ids, topk_weights_.data(), nullptr, /*per_slot=*/false, acc_.data());
  if (args.shared_expert) add_shared_expert(layer_, *args.shared_expert, hidden, T, acc_.data(), shared_scratch_);
  convert_from_f32(acc_.data(), n, layer_.activation_dtype, plugin::data_ptr(args.output));
}

}  // namespace moert
