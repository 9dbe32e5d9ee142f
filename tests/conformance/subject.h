// The plugin under test ("the subject") and the reference it is compared
// with (the core's built-in plugin), loaded once by main() before the tests.
#pragma once

#include <string>

#include "moert/loader.h"
#include "moert/moert_plugin.h"

namespace moert_conformance {

enum class SubjectState {
  kLoaded,    // every test runs
  kUnusable,  // the probe said "not usable here": every test skips with its reason
  kRejected   // the loader refused the file: Loading.* fails with the reason
};

struct Subject {
  std::string label;  // the path, or "<builtin>"
  SubjectState state = SubjectState::kRejected;
  std::string reason;  // probe reason or rejection reason
  moert::RejectKind reject_kind = moert::RejectKind::kNone;
  const moert_plugin_api* api = nullptr;        // when loaded
  const moert_plugin_api* reference = nullptr;  // the built-in plugin's table
  bool reference_is_subject = false;            // --builtin
};

// Set by main(); read by every test.
Subject& subject();

// The plugin's runner / experts ops by index, and their names for messages.
const moert_runner_ops* runner_ops(int64_t i);
const moert_experts_ops* experts_ops(int64_t i);
const moert_runner_ops* reference_runner();    // the built-in "default"
const moert_experts_ops* reference_experts();  // the built-in "reference"

// In SetUp(): skips (probe unusable) or skips with "not loaded" (rejected).
#define MOERT_REQUIRE_LOADED()                                                                  \
  do {                                                                                          \
    const auto& s_ = ::moert_conformance::subject();                                            \
    if (s_.state == ::moert_conformance::SubjectState::kUnusable)                               \
      GTEST_SKIP() << "plugin not usable on this machine (probe): " << s_.reason;               \
    if (s_.state == ::moert_conformance::SubjectState::kRejected)                               \
      GTEST_SKIP() << "plugin was rejected by the loader (see Loading.FileIsAccepted)";         \
  } while (0)

}  // namespace moert_conformance
