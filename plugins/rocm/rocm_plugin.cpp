// The rocm plugin's table: probe, device memory/streams/events/graphs, and
// the "rocm" runner and experts kernel (MXFP4 MoE in aiter's conventions).
// The same glue builds for AMD (libmoert-rocm.so, hipcc kernels) and, with
// MOERT_HIP_ON_CUDA, for NVIDIA (libmoert-rocm-nv.so, nvcc kernels).
#include <cstdio>
#include <cstring>
#include <new>

#include "moert/moert_plugin.hpp"
#include "rocm_layer.h"
#include "rocm_moe.h"

#ifndef MOERT_ROCM_TOOLCHAIN
#define MOERT_ROCM_TOOLCHAIN "unknown"
#endif
#ifndef MOERT_ROCM_ARCHS
#define MOERT_ROCM_ARCHS ""
#endif

namespace moert_rocm {
namespace {

using moert::plugin::guard;
using moert::plugin::make_error;

#if defined(MOERT_HIP_ON_CUDA)
constexpr const char* kPluginName = "rocm-nv";
constexpr const char* kNoDevice = "no CUDA device (the HIP-on-NVIDIA build of the rocm kernels)";
#else
constexpr const char* kPluginName = "rocm";
constexpr const char* kNoDevice = "no ROCm device";
#endif

moert_error* need_device(int32_t device_id) {
  int n = 0;
  hipError_t e = hipGetDeviceCount(&n);
  if (e != hipSuccess || n == 0) return make_error(MOERT_STATUS_UNAVAILABLE, "%s", kNoDevice);
  if (device_id < 0 || device_id >= n)
    return make_error(MOERT_STATUS_INVALID_ARGUMENT, "device_id %d outside [0, %d)", device_id, n);
  return gpu_error(hipSetDevice(device_id), "hipSetDevice");
}

// ---- probe: never runs device code; says why the plugin cannot run here ----
int32_t probe(char* reason, size_t cap) {
  auto say = [&](const char* msg) {
    if (reason && cap) std::snprintf(reason, cap, "%s", msg);
    return 0;
  };
  int n = 0;
  hipError_t e = hipGetDeviceCount(&n);
  if (e != hipSuccess || n == 0) return say(kNoDevice);
#if !defined(MOERT_HIP_ON_CUDA)
  // Code objects are per ISA: a gfx942 (MI300X) or gfx90a-less build cannot run.
  char arch[128] = {0};
  if (moert_gpu_device_name(0, arch, sizeof arch) == hipSuccess) {
    char base[64] = {0};
    size_t i = 0;
    for (; i + 1 < sizeof base && arch[i] && arch[i] != ':'; ++i) base[i] = arch[i];
    const char* archs = "," MOERT_ROCM_ARCHS ",";
    char needle[80];
    std::snprintf(needle, sizeof needle, ",%s,", base);
    if (!std::strstr(archs, needle)) {
      char msg[256];
      std::snprintf(msg, sizeof msg, "GPU 0 is %s; this build carries code for %s only (rebuild with "
                    "-DMOERT_HIP_ARCHS=%s and a hipcc that knows it)", base, MOERT_ROCM_ARCHS, base);
      return say(msg);
    }
  }
#endif
  if (reason && cap) reason[0] = 0;
  return 1;
}

const moert_host_services* g_services = nullptr;
moert_error* initialize(const moert_host_services* s) { g_services = s; return nullptr; }
moert_error* shutdown() {
  return guard("shutdown", [] { return gpu_error(hipDeviceSynchronize(), "hipDeviceSynchronize"); });
}

const moert_kv* attributes(size_t* count) {
  static const moert_kv kv[] = {
      {"dtypes", "bf16"},
      {"weight_dtypes", "fp4_e2m1"},
      {"activations", "silu_and_mul,swigluoai"},
      {"routers", "softmax_topk,sigmoid_topk"},
      {"quant_schemes", "mxfp4"},
      {"activation_quant", "none,fp8_per_token"},
      {"features", "bias,expert_map,interleaved_gate_up,aiter_shuffled_weights,aiter_a16w4,expert_mask"},
      {"weight_layouts", "checkpoint,aiter_shuffled,aiter_a16w4"},
      {"toolchain", MOERT_ROCM_TOOLCHAIN},
      {"gpu_archs", MOERT_ROCM_ARCHS},
#if defined(MOERT_HIP_ON_CUDA)
      {"device_runtime", "CUDA (HIP sources through kernels/hip/hip_portability.h)"},
#else
      {"device_runtime", "ROCm HIP 5.2"},
#endif
  };
  if (count) *count = sizeof kv / sizeof kv[0];
  return kv;
}

// ---- memory, streams, events, graphs ----
moert_error* device_alloc(int32_t d, size_t bytes, void** out) {
  return guard("device_alloc", [&]() -> moert_error* {
    if (!out) return make_error(MOERT_STATUS_INVALID_ARGUMENT, "device_alloc: out is NULL");
    if (moert_error* e = need_device(d)) return e;
    *out = nullptr;
    return gpu_error(hipMalloc(out, bytes ? bytes : 1), "hipMalloc");
  });
}
moert_error* device_free(int32_t d, void* p) {
  return guard("device_free", [&]() -> moert_error* {
    if (moert_error* e = need_device(d)) return e;
    return gpu_error(hipFree(p), "hipFree");
  });
}
moert_error* h2d(int32_t d, void* dst, const void* src, size_t n) {
  return guard("copy_host_to_device", [&]() -> moert_error* {
    if (moert_error* e = need_device(d)) return e;
    return gpu_error(hipMemcpy(dst, src, n, hipMemcpyHostToDevice), "hipMemcpy H2D");
  });
}
moert_error* d2h(int32_t d, void* dst, const void* src, size_t n) {
  return guard("copy_device_to_host", [&]() -> moert_error* {
    if (moert_error* e = need_device(d)) return e;
    return gpu_error(hipMemcpy(dst, src, n, hipMemcpyDeviceToHost), "hipMemcpy D2H");
  });
}
moert_error* stream_create(int32_t d, moert_stream* out) {
  return guard("stream_create", [&]() -> moert_error* {
    if (moert_error* e = need_device(d)) return e;
    hipStream_t s = nullptr;
    if (moert_error* e = gpu_error(hipStreamCreateWithFlags(&s, hipStreamNonBlocking), "hipStreamCreate")) return e;
    *out = s;
    return nullptr;
  });
}
moert_error* stream_destroy(int32_t d, moert_stream s) {
  return guard("stream_destroy", [&]() -> moert_error* {
    if (moert_error* e = need_device(d)) return e;
    return gpu_error(hipStreamDestroy(static_cast<hipStream_t>(s)), "hipStreamDestroy");
  });
}
moert_error* stream_sync(int32_t d, moert_stream s) {
  return guard("stream_synchronize", [&]() -> moert_error* {
    if (moert_error* e = need_device(d)) return e;
    return gpu_error(hipStreamSynchronize(static_cast<hipStream_t>(s)), "hipStreamSynchronize");
  });
}
moert_error* event_create(int32_t d, void** out) {
  return guard("event_create", [&]() -> moert_error* {
    if (moert_error* e = need_device(d)) return e;
    hipEvent_t ev = nullptr;
    if (moert_error* e = gpu_error(hipEventCreate(&ev), "hipEventCreate")) return e;
    *out = ev;
    return nullptr;
  });
}
moert_error* event_destroy(int32_t d, void* ev) {
  return guard("event_destroy", [&]() -> moert_error* {
    if (moert_error* e = need_device(d)) return e;
    return gpu_error(hipEventDestroy(static_cast<hipEvent_t>(ev)), "hipEventDestroy");
  });
}
moert_error* event_record(int32_t d, void* ev, moert_stream s) {
  return guard("event_record", [&]() -> moert_error* {
    if (moert_error* e = need_device(d)) return e;
    return gpu_error(hipEventRecord(static_cast<hipEvent_t>(ev), static_cast<hipStream_t>(s)), "hipEventRecord");
  });
}
moert_error* event_elapsed(int32_t d, void* a, void* b, float* ms) {
  return guard("event_elapsed_ms", [&]() -> moert_error* {
    if (moert_error* e = need_device(d)) return e;
    if (moert_error* e = gpu_error(hipEventSynchronize(static_cast<hipEvent_t>(b)), "hipEventSynchronize")) return e;
    return gpu_error(hipEventElapsedTime(ms, static_cast<hipEvent_t>(a), static_cast<hipEvent_t>(b)),
                     "hipEventElapsedTime");
  });
}
moert_error* capture_begin(int32_t d, moert_stream s) {
  return guard("graph_capture_begin", [&]() -> moert_error* {
    if (moert_error* e = need_device(d)) return e;
    return gpu_error(hipStreamBeginCapture(static_cast<hipStream_t>(s), hipStreamCaptureModeThreadLocal),
                     "hipStreamBeginCapture");
  });
}
moert_error* capture_end(int32_t d, moert_stream s, void** out) {
  return guard("graph_capture_end", [&]() -> moert_error* {
    if (moert_error* e = need_device(d)) return e;
    hipGraph_t g = nullptr;
    if (moert_error* e = gpu_error(hipStreamEndCapture(static_cast<hipStream_t>(s), &g), "hipStreamEndCapture"))
      return e;
    hipGraphExec_t x = nullptr;
    moert_error* e = gpu_error(hipGraphInstantiateWithFlags(&x, g, 0), "hipGraphInstantiate");
    (void)hipGraphDestroy(g);
    if (e) return e;
    *out = x;
    return nullptr;
  });
}
moert_error* graph_launch(int32_t d, void* g, moert_stream s) {
  return guard("graph_launch", [&]() -> moert_error* {
    if (moert_error* e = need_device(d)) return e;
    return gpu_error(hipGraphLaunch(static_cast<hipGraphExec_t>(g), static_cast<hipStream_t>(s)), "hipGraphLaunch");
  });
}
moert_error* graph_destroy(int32_t d, void* g) {
  return guard("graph_destroy", [&]() -> moert_error* {
    if (moert_error* e = need_device(d)) return e;
    return gpu_error(hipGraphExecDestroy(static_cast<hipGraphExec_t>(g)), "hipGraphExecDestroy");
  });
}

// ---- runner and experts: both wrap MoeLayer ----
moert_error* can_implement(const moert_layer_desc* layer) {
  return guard("can_implement", [&]() -> moert_error* {
    std::string why = check_layer(layer, nullptr);
    return why.empty() ? nullptr : make_error(MOERT_STATUS_UNIMPLEMENTED, "rocm: %s", why.c_str());
  });
}
template <class Handle>
moert_error* create_layer(const moert_layer_desc* layer, int32_t device_id, Handle** out) {
  return guard("create", [&]() -> moert_error* {
    if (!out) return make_error(MOERT_STATUS_INVALID_ARGUMENT, "create: out is NULL");
    *out = nullptr;
    LayerConfig cfg;
    std::string why = check_layer(layer, &cfg);
    if (!why.empty()) return make_error(MOERT_STATUS_UNIMPLEMENTED, "rocm: %s", why.c_str());
    if (moert_error* e = need_device(device_id)) return e;
    auto* m = new MoeLayer(cfg, device_id);
    if (moert_error* e = m->init()) { delete m; return e; }
    *out = reinterpret_cast<Handle*>(m);
    return nullptr;
  });
}
template <class Handle>
void destroy_layer(Handle* h) { delete reinterpret_cast<MoeLayer*>(h); }
template <class Handle>
moert_error* workspace(Handle* h, int64_t T, size_t* out) {
  return guard("workspace_size", [&]() -> moert_error* {
    if (!h || !out) return make_error(MOERT_STATUS_INVALID_ARGUMENT, "workspace_size: NULL argument");
    if (T < 0) return make_error(MOERT_STATUS_INVALID_ARGUMENT, "workspace_size: negative max_num_tokens");
    *out = reinterpret_cast<MoeLayer*>(h)->workspace_bytes(T);
    return nullptr;
  });
}
template <class Handle>
moert_error* set_weights(Handle* h, const moert_expert_weights* w) {
  return guard("set_weights", [&]() -> moert_error* {
    if (!h) return make_error(MOERT_STATUS_INVALID_ARGUMENT, "set_weights: NULL instance");
    return reinterpret_cast<MoeLayer*>(h)->set_weights(w);
  });
}
moert_error* forward(moert_runner* r, const moert_forward_args* a) {
  return guard("forward", [&]() -> moert_error* {
    if (!r) return make_error(MOERT_STATUS_INVALID_ARGUMENT, "forward: NULL runner");
    return reinterpret_cast<MoeLayer*>(r)->forward(a);
  });
}
moert_error* apply(moert_experts* x, const moert_experts_args* a) {
  return guard("apply", [&]() -> moert_error* {
    if (!x) return make_error(MOERT_STATUS_INVALID_ARGUMENT, "apply: NULL experts");
    return reinterpret_cast<MoeLayer*>(x)->apply(a);
  });
}

const moert_runner_ops kRunner = {sizeof(moert_runner_ops), "rocm", can_implement, create_layer<moert_runner>,
                                  destroy_layer<moert_runner>, workspace<moert_runner>, set_weights<moert_runner>,
                                  forward};
const moert_experts_ops kExperts = {sizeof(moert_experts_ops), "rocm", MOERT_FINALIZE_IN_KERNEL, 0,
                                    can_implement, create_layer<moert_experts>, destroy_layer<moert_experts>,
                                    workspace<moert_experts>, set_weights<moert_experts>, apply};
const moert_runner_ops* const kRunners[] = {&kRunner};
const moert_experts_ops* const kExpertsList[] = {&kExperts};

moert_plugin_api make_table() {
  moert_plugin_api t;
  std::memset(&t, 0, sizeof t);
  t.struct_size = sizeof(moert_plugin_api);
  t.abi_major = MOERT_ABI_MAJOR;
  t.abi_minor = MOERT_ABI_MINOR;
  t.name = kPluginName;
  t.version = "0.1.0";
  t.vendor = "moert";
  t.device_type = plugin_device_type();
  t.probe = probe;
  t.initialize = initialize;
  t.shutdown = shutdown;
  t.error_code = moert::plugin::error_code;
  t.error_message = moert::plugin::error_message;
  t.error_destroy = moert::plugin::error_destroy;
  t.attributes = attributes;
  t.device_alloc = device_alloc;
  t.device_free = device_free;
  t.copy_host_to_device = h2d;
  t.copy_device_to_host = d2h;
  t.stream_create = stream_create;
  t.stream_destroy = stream_destroy;
  t.stream_synchronize = stream_sync;
  t.num_runners = 1;
  t.runners = kRunners;
  t.num_experts = 1;
  t.experts = kExpertsList;
  t.event_create = event_create;
  t.event_destroy = event_destroy;
  t.event_record = event_record;
  t.event_elapsed_ms = event_elapsed;
  t.graph_capture_begin = capture_begin;
  t.graph_capture_end = capture_end;
  t.graph_launch = graph_launch;
  t.graph_destroy = graph_destroy;
  return t;
}
const moert_plugin_api kTable = make_table();

}  // namespace
}  // namespace moert_rocm

extern "C" MOERT_PLUGIN_EXPORT const moert_plugin_api* moert_plugin_entry_v1(uint32_t host_major, uint32_t,
                                                                             const moert_host_services*) {
  if (host_major != MOERT_ABI_MAJOR) return nullptr;
  return &moert_rocm::kTable;
}
