// moert-conformance: checks a plugin .so against the moert ABI and the
// core's reference semantics.
//
//   moert-conformance path/to/libmoert-x.so [gtest flags]
//   moert-conformance --builtin [gtest flags]     (the core's own table)
//
// Exit code 0: every test passed, or the plugin's probe says this machine
// cannot run it (every test is then skipped with the probe's reason).
// Non-zero: a test failed, or the loader rejected the file for any other
// reason (Loading.FileIsAccepted says why).
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "dynamic_tests.h"
#include "moert/builtin.h"
#include "moert/loader.h"
#include "subject.h"

namespace {

void usage() {
  std::fprintf(stderr,
               "usage: moert-conformance <path/to/libmoert-NAME.so | --builtin> [gtest flags]\n"
               "  Loads the plugin like the moert runtime does and checks its table, attributes,\n"
               "  error protocol, argument checking, can_implement answers, forward results\n"
               "  against the core's reference, concurrency and create/destroy leaks.\n");
}

}  // namespace

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);  // removes the gtest flags
  if (argc != 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0) {
    usage();
    return argc == 2 ? 0 : 2;
  }
  using namespace moert_conformance;
  Subject& s = subject();
  const moert_host_services* services = moert::default_host_services();

  moert::LoadOutcome reference =
      moert::load_plugin_entry(moert_builtin_plugin_entry, "<builtin>", services);
  if (reference.kind != moert::RejectKind::kNone) {
    std::fprintf(stderr, "moert-conformance: the core's built-in reference did not load: %s\n",
                 reference.reason.c_str());
    return 2;
  }
  s.reference = reference.plugin->api;

  moert::LoadOutcome outcome;
  if (std::strcmp(argv[1], "--builtin") == 0) {
    s.label = "<builtin>";
    outcome = reference;
    s.reference_is_subject = true;
  } else {
    s.label = argv[1];
    outcome = moert::load_plugin_file(argv[1], services);
  }
  s.reject_kind = outcome.kind;
  s.reason = outcome.reason;
  if (outcome.kind == moert::RejectKind::kNone) {
    s.state = SubjectState::kLoaded;
    s.api = outcome.plugin->api;
    std::printf("moert-conformance: %s: plugin '%s' %s (%s), ABI %u.%u, %lld runner(s), %lld experts kernel(s)\n",
                s.label.c_str(), s.api->name, s.api->version, s.api->vendor ? s.api->vendor : "",
                s.api->abi_major, s.api->abi_minor, static_cast<long long>(s.api->num_runners),
                static_cast<long long>(s.api->num_experts));
    if (s.reference_is_subject)
      std::printf("moert-conformance: note: the subject is the reference itself; forward results "
                  "are checked for completeness and consistency, not against an independent oracle\n");
    register_dynamic_tests();
  } else if (outcome.kind == moert::RejectKind::kProbeUnusable) {
    s.state = SubjectState::kUnusable;
    std::printf("moert-conformance: %s: not usable on this machine, every test is skipped: %s\n",
                s.label.c_str(), outcome.reason.c_str());
  } else {
    s.state = SubjectState::kRejected;
    std::printf("moert-conformance: %s: REJECTED (%s): %s\n", s.label.c_str(),
                moert::reject_kind_name(outcome.kind), outcome.reason.c_str());
  }

  int rc = RUN_ALL_TESTS();

  // Explicit shutdown (never from a static destructor), subject first.
  if (s.state == SubjectState::kLoaded && !s.reference_is_subject) {
    moert_error* e = s.api->shutdown();
    if (e) {
      std::fprintf(stderr, "moert-conformance: plugin shutdown failed: %s\n",
                   s.api->error_message(e));
      s.api->error_destroy(e);
      rc = 1;
    }
  }
  moert_error* e = s.reference->shutdown();
  if (e) s.reference->error_destroy(e);
  return rc;
}
