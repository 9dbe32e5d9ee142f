// core_guard: the built-in plugin's wrapper around every entry point. A
// moert::Error keeps its status code; anything else goes through guard().
#pragma once

#include "moert/error.h"
#include "moert/moert_plugin.hpp"

namespace moert {
namespace builtin {

template <class Fn>
moert_error* core_guard(const char* where, Fn&& fn) noexcept {
  return plugin::guard(where, [&]() -> moert_error* {
    try {
      return fn();
    } catch (const Error& e) {
      return plugin::make_error(e.code(), "%s: %s", where, e.what());
    }
  });
}

extern const moert_runner_ops kDefaultRunnerOps;
extern const moert_experts_ops kReferenceExpertsOps;

}  // namespace builtin
}  // namespace moert
