// libmoert-test-good.so: a small but complete and correct CPU plugin.
//   - registers the runner "default" (replacing the core's default runner
//     when loaded) and the experts kernel "test-good-experts";
//   - implements the whole error protocol through moert_plugin.hpp;
//   - implements the memory and stream calls on host memory (NULL streams).
// It is what the conformance suite must pass; the tests of the registry use
// it to show that a plugin's "default" overrides the core's.
#include <atomic>

#include "cpu_moe.h"
#include "host_device.h"
#include "moert/moert_plugin.hpp"

namespace {

using moert::plugin::guard;
using moert::plugin::make_error;
using moert_test_good::CpuMoe;

const moert_host_services* g_services = nullptr;
std::atomic<bool> g_initialized{false};

// The opaque instance types of the ABI are, here, one CpuMoe each.
struct RunnerBox { CpuMoe moe; };
struct ExpertsBox { CpuMoe moe; };

// ---------------- runner "default" ----------------
moert_error* runner_can_implement(const moert_layer_desc* layer) {
  return guard("test-good can_implement",
               [&] { return moert_test_good::check_layer("test-good can_implement", layer); });
}

moert_error* runner_create(const moert_layer_desc* layer, int32_t device_id, moert_runner** out) {
  return guard("test-good create", [&]() -> moert_error* {
    if (out == nullptr) return make_error(MOERT_STATUS_INVALID_ARGUMENT, "test-good create: out is NULL");
    *out = nullptr;
    if (device_id != 0)
      return make_error(MOERT_STATUS_INVALID_ARGUMENT,
                        "test-good create: device_id %d, the host CPU is device 0", device_id);
    if (auto* e = moert_test_good::check_layer("test-good create", layer)) return e;
    *out = reinterpret_cast<moert_runner*>(new RunnerBox{CpuMoe(*layer)});
    return nullptr;
  });
}

void runner_destroy(moert_runner* r) { delete reinterpret_cast<RunnerBox*>(r); }

moert_error* runner_workspace_size(moert_runner* r, int64_t max_num_tokens, size_t* out) {
  return guard("test-good workspace_size", [&]() -> moert_error* {
    if (r == nullptr || out == nullptr || max_num_tokens < 0)
      return make_error(MOERT_STATUS_INVALID_ARGUMENT,
                        "test-good workspace_size: NULL runner/out or negative token count");
    *out = reinterpret_cast<RunnerBox*>(r)->moe.workspace_bytes();
    return nullptr;
  });
}

moert_error* runner_set_weights(moert_runner* r, const moert_expert_weights* w) {
  return guard("test-good set_weights", [&]() -> moert_error* {
    if (r == nullptr) return make_error(MOERT_STATUS_INVALID_ARGUMENT, "test-good set_weights: runner is NULL");
    return reinterpret_cast<RunnerBox*>(r)->moe.set_weights(w);
  });
}

moert_error* runner_forward(moert_runner* r, const moert_forward_args* args) {
  return guard("test-good forward", [&]() -> moert_error* {
    if (r == nullptr) return make_error(MOERT_STATUS_INVALID_ARGUMENT, "test-good forward: runner is NULL");
    const CpuMoe& moe = reinterpret_cast<RunnerBox*>(r)->moe;
    if (auto* e = moe.check_forward(args)) return e;
    moe.compute_forward(*args);
    return nullptr;
  });
}

const moert_runner_ops kRunner = {
    sizeof(moert_runner_ops), "default",      runner_can_implement, runner_create,
    runner_destroy,           runner_workspace_size, runner_set_weights,  runner_forward};

// ---------------- experts kernel "test-good-experts" ----------------
moert_error* experts_can_implement(const moert_layer_desc* layer) {
  return guard("test-good-experts can_implement", [&] {
    return moert_test_good::check_layer("test-good-experts can_implement", layer);
  });
}

moert_error* experts_create(const moert_layer_desc* layer, int32_t device_id, moert_experts** out) {
  return guard("test-good-experts create", [&]() -> moert_error* {
    if (out == nullptr) return make_error(MOERT_STATUS_INVALID_ARGUMENT, "test-good-experts create: out is NULL");
    *out = nullptr;
    if (device_id != 0)
      return make_error(MOERT_STATUS_INVALID_ARGUMENT,
                        "test-good-experts create: device_id %d, the host CPU is device 0", device_id);
    if (auto* e = moert_test_good::check_layer("test-good-experts create", layer)) return e;
    *out = reinterpret_cast<moert_experts*>(new ExpertsBox{CpuMoe(*layer)});
    return nullptr;
  });
}

void experts_destroy(moert_experts* x) { delete reinterpret_cast<ExpertsBox*>(x); }

moert_error* experts_workspace_size(moert_experts* x, int64_t max_num_tokens, size_t* out) {
  return guard("test-good-experts workspace_size", [&]() -> moert_error* {
    if (x == nullptr || out == nullptr || max_num_tokens < 0)
      return make_error(MOERT_STATUS_INVALID_ARGUMENT,
                        "test-good-experts workspace_size: NULL experts/out or negative token count");
    *out = reinterpret_cast<ExpertsBox*>(x)->moe.workspace_bytes();
    return nullptr;
  });
}

moert_error* experts_set_weights(moert_experts* x, const moert_expert_weights* w) {
  return guard("test-good-experts set_weights", [&]() -> moert_error* {
    if (x == nullptr) return make_error(MOERT_STATUS_INVALID_ARGUMENT, "test-good-experts set_weights: experts is NULL");
    return reinterpret_cast<ExpertsBox*>(x)->moe.set_weights(w);
  });
}

moert_error* experts_apply(moert_experts* x, const moert_experts_args* args) {
  return guard("test-good-experts apply", [&]() -> moert_error* {
    if (x == nullptr) return make_error(MOERT_STATUS_INVALID_ARGUMENT, "test-good-experts apply: experts is NULL");
    const CpuMoe& moe = reinterpret_cast<ExpertsBox*>(x)->moe;
    if (auto* e = moe.check_apply(args)) return e;
    moe.compute_apply(*args);
    return nullptr;
  });
}

const moert_experts_ops kExperts = {
    sizeof(moert_experts_ops), "test-good-experts", MOERT_FINALIZE_IN_KERNEL, 0,
    experts_can_implement,     experts_create,      experts_destroy,
    experts_workspace_size,    experts_set_weights, experts_apply};

// ---------------- table-level calls ----------------
int32_t probe(char* reason, size_t capacity) {
  // Plain C++ on any x86-64/aarch64 host: always usable.
  if (reason && capacity) reason[0] = '\0';
  return 1;
}

moert_error* initialize(const moert_host_services* services) {
  return guard("test-good initialize", [&]() -> moert_error* {
    g_services = services;
    g_initialized = true;
    if (services && services->log)
      services->log(services->host_context, MOERT_LOG_DEBUG, "test-good", "initialized");
    return nullptr;
  });
}

moert_error* shutdown() {
  // Every call is synchronous on the CPU: nothing is outstanding.
  g_initialized = false;
  g_services = nullptr;
  return nullptr;
}

const moert_kv kAttributes[] = {
    {"dtypes", "f32,bf16"},
    {"weight_dtypes", "f32,bf16"},
    {"activations", "silu_and_mul,gelu_and_mul"},
    {"routers", "softmax_topk,sigmoid_topk"},
    {"quant_schemes", "none"},
    {"features", "bias,shared_expert,expert_map"},
    {"toolchain", MOERT_TEST_TOOLCHAIN},
    {"device_runtime", "host"},
};

const moert_kv* attributes(size_t* count) {
  if (count) *count = sizeof kAttributes / sizeof kAttributes[0];
  return kAttributes;
}

const moert_runner_ops* const kRunners[] = {&kRunner};
const moert_experts_ops* const kExpertsList[] = {&kExperts};

moert_plugin_api make_table() {
  moert_plugin_api t{};
  t.struct_size = sizeof(moert_plugin_api);
  t.abi_major = MOERT_ABI_MAJOR;
  t.abi_minor = MOERT_ABI_MINOR;
  t.name = "test-good";
  t.version = "1.0.0";
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
  t.num_experts = 1;
  t.experts = kExpertsList;
  // ABI 1.1 event and graph calls: optional, left NULL (no device timing on the host).
  return t;
}

}  // namespace

extern "C" MOERT_PLUGIN_EXPORT const moert_plugin_api* moert_plugin_entry_v1(
    uint32_t host_abi_major, uint32_t host_abi_minor, const moert_host_services* services) {
  // The host checks the versions in the table (and prints both on a
  // mismatch), so the table is returned whatever the host's version.
  (void)host_abi_major;
  (void)host_abi_minor;
  (void)services;  // the same table comes again in initialize()
  static const moert_plugin_api table = make_table();
  return &table;
}
