#include "any_ops.h"

#include "device.h"

namespace moert_conformance {

std::vector<AnyOps> all_ops() {
  std::vector<AnyOps> out;
  const moert_plugin_api* api = subject().api;
  for (int64_t i = 0; i < api->num_runners; ++i) {
    const moert_runner_ops* r = api->runners[i];
    out.push_back({std::string("runner '") + r->name + "'", r->can_implement,
                   [r](const moert_layer_desc* l, void** out_) {
                     return r->create(l, 0, reinterpret_cast<moert_runner**>(out_));
                   },
                   [r](void* p) { r->destroy(static_cast<moert_runner*>(p)); }});
  }
  for (int64_t i = 0; i < api->num_experts; ++i) {
    const moert_experts_ops* x = api->experts[i];
    out.push_back({std::string("experts '") + x->name + "'", x->can_implement,
                   [x](const moert_layer_desc* l, void** out_) {
                     return x->create(l, 0, reinterpret_cast<moert_experts**>(out_));
                   },
                   [x](void* p) { x->destroy(static_cast<moert_experts*>(p)); }});
  }
  return out;
}

const std::vector<Combo>& subject_combos() {
  static const std::vector<Combo> combos =
      claimed_combos(read_claims(subject().api), subject().api->abi_minor);
  return combos;
}

Accepted find_accepted(const std::function<moert_error*(const moert_layer_desc*)>& can_implement,
                       const std::vector<Combo>& combos, const Combo* only) {
  Accepted a;
  for (size_t i = 0; i < combos.size(); ++i) {
    if (only && combos[i].id() != only->id()) continue;
    for (int shape = 0; shape < kNumShapes; ++shape) {
      moert::LayerSpec layer = make_layer(combos[i], shape);
      moert_error* e = can_implement(layer.c_desc());
      if (e == nullptr) {
        a.found = true;
        a.shape = shape;
        a.combo_index = i;
        return a;
      }
      a.reason = take_error(subject().api, e);
    }
  }
  return a;
}

}  // namespace moert_conformance
