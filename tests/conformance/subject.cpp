#include "subject.h"

#include <cstring>

namespace moert_conformance {

Subject& subject() {
  static Subject s;
  return s;
}

const moert_runner_ops* runner_ops(int64_t i) { return subject().api->runners[i]; }
const moert_experts_ops* experts_ops(int64_t i) { return subject().api->experts[i]; }

const moert_runner_ops* reference_runner() {
  const moert_plugin_api* r = subject().reference;
  for (int64_t i = 0; r && i < r->num_runners; ++i)
    if (std::strcmp(r->runners[i]->name, "default") == 0) return r->runners[i];
  return nullptr;
}

const moert_experts_ops* reference_experts() {
  const moert_plugin_api* r = subject().reference;
  for (int64_t i = 0; r && i < r->num_experts; ++i)
    if (std::strcmp(r->experts[i]->name, "reference") == 0) return r->experts[i];
  return nullptr;
}

}  // namespace moert_conformance
