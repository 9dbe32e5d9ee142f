// The built-in runner "default": the whole layer on the CPU reference.
#include <memory>

#include "builtin/entry_guard.h"
#include "moert/layer_config.h"
#include "moert/reference_layer.h"

namespace moert {
namespace builtin {

namespace {

// The object behind the opaque moert_runner handle.
struct DefaultRunner {
  explicit DefaultRunner(const LayerConfig& c) : layer(c) {}
  ReferenceLayer layer;
};

DefaultRunner* self(moert_runner* r) {
  if (r == nullptr) throw Error("runner handle is NULL");
  return reinterpret_cast<DefaultRunner*>(r);
}

moert_error* can_implement(const moert_layer_desc* layer) {
  return core_guard("default.can_implement", [&]() -> moert_error* {
    layer_config_from_desc(layer);  // the reference does every valid layer
    return nullptr;
  });
}

moert_error* create(const moert_layer_desc* layer, int32_t device_id, moert_runner** out) {
  return core_guard("default.create", [&]() -> moert_error* {
    if (out == nullptr) throw Error("out is NULL");
    *out = nullptr;
    if (device_id != 0) throw Error("device_id=" + std::to_string(device_id) + ": the core CPU plugin has device 0 only");
    auto r = std::make_unique<DefaultRunner>(layer_config_from_desc(layer));
    *out = reinterpret_cast<moert_runner*>(r.release());
    return nullptr;
  });
}

void destroy(moert_runner* r) { delete reinterpret_cast<DefaultRunner*>(r); }

moert_error* workspace_size(moert_runner* r, int64_t max_num_tokens, size_t* out_bytes) {
  return core_guard("default.workspace_size", [&]() -> moert_error* {
    self(r);
    if (out_bytes == nullptr) throw Error("out_bytes is NULL");
    if (max_num_tokens < 0) throw Error("max_num_tokens=" + std::to_string(max_num_tokens) + " must be >= 0");
    *out_bytes = 0;  // scratch is owned by the instance, sized at create
    return nullptr;
  });
}

moert_error* set_weights(moert_runner* r, const moert_expert_weights* w) {
  return core_guard("default.set_weights", [&]() -> moert_error* {
    if (w == nullptr) throw Error("weights is NULL");
    self(r)->layer.set_weights(*w);
    return nullptr;
  });
}

moert_error* forward(moert_runner* r, const moert_forward_args* args) {
  return core_guard("forward", [&]() -> moert_error* {
    if (args == nullptr) throw Error("args is NULL");
    self(r)->layer.forward(*args);
    return nullptr;
  });
}

}  // namespace

const moert_runner_ops kDefaultRunnerOps = {
    sizeof(moert_runner_ops), "default", can_implement, create, destroy, workspace_size, set_weights, forward,
};

}  // namespace builtin
}  // namespace moert
