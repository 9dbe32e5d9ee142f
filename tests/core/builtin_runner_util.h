// Test helper (CORE-B tests): the core's built-in plugin table, initialized
// once, and RunnerInstances of its "default" runner.
#pragma once

#include <cstring>
#include <memory>
#include <stdexcept>

#include "moert/builtin.h"
#include "moert/error.h"
#include "moert/layer_spec.h"
#include "moert/runner_instance.h"

namespace moert_test {

inline void quiet_log(void*, int32_t, const char*, const char*) {}

inline const moert_plugin_api* builtin_api() {
  static const moert_plugin_api* api = [] {
    static moert_host_services services{};
    services.struct_size = sizeof services;
    services.abi_major = MOERT_ABI_MAJOR;
    services.abi_minor = MOERT_ABI_MINOR;
    services.log = quiet_log;
    const moert_plugin_api* a = moert_builtin_plugin_entry(MOERT_ABI_MAJOR, MOERT_ABI_MINOR, &services);
    if (a == nullptr) throw std::runtime_error("built-in plugin entry returned NULL");
    if (a->initialize) moert::check(a, a->initialize(&services), "built-in initialize");
    return a;
  }();
  return api;
}

inline const moert_runner_ops* builtin_runner(const char* name = "default") {
  const moert_plugin_api* api = builtin_api();
  for (int64_t i = 0; i < api->num_runners; ++i)
    if (std::strcmp(api->runners[i]->name, name) == 0) return api->runners[i];
  throw std::runtime_error(std::string("built-in plugin has no runner '") + name + "'");
}

inline std::unique_ptr<moert::RunnerInstance> make_default_runner(const moert::LayerSpec& layer) {
  return std::make_unique<moert::RunnerInstance>(builtin_api(), builtin_runner(), *layer.c_desc());
}

}  // namespace moert_test
