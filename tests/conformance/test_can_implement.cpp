// can_implement answers over a grid of layers, and claims versus answers.
#include <map>

#include "any_ops.h"
#include "device.h"

namespace moert_conformance {
namespace {

using CanImplement = ConformanceTest;

// Every known name, whatever the plugin claims.
Claims everything() {
  Claims all;
  for (const auto& [key, values] : known_attribute_values()) all[key] = values;
  all["features"] = {"bias", "interleaved_gate_up"};
  return all;
}

TEST_F(CanImplement, AnswersAreWellFormedAndStable) {
  const moert_plugin_api* api = subject().api;
  const auto grid = claimed_combos(everything(), api->abi_minor);
  for (const AnyOps& ops : all_ops()) {
    int yes = 0, no = 0;
    for (const Combo& c : grid) {
      moert::LayerSpec layer = make_layer(c, 0);
      int32_t code1 = 0, code2 = 0;
      const std::string first = take_error(api, ops.can_implement(layer.c_desc()), &code1);
      const std::string second = take_error(api, ops.can_implement(layer.c_desc()), &code2);
      EXPECT_EQ(code1, code2) << ops.who << " can_implement changed its answer for " << c.name()
                              << ": '" << first << "' then '" << second << "'";
      if (code1 == MOERT_STATUS_OK) {
        ++yes;
        continue;
      }
      ++no;
      EXPECT_TRUE(code1 == MOERT_STATUS_UNIMPLEMENTED || code1 == MOERT_STATUS_INVALID_ARGUMENT)
          << ops.who << " can_implement(" << c.name() << ") answered " << first
          << "; a refusal of a layer is UNIMPLEMENTED (or INVALID_ARGUMENT)";
    }
    std::printf("  %s: can_implement yes for %d, no for %d of %zu grid layers\n", ops.who.c_str(),
                yes, no, grid.size());
  }
}

// A value the plugin claims must be accepted in at least one layer by at
// least one of its runners/kernels; otherwise the claim is false.
TEST_F(CanImplement, EveryClaimedValueIsAcceptedSomewhere) {
  const auto& combos = subject_combos();
  if (combos.empty()) GTEST_SKIP() << "the attributes claim no complete combination";
  std::map<std::string, std::string> unaccepted;  // "dtypes=f16" -> last reason
  std::map<std::string, bool> accepted;
  auto keys_of = [](const Combo& c) {
    return std::vector<std::string>{
        "dtypes=" + moert::dtype_name(c.act_dtype),
        "weight format=" + moert::dtype_name(c.weight_dtype) + ":" + moert::quant_scheme_name(c.quant_scheme),
        "activations=" + std::string(moert::activation_name(c.activation)),
        "routers=" + c.router};
  };
  const auto ops_list = all_ops();
  for (const Combo& c : combos) {
    bool yes = false;
    std::string reason;
    for (const AnyOps& ops : ops_list) {
      Accepted a = find_accepted(ops.can_implement, combos, &c);
      if (a.found) { yes = true; break; }
      reason = ops.who + ": " + a.reason;
    }
    for (const auto& k : keys_of(c)) {
      if (yes) accepted[k] = true;
      else if (!accepted.count(k)) unaccepted[k] = reason;
    }
  }
  for (const auto& [k, reason] : unaccepted)
    if (!accepted.count(k))
      ADD_FAILURE() << "the attributes claim " << k << " but no runner or experts kernel accepts any "
                    << "layer with it; last refusal: " << reason;
}

}  // namespace
}  // namespace moert_conformance
