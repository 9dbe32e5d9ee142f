// libmoert-cpu.so: the plugin table. Registers the runner "cpu" (routing,
// experts, shared expert, EPLB) and the experts kernel "cpu" (finalize in
// kernel) for the core's modular runner. Memory calls work on host memory;
// streams are NULL (every call is blocking).
#include <cstdlib>
#include <cstring>
#include <new>

#include "isa_kernels.h"
#include "moe_engine.h"
#include "moert/moert_plugin.hpp"

using moert::plugin::make_error;

namespace moert_cpu {
namespace {

// Entry points turn exceptions into error objects: StatusError keeps its code.
template <class Fn>
moert_error* guarded(const char* where, Fn&& fn) noexcept {
  return moert::plugin::guard(where, [&]() -> moert_error* {
    try {
      fn();
      return nullptr;
    } catch (const StatusError& e) {
      return make_error(e.code, "%s: %s", where, e.what());
    } catch (const std::invalid_argument& e) {
      return make_error(MOERT_STATUS_INVALID_ARGUMENT, "%s: %s", where, e.what());
    } catch (const dnnl::error& e) {
      return make_error(MOERT_STATUS_INTERNAL, "%s: oneDNN: %s", where, e.what());
    }
  });
}

moert_error* can_implement(const moert_layer_desc* layer) {
  return guarded("cpu.can_implement", [&] { parse_layer(layer); });
}

moert_error* create(const moert_layer_desc* layer, int32_t device_id, CpuMoe** out) {
  return guarded("cpu.create", [&] {
    if (!out) throw StatusError(MOERT_STATUS_INVALID_ARGUMENT, "out is NULL");
    if (device_id != 0) throw StatusError(MOERT_STATUS_INVALID_ARGUMENT, "device_id must be 0 on the CPU, got " + std::to_string(device_id));
    *out = new CpuMoe(layer);
  });
}

moert_error* workspace_size(const CpuMoe* m, int64_t max_tokens, size_t* out) {
  return guarded("cpu.workspace_size", [&] {
    if (!m || !out) throw StatusError(MOERT_STATUS_INVALID_ARGUMENT, "instance or out is NULL");
    *out = m->workspace_size(max_tokens);
  });
}

// The opaque handles are CpuMoe objects for both the runner and the experts kernel.
moert_error* runner_create(const moert_layer_desc* l, int32_t dev, moert_runner** out) {
  return create(l, dev, reinterpret_cast<CpuMoe**>(out));
}
void runner_destroy(moert_runner* r) { delete reinterpret_cast<CpuMoe*>(r); }
moert_error* runner_ws(moert_runner* r, int64_t t, size_t* out) {
  return workspace_size(reinterpret_cast<CpuMoe*>(r), t, out);
}
moert_error* runner_set_weights(moert_runner* r, const moert_expert_weights* w) {
  return guarded("cpu.set_weights", [&] {
    if (!r) throw StatusError(MOERT_STATUS_INVALID_ARGUMENT, "runner is NULL");
    reinterpret_cast<CpuMoe*>(r)->set_weights(w);
  });
}
moert_error* runner_forward(moert_runner* r, const moert_forward_args* a) {
  return guarded("cpu.forward", [&] {
    if (!r) throw StatusError(MOERT_STATUS_INVALID_ARGUMENT, "runner is NULL");
    reinterpret_cast<CpuMoe*>(r)->forward(a);
  });
}

moert_error* experts_create(const moert_layer_desc* l, int32_t dev, moert_experts** out) {
  return create(l, dev, reinterpret_cast<CpuMoe**>(out));
}
void experts_destroy(moert_experts* x) { delete reinterpret_cast<CpuMoe*>(x); }
moert_error* experts_ws(moert_experts* x, int64_t t, size_t* out) {
  return workspace_size(reinterpret_cast<CpuMoe*>(x), t, out);
}
moert_error* experts_set_weights(moert_experts* x, const moert_expert_weights* w) {
  return runner_set_weights(reinterpret_cast<moert_runner*>(x), w);
}
moert_error* experts_apply(moert_experts* x, const moert_experts_args* a) {
  return guarded("cpu.apply", [&] {
    if (!x) throw StatusError(MOERT_STATUS_INVALID_ARGUMENT, "experts is NULL");
    reinterpret_cast<CpuMoe*>(x)->apply(a);
  });
}

const moert_runner_ops kRunner = {sizeof(moert_runner_ops), "cpu", can_implement, runner_create,
                                  runner_destroy, runner_ws, runner_set_weights, runner_forward};
const moert_experts_ops kExperts = {sizeof(moert_experts_ops), "cpu", MOERT_FINALIZE_IN_KERNEL, 0,
                                    can_implement, experts_create, experts_destroy, experts_ws,
                                    experts_set_weights, experts_apply};
const moert_runner_ops* const kRunners[] = {&kRunner};
const moert_experts_ops* const kExpertsList[] = {&kExperts};

const moert_kv kAttributes[] = {
    {"dtypes", "f32,bf16"},
    {"weight_dtypes", "f32,bf16,fp8_e4m3,fp4_e2m1"},
    {"activations", "silu_and_mul,gelu_and_mul,gelu_tanh_and_mul,swigluoai,silu,gelu,relu2"},
    {"routers", "softmax_topk,sigmoid_topk,grouped_topk,custom"},
    {"quant_schemes", "none,fp8_per_tensor,fp8_per_channel,fp8_block128,mxfp4"},
    {"features", "bias,shared_expert,expert_map,eplb,interleaved_gate_up"},
    {"toolchain", "gcc " __VERSION__ ", oneDNN " MOERT_CPU_DNNL_VERSION},
    {"device_runtime", "host (OpenMP)"},
    {"isa", "avx2 baseline, avx512 at run time"},
};

int32_t probe(char* reason, size_t cap) {
  if (cpu_has_avx2_baseline()) return 1;
  if (reason && cap) std::snprintf(reason, cap, "cpu plugin needs AVX2, FMA and F16C; CPUID lacks one of them");
  return 0;
}
moert_error* initialize(const moert_host_services*) { return nullptr; }
moert_error* shutdown() { return nullptr; }
const moert_kv* attributes(size_t* count) {
  if (count) *count = sizeof kAttributes / sizeof kAttributes[0];
  return kAttributes;
}

moert_error* check_device(int32_t device_id) {
  if (device_id != 0)
    return make_error(MOERT_STATUS_INVALID_ARGUMENT, "cpu: device_id must be 0, got %d", device_id);
  return nullptr;
}
moert_error* device_alloc(int32_t dev, size_t bytes, void** out) {
  if (moert_error* e = check_device(dev)) return e;
  if (!out) return make_error(MOERT_STATUS_INVALID_ARGUMENT, "cpu.device_alloc: out is NULL");
  *out = std::aligned_alloc(64, (bytes + 63) / 64 * 64 + 64);
  if (!*out) return make_error(MOERT_STATUS_OUT_OF_MEMORY, "cpu.device_alloc: %zu bytes", bytes);
  return nullptr;
}
moert_error* device_free(int32_t dev, void* p) {
  if (moert_error* e = check_device(dev)) return e;
  std::free(p);
  return nullptr;
}
moert_error* copy(int32_t dev, void* dst, const void* src, size_t bytes) {
  if (moert_error* e = check_device(dev)) return e;
  if (bytes && (!dst || !src)) return make_error(MOERT_STATUS_INVALID_ARGUMENT, "cpu.copy: NULL pointer");
  if (bytes) std::memmove(dst, src, bytes);
  return nullptr;
}
moert_error* stream_create(int32_t dev, moert_stream* out) {
  if (moert_error* e = check_device(dev)) return e;
  if (out) *out = nullptr;
  return nullptr;
}
moert_error* stream_noop(int32_t dev, moert_stream) { return check_device(dev); }

const moert_plugin_api kApi = {
    sizeof(moert_plugin_api), MOERT_ABI_MAJOR, MOERT_ABI_MINOR, "cpu", "0.1.0", "moert",
    MOERT_DEVICE_CPU, 0, probe, initialize, shutdown,
    moert::plugin::error_code, moert::plugin::error_message, moert::plugin::error_destroy, attributes,
    device_alloc, device_free, copy, copy, stream_create, stream_noop, stream_noop,
    1, kRunners, 1, kExpertsList,
    nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr};

}  // namespace
}  // namespace moert_cpu

extern "C" MOERT_PLUGIN_EXPORT const moert_plugin_api* moert_plugin_entry_v1(uint32_t host_major, uint32_t,
                                                                            const moert_host_services*) {
  if (host_major != MOERT_ABI_MAJOR) return nullptr;
  return &moert_cpu::kApi;
}
