// Activation functions (fused into the GEMM epilogues) and a standalone
// gated-activation kernel for the shared expert, whose w13 keeps the caller's
// concat layout because it is a per-forward parameter we never repack.
#pragma once

#include "common.cuh"

namespace moert_cuda {

// Values of moert_activation (plugin ABI); repeated here so that kernels need
// no plugin header.
enum ActKind : int {
  kSiluAndMul = 0, kGeluAndMul = 1, kGeluTanhAndMul = 2, kSwigluOai = 3, kSilu = 4, kGelu = 5, kRelu2 = 6
};

__device__ __forceinline__ float silu_f(float x) { return x / (1.f + __expf(-x)); }
__device__ __forceinline__ float gelu_erf_f(float x) { return 0.5f * x * (1.f + erff(x * 0.70710678118654752f)); }
__device__ __forceinline__ float gelu_tanh_f(float x) {
  return 0.5f * x * (1.f + tanhf(0.79788456080286536f * (x + 0.044715f * x * x * x)));
}

// Gated activations: act(gate) * up, or gpt-oss' clamped swiglu.
__device__ __forceinline__ float act_gated(int act, float g, float u, float alpha, float limit) {
  switch (act) {
    case kSiluAndMul: return silu_f(g) * u;
    case kGeluAndMul: return gelu_erf_f(g) * u;
    case kGeluTanhAndMul: return gelu_tanh_f(g) * u;
    default: {  // kSwigluOai
      g = fminf(g, limit);
      u = fminf(fmaxf(u, -limit), limit);
      return g / (1.f + __expf(-alpha * g)) * (u + 1.f);
    }
  }
}

// Activations without a gate (w13 has I rows).
__device__ __forceinline__ float act_single(int act, float x) {
  switch (act) {
    case kSilu: return silu_f(x);
    case kGelu: return gelu_erf_f(x);
    default: { float r = fmaxf(x, 0.f); return r * r; }  // kRelu2
  }
}

inline bool act_is_gated(int act) { return act <= kSwigluOai; }

// out[r, i] = act(h[r, i], h[r, I + i]) for gated acts (concat layout), or
// act(h[r, i]) otherwise; h [rows, gated ? 2I : I], out [rows, I], both T.
template <class T>
void launch_activation(const T* h, T* out, int64_t rows, int64_t inter, int act, float alpha, float limit,
                       cudaStream_t stream);

}  // namespace moert_cuda
