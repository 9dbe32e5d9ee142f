// Runners and experts kernels share can_implement/create/destroy contracts;
// AnyOps lets the table-level tests treat both alike.
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "combos.h"
#include "moert/moert_plugin.h"
#include "subject.h"

namespace moert_conformance {

struct AnyOps {
  std::string who;  // "runner 'default'" / "experts 'x'"
  std::function<moert_error*(const moert_layer_desc*)> can_implement;
  std::function<moert_error*(const moert_layer_desc*, void**)> create;
  std::function<void(void*)> destroy;
};

// The subject's runners, then its experts kernels.
std::vector<AnyOps> all_ops();

// First (combo, shape) of the claimed grid that `can_implement` accepts; the
// reason of the last refusal otherwise.
struct Accepted {
  bool found = false;
  std::string reason;
  int shape = 0;
  size_t combo_index = 0;
};

// The grid derived from the subject's claims (computed once).
const std::vector<Combo>& subject_combos();

// Asks can_implement for each combo (and shape) in order; the first yes wins.
// With `only` set, only that combo is tried.
Accepted find_accepted(const std::function<moert_error*(const moert_layer_desc*)>& can_implement,
                       const std::vector<Combo>& combos, const Combo* only = nullptr);

class ConformanceTest : public testing::Test {
 protected:
  void SetUp() override { MOERT_REQUIRE_LOADED(); }
};

}  // namespace moert_conformance
