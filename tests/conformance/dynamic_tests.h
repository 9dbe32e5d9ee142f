// Tests that depend on what the loaded plugin registers and claims: one
// forward test per (runner, claimed combination), one apply test per
// (experts kernel, combination), and per runner: expert map, shared expert,
// threads, repeated create/destroy. Registered at start-up by main().
#pragma once

namespace moert_conformance {

void register_dynamic_tests();

}  // namespace moert_conformance
