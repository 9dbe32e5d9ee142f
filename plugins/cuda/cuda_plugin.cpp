// libmoert-cuda.so: the plugin table, the probe, device memory/streams,
// device events and CUDA-graph capture (ABI 1.1), and the "cuda" runner's
// C entry points.
#include <cuda_runtime.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "cuda_runner.h"
#include "status_error.h"

struct moert_runner {
  moert_cuda::CudaRunner impl;
};

namespace moert_cuda {
namespace {

using moert::plugin::make_error;

const moert_host_services* g_services = nullptr;

void set_device(int32_t device) { cuda_ok(cudaSetDevice(device), "cudaSetDevice(" + std::to_string(device) + ")"); }

// ---- probe: must not crash without a driver or a GPU
int32_t probe(char* reason, size_t cap) {
  auto say = [&](const std::string& s) {
    if (reason && cap) std::snprintf(reason, cap, "%s", s.c_str());
  };
  int n = 0;
  const cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    say(std::string("not usable: ") + cudaGetErrorString(e));
    cudaGetLastError();
    return 0;
  }
  if (n == 0) {
    say("not usable: no CUDA device");
    return 0;
  }
  cudaDeviceProp prop{};
  if (cudaGetDeviceProperties(&prop, 0) != cudaSuccess || prop.major < 8) {
    say("not usable: the kernels need compute capability >= 8.0 (sm_90a code, compute_80 PTX); device 0 is " +
        std::to_string(prop.major) + "." + std::to_string(prop.minor));
    return 0;
  }
  return 1;
}

moert_error* initialize(const moert_host_services* s) {
  g_services = s;
  return nullptr;
}
moert_error* shutdown() {
  return call("cuda.shutdown", [] {
    int n = 0;
    if (cudaGetDeviceCount(&n) == cudaSuccess)
      for (int d = 0; d < n; ++d) {
        cudaSetDevice(d);
        cuda_ok(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
      }
  });
}

std::string toolchain_string() {
  char buf[96];
  std::snprintf(buf, sizeof buf, "gcc %d.%d, nvcc %d.%d", __GNUC__, __GNUC_MINOR__, __CUDACC_VER_MAJOR__,
                __CUDACC_VER_MINOR__);
  return buf;
}

const moert_kv* attributes(size_t* count) {
  static const std::string toolchain = toolchain_string();
  static const std::string runtime = "CUDA " + std::to_string(CUDART_VERSION / 1000) + "." +
                                     std::to_string(CUDART_VERSION % 1000 / 10);
  static const moert_kv kv[] = {
      {"dtypes", "bf16,f16"},
      {"weight_dtypes", "bf16,f16,fp8_e4m3,fp4_e2m1"},
      {"activations", "silu_and_mul,gelu_and_mul,gelu_tanh_and_mul,swigluoai,silu,gelu,relu2"},
      {"routers", "softmax_topk,sigmoid_topk,grouped_topk,custom"},
      {"quant_schemes", "none,fp8_per_tensor,fp8_per_channel,fp8_block128,mxfp4"},
      {"activation_quant", "none,fp8_per_token"},
      {"features", "bias,shared_expert,expert_map,eplb,interleaved_gate_up,cuda_graph"},
      {"toolchain", toolchain.c_str()},
      {"device_runtime", runtime.c_str()},
  };
  if (count) *count = sizeof kv / sizeof kv[0];
  return kv;
}

// ---- memory and streams
moert_error* device_alloc(int32_t dev, size_t bytes, void** out) {
  return call("cuda.device_alloc", [&] {
    invalid_if(!out, "out is NULL");
    set_device(dev);
    *out = nullptr;
    cuda_ok(cudaMalloc(out, bytes ? bytes : 1), "cudaMalloc(" + std::to_string(bytes) + ")");
  });
}
moert_error* device_free(int32_t dev, void* p) {
  return call("cuda.device_free", [&] { set_device(dev); if (p) cuda_ok(cudaFree(p), "cudaFree"); });
}
moert_error* h2d(int32_t dev, void* dst, const void* src, size_t n) {
  return call("cuda.copy_host_to_device", [&] { set_device(dev); if (n) cuda_ok(cudaMemcpy(dst, src, n, cudaMemcpyHostToDevice), "cudaMemcpy H2D"); });
}
moert_error* d2h(int32_t dev, void* dst, const void* src, size_t n) {
  return call("cuda.copy_device_to_host", [&] { set_device(dev); if (n) cuda_ok(cudaMemcpy(dst, src, n, cudaMemcpyDeviceToHost), "cudaMemcpy D2H"); });
}
moert_error* stream_create(int32_t dev, moert_stream* out) {
  return call("cuda.stream_create", [&] {
    invalid_if(!out, "out is NULL");
    set_device(dev);
    cudaStream_t s = nullptr;
    cuda_ok(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), "cudaStreamCreate");
    *out = s;
  });
}
moert_error* stream_destroy(int32_t dev, moert_stream s) {
  return call("cuda.stream_destroy", [&] { set_device(dev); if (s) cuda_ok(cudaStreamDestroy(static_cast<cudaStream_t>(s)), "cudaStreamDestroy"); });
}
moert_error* stream_sync(int32_t dev, moert_stream s) {
  return call("cuda.stream_synchronize", [&] { set_device(dev); cuda_ok(cudaStreamSynchronize(static_cast<cudaStream_t>(s)), "cudaStreamSynchronize"); });
}

// ---- ABI 1.1: events and graphs
moert_error* event_create(int32_t dev, void** out) {
  return call("cuda.event_create", [&] {
    invalid_if(!out, "out is NULL");
    set_device(dev);
    cudaEvent_t e = nullptr;
    cuda_ok(cudaEventCreate(&e), "cudaEventCreate");
    *out = e;
  });
}
moert_error* event_destroy(int32_t dev, void* e) {
  return call("cuda.event_destroy", [&] { set_device(dev); if (e) cuda_ok(cudaEventDestroy(static_cast<cudaEvent_t>(e)), "cudaEventDestroy"); });
}
moert_error* event_record(int32_t dev, void* e, moert_stream s) {
  return call("cuda.event_record", [&] {
    invalid_if(!e, "event is NULL");
    set_device(dev);
    cuda_ok(cudaEventRecord(static_cast<cudaEvent_t>(e), static_cast<cudaStream_t>(s)), "cudaEventRecord");
  });
}
moert_error* event_elapsed(int32_t dev, void* a, void* b, float* ms) {
  return call("cuda.event_elapsed_ms", [&] {
    invalid_if(!a || !b || !ms, "NULL event or output");
    set_device(dev);
    cuda_ok(cudaEventSynchronize(static_cast<cudaEvent_t>(b)), "cudaEventSynchronize");
    cuda_ok(cudaEventElapsedTime(ms, static_cast<cudaEvent_t>(a), static_cast<cudaEvent_t>(b)), "cudaEventElapsedTime");
  });
}
moert_error* graph_begin(int32_t dev, moert_stream s) {
  return call("cuda.graph_capture_begin", [&] {
    invalid_if(!s, "capture needs a created stream (the legacy NULL stream cannot be captured)");
    set_device(dev);
    cuda_ok(cudaStreamBeginCapture(static_cast<cudaStream_t>(s), cudaStreamCaptureModeThreadLocal),
            "cudaStreamBeginCapture");
  });
}
moert_error* graph_end(int32_t dev, moert_stream s, void** out) {
  return call("cuda.graph_capture_end", [&] {
    invalid_if(!out, "out is NULL");
    set_device(dev);
    cudaGraph_t g = nullptr;
    cuda_ok(cudaStreamEndCapture(static_cast<cudaStream_t>(s), &g), "cudaStreamEndCapture");
    cudaGraphExec_t exec = nullptr;
    const cudaError_t e = cudaGraphInstantiate(&exec, g, 0);
    cudaGraphDestroy(g);
    cuda_ok(e, "cudaGraphInstantiate");
    *out = exec;
  });
}
moert_error* graph_launch(int32_t dev, void* g, moert_stream s) {
  return call("cuda.graph_launch", [&] {
    invalid_if(!g, "graph is NULL");
    set_device(dev);
    cuda_ok(cudaGraphLaunch(static_cast<cudaGraphExec_t>(g), static_cast<cudaStream_t>(s)), "cudaGraphLaunch");
  });
}
moert_error* graph_destroy(int32_t dev, void* g) {
  return call("cuda.graph_destroy", [&] { set_device(dev); if (g) cuda_ok(cudaGraphExecDestroy(static_cast<cudaGraphExec_t>(g)), "cudaGraphExecDestroy"); });
}

// ---- the "cuda" runner
moert_error* r_can_implement(const moert_layer_desc* l) {
  return call("cuda.can_implement", [&] {
    invalid_if(!l, "layer is NULL");
    const std::string why = unsupported_reason(*l);
    if (!why.empty()) fail(MOERT_STATUS_UNIMPLEMENTED, why);
  });
}
moert_error* r_create(const moert_layer_desc* l, int32_t dev, moert_runner** out) {
  return call("cuda.create", [&] {
    invalid_if(!l || !out, "layer or out is NULL");
    *out = nullptr;
    int n = 0;
    cuda_ok(cudaGetDeviceCount(&n), "cudaGetDeviceCount");
    invalid_if(dev < 0 || dev >= n, "device_id " + std::to_string(dev) + " outside [0, " + std::to_string(n) + ")");
    *out = new moert_runner{CudaRunner(*l, dev)};
  });
}
void r_destroy(moert_runner* r) { delete r; }
moert_error* r_workspace(moert_runner* r, int64_t t, size_t* out) {
  return call("cuda.workspace_size", [&] {
    invalid_if(!r || !out, "runner or out is NULL");
    invalid_if(t < 0, "max_num_tokens < 0");
    *out = r->impl.workspace_size(t);
  });
}
moert_error* r_set_weights(moert_runner* r, const moert_expert_weights* w) {
  return call("cuda.set_weights", [&] {
    invalid_if(!r || !w, "runner or weights is NULL");
    r->impl.set_weights(*w);
  });
}
moert_error* r_forward(moert_runner* r, const moert_forward_args* a) {
  return call("cuda.forward", [&] {
    invalid_if(!r || !a, "runner or args is NULL");
    r->impl.forward(*a);
  });
}

const moert_runner_ops kRunner = {sizeof(moert_runner_ops), "cuda", r_can_implement, r_create, r_destroy,
                                  r_workspace, r_set_weights, r_forward};
const moert_runner_ops* const kRunners[] = {&kRunner};

moert_plugin_api make_table() {
  moert_plugin_api t;
  std::memset(&t, 0, sizeof t);
  t.struct_size = sizeof t;
  t.abi_major = MOERT_ABI_MAJOR;
  t.abi_minor = MOERT_ABI_MINOR;
  t.name = "cuda";
  t.version = "0.1.0";
  t.vendor = "moert";
  t.device_type = MOERT_DEVICE_CUDA;
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
  t.num_experts = 0;
  t.experts = nullptr;
  t.event_create = event_create;
  t.event_destroy = event_destroy;
  t.event_record = event_record;
  t.event_elapsed_ms = event_elapsed;
  t.graph_capture_begin = graph_begin;
  t.graph_capture_end = graph_end;
  t.graph_launch = graph_launch;
  t.graph_destroy = graph_destroy;
  return t;
}

}  // namespace
}  // namespace moert_cuda

extern "C" MOERT_PLUGIN_EXPORT const moert_plugin_api* moert_plugin_entry_v1(uint32_t major, uint32_t minor,
                                                                              const moert_host_services*) {
  (void)minor;
  if (major != MOERT_ABI_MAJOR) return nullptr;
  static const moert_plugin_api table = moert_cuda::make_table();
  return &table;
}
