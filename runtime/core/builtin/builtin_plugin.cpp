// The core's built-in plugin table "core" (CPU): the reference runner
// "default" and the reference experts kernel "reference", behind the same C
// ABI as any .so plugin. Memory and streams are plain host memory.
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>

#include "builtin/entry_guard.h"
#include "moert/builtin.h"

namespace moert {
namespace builtin {

namespace {

std::atomic<const moert_host_services*> g_services{nullptr};

void require_device0(int32_t device_id) {
  if (device_id != 0)
    throw Error("device_id=" + std::to_string(device_id) + ": the core CPU plugin has device 0 only");
}

int32_t probe(char* reason, size_t capacity) {
  if (reason && capacity) reason[0] = '\0';
  return 1;  // plain C++ on the host: always usable
}

moert_error* initialize(const moert_host_services* services) {
  return core_guard("core.initialize", [&]() -> moert_error* {
    g_services.store(services);
    return nullptr;
  });
}

moert_error* shutdown() {
  g_services.store(nullptr);
  return nullptr;
}

#ifdef __clang__
#define MOERT_CORE_TOOLCHAIN "clang " __clang_version__
#elif defined(__GNUC__)
#define MOERT_CORE_TOOLCHAIN "gcc " __VERSION__
#else
#define MOERT_CORE_TOOLCHAIN "unknown"
#endif

const moert_kv kAttributes[] = {
    {"dtypes", "f32,bf16,f16"},
    {"weight_dtypes", "f32,bf16,f16,fp8_e4m3,fp4_e2m1"},
    {"activations", "silu_and_mul,gelu_and_mul,gelu_tanh_and_mul,swigluoai,silu,gelu,relu2"},
    {"routers", "softmax_topk,sigmoid_topk,grouped_topk,custom"},
    {"quant_schemes", "none,fp8_per_tensor,fp8_per_channel,fp8_block128,mxfp4"},
    {"activation_quant", "none,fp8_per_token"},
    {"features", "bias,shared_expert,expert_map,eplb,interleaved_gate_up,zero_tokens"},
    {"toolchain", MOERT_CORE_TOOLCHAIN},
    {"device_runtime", "host"},
};

const moert_kv* attributes(size_t* count) {
  if (count) *count = sizeof(kAttributes) / sizeof(kAttributes[0]);
  return kAttributes;
}

moert_error* device_alloc(int32_t device_id, size_t bytes, void** out) {
  return core_guard("core.device_alloc", [&]() -> moert_error* {
    require_device0(device_id);
    if (out == nullptr) throw Error("out is NULL");
    // 64-byte aligned; a zero-byte request still gets a unique pointer.
    const size_t rounded = ((bytes == 0 ? 1 : bytes) + 63) / 64 * 64;
    *out = std::aligned_alloc(64, rounded);
    if (*out == nullptr)
      return plugin::make_error(MOERT_STATUS_OUT_OF_MEMORY, "core.device_alloc: %zu bytes", bytes);
    return nullptr;
  });
}

moert_error* device_free(int32_t device_id, void* ptr) {
  return core_guard("core.device_free", [&]() -> moert_error* {
    require_device0(device_id);
    std::free(ptr);
    return nullptr;
  });
}

moert_error* copy(const char* where, int32_t device_id, void* dst, const void* src, size_t bytes) {
  return core_guard(where, [&]() -> moert_error* {
    require_device0(device_id);
    if (bytes && (dst == nullptr || src == nullptr)) throw Error("NULL pointer for a copy of " + std::to_string(bytes) + " bytes");
    if (bytes) std::memmove(dst, src, bytes);
    return nullptr;
  });
}
moert_error* copy_h2d(int32_t d, void* dst, const void* src, size_t n) { return copy("core.copy_host_to_device", d, dst, src, n); }
moert_error* copy_d2h(int32_t d, void* dst, const void* src, size_t n) { return copy("core.copy_device_to_host", d, dst, src, n); }

moert_error* stream_create(int32_t device_id, moert_stream* out) {
  return core_guard("core.stream_create", [&]() -> moert_error* {
    require_device0(device_id);
    if (out == nullptr) throw Error("out is NULL");
    *out = nullptr;  // CPU work is synchronous: the NULL stream
    return nullptr;
  });
}
moert_error* stream_destroy(int32_t device_id, moert_stream) {
  return core_guard("core.stream_destroy", [&]() -> moert_error* {
    require_device0(device_id);
    return nullptr;
  });
}
moert_error* stream_synchronize(int32_t device_id, moert_stream) {
  return core_guard("core.stream_synchronize", [&]() -> moert_error* {
    require_device0(device_id);
    return nullptr;
  });
}

const moert_runner_ops* const kRunners[] = {&kDefaultRunnerOps};
const moert_experts_ops* const kExperts[] = {&kReferenceExpertsOps};

moert_plugin_api make_table() {
  moert_plugin_api t;
  std::memset(&t, 0, sizeof t);
  t.struct_size = sizeof(moert_plugin_api);
  t.abi_major = MOERT_ABI_MAJOR;
  t.abi_minor = MOERT_ABI_MINOR;
  t.name = "core";
  t.version = "0.1.0";
  t.vendor = "moert";
  t.device_type = MOERT_DEVICE_CPU;
  t.probe = probe;
  t.initialize = initialize;
  t.shutdown = shutdown;
  t.error_code = plugin::error_code;
  t.error_message = plugin::error_message;
  t.error_destroy = plugin::error_destroy;
  t.attributes = attributes;
  t.device_alloc = device_alloc;
  t.device_free = device_free;
  t.copy_host_to_device = copy_h2d;
  t.copy_device_to_host = copy_d2h;
  t.stream_create = stream_create;
  t.stream_destroy = stream_destroy;
  t.stream_synchronize = stream_synchronize;
  t.num_runners = 1;
  t.runners = kRunners;
  t.num_experts = 1;
  t.experts = kExperts;
  // ABI 1.1 event and graph calls: NULL (no device timing or graphs on the host).
  return t;
}

}  // namespace
}  // namespace builtin
}  // namespace moert

extern "C" const moert_plugin_api* moert_builtin_plugin_entry(uint32_t host_abi_major, uint32_t /*host_abi_minor*/,
                                                              const moert_host_services* /*services*/) {
  if (host_abi_major != MOERT_ABI_MAJOR) return nullptr;
  static const moert_plugin_api table = moert::builtin::make_table();
  return &table;
}
