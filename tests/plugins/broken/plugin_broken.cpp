// libmoert-test-broken.so: loads and runs, but breaks the contract in three
// ways the conformance suite must catch and explain:
//   1. its runner "broken" forgets to renormalize the top-k weights;
//   2. can_implement says yes to everything, malformed layers included;
//   3. forward ignores a bad shape (it drops argument errors and computes).
// Everything else (error protocol, memory calls, create/destroy) is the
// test-good implementation, so that each failure has exactly one cause.
#include "../good/cpu_moe.h"
#include "../good/host_device.h"
#include "moert/moert_plugin.hpp"

namespace {

using moert::plugin::guard;
using moert::plugin::make_error;
using moert_test_good::CpuMoe;

struct RunnerBox { CpuMoe moe; };

// Flaw 2: no check at all.
moert_error* can_implement(const moert_layer_desc*) { return nullptr; }

moert_error* create(const moert_layer_desc* layer, int32_t device_id, moert_runner** out) {
  return guard("test-broken create", [&]() -> moert_error* {
    if (out == nullptr) return make_error(MOERT_STATUS_INVALID_ARGUMENT, "test-broken create: out is NULL");
    *out = nullptr;
    if (device_id != 0)
      return make_error(MOERT_STATUS_INVALID_ARGUMENT, "test-broken create: device_id %d", device_id);
    if (auto* e = moert_test_good::check_layer("test-broken create", layer)) return e;
    moert_layer_desc copy = *layer;
    copy.renormalize = 0;  // Flaw 1: the routing weights keep their softmax mass.
    *out = reinterpret_cast<moert_runner*>(new RunnerBox{CpuMoe(copy)});
    return nullptr;
  });
}

void destroy(moert_runner* r) { delete reinterpret_cast<RunnerBox*>(r); }

moert_error* workspace_size(moert_runner* r, int64_t, size_t* out) {
  if (r == nullptr || out == nullptr)
    return make_error(MOERT_STATUS_INVALID_ARGUMENT, "test-broken workspace_size: NULL argument");
  *out = reinterpret_cast<RunnerBox*>(r)->moe.workspace_bytes();
  return nullptr;
}

moert_error* set_weights(moert_runner* r, const moert_expert_weights* w) {
  return guard("test-broken set_weights", [&]() -> moert_error* {
    if (r == nullptr) return make_error(MOERT_STATUS_INVALID_ARGUMENT, "test-broken set_weights: NULL runner");
    return reinterpret_cast<RunnerBox*>(r)->moe.set_weights(w);
  });
}

moert_error* forward(moert_runner* r, const moert_forward_args* args) {
  return guard("test-broken forward", [&]() -> moert_error* {
    if (r == nullptr || args == nullptr)
      return make_error(MOERT_STATUS_INVALID_ARGUMENT, "test-broken forward: NULL argument");
    const CpuMoe& moe = reinterpret_cast<RunnerBox*>(r)->moe;
    // Flaw 3: only "no weights yet" stops the forward; shape, dtype and
    // token-count errors are dropped. (The weights check stays so that the
    // plugin does not crash the suite: the flaw must show as a message.)
    if (moert_error* e = moe.check_forward(args)) {
      if (moert::plugin::error_code(e) == MOERT_STATUS_FAILED_PRECONDITION ||
          args->workspace.data == nullptr)
        return e;
      moert::plugin::error_destroy(e);
    }
    moe.compute_forward(*args);
    return nullptr;
  });
}

const moert_runner_ops kRunner = {sizeof(moert_runner_ops), "broken", can_implement, create,
                                  destroy, workspace_size, set_weights, forward};
const moert_runner_ops* const kRunners[] = {&kRunner};

int32_t probe(char* reason, size_t capacity) {
  if (reason && capacity) reason[0] = '\0';
  return 1;
}
moert_error* initialize(const moert_host_services*) { return nullptr; }
moert_error* shutdown() { return nullptr; }

// Claims what test-good does (the suite tests what is claimed).
const moert_kv kAttributes[] = {
    {"dtypes", "f32,bf16"},
    {"weight_dtypes", "f32,bf16"},
    {"activations", "silu_and_mul,gelu_and_mul"},
    {"routers", "softmax_topk,sigmoid_topk"},
    {"quant_schemes", "none"},
    {"features", "bias,expert_map"},
    {"toolchain", MOERT_TEST_TOOLCHAIN},
};
const moert_kv* attributes(size_t* count) {
  if (count) *count = sizeof kAttributes / sizeof kAttributes[0];
  return kAttributes;
}

moert_plugin_api make_table() {
  moert_plugin_api t{};
  t.struct_size = sizeof(moert_plugin_api);
  t.abi_major = MOERT_ABI_MAJOR;
  t.abi_minor = MOERT_ABI_MINOR;
  t.name = "test-broken";
  t.version = "0.0.1";
  t.vendor = "moert tests";
  t.device_type = MOERT_DEVICE_CPU;
  t.probe = probe;
  t.initialize = initialize;
  t.shutdown = shutdown;
  t.error_code = moert::plugin::error_code;
  t.error_message = moert::plugin::error_message;
  t.error_destroy = moert::plugin::error_destroy;
  t.attributes = attributes;
  moert_test_good::fill_host_device_calls(&t);
  t.num_runners = 1;
  t.runners = kRunners;
  return t;
}

}  // namespace

extern "C" MOERT_PLUGIN_EXPORT const moert_plugin_api* moert_plugin_entry_v1(
    uint32_t, uint32_t, const moert_host_services*) {
  static const moert_plugin_api table = make_table();
  return &table;
}
