// The built-in experts kernel "reference" (finalize_mode BY_CORE): per-slot
// unweighted expert outputs on the CPU, for the core's modular pipeline.
#include <memory>
#include <vector>

#include "builtin/entry_guard.h"
#include "moert/host_tensor.h"
#include "moert/layer_config.h"
#include "moert/quant.h"
#include "moert/reference.h"
#include "reference/tensor_checks.h"

namespace moert {
namespace builtin {

namespace {

struct ReferenceExpertsInstance {
  explicit ReferenceExpertsInstance(const LayerConfig& c)
      : experts(c), x(static_cast<size_t>(c.max_num_tokens * c.hidden_size)) {}
  ReferenceExperts experts;
  std::vector<float> x;
};

ReferenceExpertsInstance* self(moert_experts* e) {
  if (e == nullptr) throw Error("experts handle is NULL");
  return reinterpret_cast<ReferenceExpertsInstance*>(e);
}

moert_error* can_implement(const moert_layer_desc* layer) {
  return core_guard("reference.can_implement", [&]() -> moert_error* {
    layer_config_from_desc(layer);
    return nullptr;
  });
}

moert_error* create(const moert_layer_desc* layer, int32_t device_id, moert_experts** out) {
  return core_guard("reference.create", [&]() -> moert_error* {
    if (out == nullptr) throw Error("out is NULL");
    *out = nullptr;
    if (device_id != 0) throw Error("device_id=" + std::to_string(device_id) + ": the core CPU plugin has device 0 only");
    auto e = std::make_unique<ReferenceExpertsInstance>(layer_config_from_desc(layer));
    *out = reinterpret_cast<moert_experts*>(e.release());
    return nullptr;
  });
}

void destroy(moert_experts* e) { delete reinterpret_cast<ReferenceExpertsInstance*>(e); }

moert_error* workspace_size(moert_experts* e, int64_t max_num_tokens, size_t* out_bytes) {
  return core_guard("reference.workspace_size", [&]() -> moert_error* {
    self(e);
    if (out_bytes == nullptr) throw Error("out_bytes is NULL");
    if (max_num_tokens < 0) throw Error("max_num_tokens=" + std::to_string(max_num_tokens) + " must be >= 0");
    *out_bytes = 0;
    return nullptr;
  });
}

moert_error* set_weights(moert_experts* e, const moert_expert_weights* w) {
  return core_guard("reference.set_weights", [&]() -> moert_error* {
    if (w == nullptr) throw Error("weights is NULL");
    self(e)->experts.set_weights(*w);
    return nullptr;
  });
}

moert_error* apply(moert_experts* handle, const moert_experts_args* a) {
  return core_guard("reference.apply", [&]() -> moert_error* {
    if (a == nullptr) throw Error("args is NULL");
    if (a->struct_size < sizeof(moert_experts_args))
      throw Error("experts args struct_size " + std::to_string(a->struct_size) + " is smaller than " +
                  std::to_string(sizeof(moert_experts_args)));
    ReferenceExpertsInstance* in = self(handle);
    const LayerConfig& L = in->experts.layer();
    if (!in->experts.weights().loaded()) throw Error(MOERT_STATUS_FAILED_PRECONDITION, "apply before set_weights");
    const moert_tensor& hs = a->hidden_states;
    if (hs.ndim != 2 || hs.shape == nullptr)
      throw Error("hidden_states must be 2-D [T, hidden_size=" + std::to_string(L.hidden_size) + "]");
    const int64_t T = hs.shape[0];
    if (T < 0 || T > L.max_num_tokens)
      throw Error("hidden_states has T=" + std::to_string(T) + "; allowed [0, max_num_tokens=" +
                  std::to_string(L.max_num_tokens) + "]");
    if (T == 0) return nullptr;
    const int64_t H = L.hidden_size;
    const int32_t K = L.top_k;
    const bool fp8 = L.activation_quant == MOERT_ACT_QUANT_FP8_PER_TOKEN;
    const std::string th = "[T, hidden_size=" + std::to_string(H) + "]";
    checks::expect(hs, "hidden_states", {fp8 ? kFP8E4M3 : L.activation_dtype}, {T, H}, th);
    const std::string tk = "[T=" + std::to_string(T) + ", top_k=" + std::to_string(K) + "]";
    checks::expect(a->topk_ids, "topk_ids", {kI32}, {T, K}, tk);
    checks::expect(a->output, "output", {kF32}, {T, K, H},
                   "[T=" + std::to_string(T) + ", top_k=" + std::to_string(K) + ", hidden_size=" +
                       std::to_string(H) + "] f32 (finalize BY_CORE)");
    const int32_t* map = nullptr;
    if (a->expert_map.data != nullptr) {
      checks::expect(a->expert_map, "expert_map", {kI32}, {L.num_physical()},
                     "[physical experts=" + std::to_string(L.num_physical()) + "]");
      map = static_cast<const int32_t*>(plugin::data_ptr(a->expert_map));
    }
    float* x = in->x.data();
    const void* hp = plugin::data_ptr(hs);
    if (fp8) {
      checks::expect(a->hidden_scale, "hidden_scale", {kF32}, {T}, "[T=" + std::to_string(T) + "] (fp8_per_token)");
      const float* s = static_cast<const float*>(plugin::data_ptr(a->hidden_scale));
      const uint8_t* q = static_cast<const uint8_t*>(hp);
      for (int64_t t = 0; t < T; ++t)
        for (int64_t j = 0; j < H; ++j) x[t * H + j] = fp8_e4m3_to_f32(q[t * H + j]) * s[t];
    } else {
      convert_to_f32(hp, L.activation_dtype, T * H, x);
    }
    in->experts.compute(x, T, static_cast<const int32_t*>(plugin::data_ptr(a->topk_ids)), nullptr, map,
                        /*per_slot=*/true, static_cast<float*>(plugin::data_ptr(a->output)));
    return nullptr;
  });
}

}  // namespace

const moert_experts_ops kReferenceExpertsOps = {
    sizeof(moert_experts_ops), "reference", MOERT_FINALIZE_BY_CORE, 0, can_implement, create, destroy,
    workspace_size, set_weights, apply,
};

}  // namespace builtin
}  // namespace moert
