// Shared device helpers of the CUDA kernels: element conversions, the error
// check used by every launcher, and the fixed enums the launchers share.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <utility>

namespace moert_cuda {

// Throws (caught by the plugin's guard()) with the CUDA error string.
inline void cuda_check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(e));
}
// After each launch: configuration errors surface here, never later.
#define MOERT_CUDA_LAUNCH_CHECK(what) ::moert_cuda::cuda_check(cudaGetLastError(), what)

// How the expert weights are stored in the plugin's memory.
enum class WeightFormat : int {
  kDense = 0,  // activation dtype (bf16/f16)
  kFp8 = 1,    // e4m3 bytes + f32 scales (per tensor, per row or 128x128 block)
  kMxfp4 = 2   // e2m1 nibbles + e8m0 byte per 32 along K
};

enum class ScaleKind : int { kNone = 0, kPerTensor = 1, kPerRow = 2, kBlock128 = 3 };

template <class T> __device__ __forceinline__ float to_float(T v);
template <> __device__ __forceinline__ float to_float<__nv_bfloat16>(__nv_bfloat16 v) { return __bfloat162float(v); }
template <> __device__ __forceinline__ float to_float<__half>(__half v) { return __half2float(v); }
template <> __device__ __forceinline__ float to_float<float>(float v) { return v; }

template <class T> __device__ __forceinline__ T from_float(float v);
template <> __device__ __forceinline__ __nv_bfloat16 from_float<__nv_bfloat16>(float v) { return __float2bfloat16(v); }
template <> __device__ __forceinline__ __half from_float<__half>(float v) { return __float2half(v); }
template <> __device__ __forceinline__ float from_float<float>(float v) { return v; }

// Two floats packed as one 32-bit pair of T (what mma fragments hold).
template <class T> __device__ __forceinline__ uint32_t pack2(float a, float b);
template <> __device__ __forceinline__ uint32_t pack2<__nv_bfloat16>(float a, float b) {
  __nv_bfloat162 v = __floats2bfloat162_rn(a, b);
  return *reinterpret_cast<uint32_t*>(&v);
}
template <> __device__ __forceinline__ uint32_t pack2<__half>(float a, float b) {
  __half2 v = __floats2half2_rn(a, b);
  return *reinterpret_cast<uint32_t*>(&v);
}
template <class T> __device__ __forceinline__ float2 unpack2(uint32_t v);
template <> __device__ __forceinline__ float2 unpack2<__nv_bfloat16>(uint32_t v) {
  return __bfloat1622float2(*reinterpret_cast<__nv_bfloat162*>(&v));
}
template <> __device__ __forceinline__ float2 unpack2<__half>(uint32_t v) {
  return __half22float2(*reinterpret_cast<__half2*>(&v));
}

inline unsigned ceil_div(long long a, long long b) { return static_cast<unsigned>((a + b - 1) / b); }

// ---- Programmatic dependent launch (PDL, sm_90).
// Every forward kernel starts with pdl_wait() (griddepcontrol.wait: returns
// once the previous kernel in the stream has completed and its memory is
// visible; a no-op when the kernel was launched without the PDL attribute),
// then pdl_trigger() (lets the next kernel's blocks be scheduled while this
// one still runs; they block in their own pdl_wait()). So stream order is
// kept, and only the launch latency between kernels is hidden. No memory
// access may come before pdl_wait(), with one exception: the rows GEMV's L2
// prefetch of its weights (grouped_gemv.cu, gemv_rows_pre_wait_l2), which
// reads only what was final before the previous kernel started.
__device__ __forceinline__ void pdl_wait() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
}
__device__ __forceinline__ void pdl_trigger() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
#endif
}
__device__ __forceinline__ void pdl_begin() {
  pdl_wait();
  pdl_trigger();
}

// The current device's SM count and whether it is compute capability 9.0
// exactly (the sm_90a machine code runs there; other GPUs JIT the compute_80
// PTX). Cached per device: host code on the launch path must not query the
// driver each call.
inline int current_device() {
  int dev = 0;
  if (cudaGetDevice(&dev) != cudaSuccess || dev < 0 || dev >= 64) dev = 0;
  return dev;
}
inline int device_sm_count() {
  static std::atomic<int> cache[64];
  const int dev = current_device();
  int n = cache[dev].load(std::memory_order_relaxed);
  if (n) return n;
  if (cudaDeviceGetAttribute(&n, cudaDevAttrMultiProcessorCount, dev) != cudaSuccess || n <= 0) n = 132;
  cache[dev].store(n, std::memory_order_relaxed);
  return n;
}
// The current device's L2 size in bytes (cached per device; 0 when unknown).
inline int64_t device_l2_bytes() {
  static std::atomic<int64_t> cache[64];
  const int dev = current_device();
  int64_t v = cache[dev].load(std::memory_order_relaxed);
  if (v) return v > 0 ? v : 0;
  int n = 0;
  v = cudaDeviceGetAttribute(&n, cudaDevAttrL2CacheSize, dev) == cudaSuccess && n > 0 ? n : -1;
  cache[dev].store(v, std::memory_order_relaxed);
  return v > 0 ? v : 0;
}
inline bool device_is_sm90() {
  static std::atomic<signed char> cache[64];  // 0 unknown, 1 yes, -1 no
  const int dev = current_device();
  const signed char c = cache[dev].load(std::memory_order_relaxed);
  if (c) return c > 0;
  int major = 0, minor = 0;
  if (cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev) != cudaSuccess ||
      cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, dev) != cudaSuccess)
    return false;
  const bool ok = major == 9 && minor == 0;
  cache[dev].store(ok ? 1 : -1, std::memory_order_relaxed);
  return ok;
}

// PDL only on compute capability 9.0 exactly: the sm_90a machine code holds
// the griddepcontrol instructions; the compute_80 PTX (JIT on other GPUs) has
// none, so the attribute must not be set there. MOERT_CUDA_PDL=0 turns it off.
inline bool pdl_enabled() {
  static const bool env_off = [] {
    const char* e = std::getenv("MOERT_CUDA_PDL");
    return e && e[0] == '0';
  }();
  return !env_off && device_is_sm90();
}

// Launch with the PDL attribute (when pdl and pdl_enabled()); the kernel must
// begin with pdl_begin()/pdl_wait().
template <class... KArgs, class... Args>
inline void launch_pdl(bool pdl, void (*kernel)(KArgs...), dim3 grid, dim3 block, size_t smem, cudaStream_t stream,
                       const char* what, Args&&... args) {
  cudaLaunchConfig_t cfg{};
  cfg.gridDim = grid;
  cfg.blockDim = block;
  cfg.dynamicSmemBytes = smem;
  cfg.stream = stream;
  cudaLaunchAttribute attr[1];
  attr[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attr[0].val.programmaticStreamSerializationAllowed = 1;
  cfg.attrs = attr;
  cfg.numAttrs = pdl && pdl_enabled() ? 1 : 0;
  cuda_check(cudaLaunchKernelEx(&cfg, kernel, std::forward<Args>(args)...), what);
}

}  // namespace moert_cuda
