// Combine kernel (see combine.cuh): one block per token, 16-byte vectors.
#include "combine.cuh"

namespace moert_cuda {
namespace {

template <class T>
__global__ void combine_kernel(const CombineParams p) {
  pdl_begin();
  const int64_t t = p.t0 + blockIdx.x;
  const int64_t H = p.hidden;
  float gate = 1.f;
  if (p.shared_out && p.shared_gate) {
    // sigmoid(dot(x_t, gate)) in f32, block reduction.
    const T* xr = static_cast<const T*>(p.x) + t * H;
    const T* g = static_cast<const T*>(p.shared_gate);
    float d = 0.f;
    for (int64_t h = threadIdx.x; h < H; h += blockDim.x) d += to_float(xr[h]) * to_float(g[h]);
    __shared__ float red[32];
    for (int o = 16; o > 0; o >>= 1) d += __shfl_xor_sync(0xffffffffu, d, o);
    if ((threadIdx.x & 31) == 0) red[threadIdx.x >> 5] = d;
    __syncthreads();
    d = 0.f;
    for (int i = 0; i < (int)(blockDim.x >> 5); ++i) d += red[i];
    gate = 1.f / (1.f + expf(-d));
  }
  // The token's slots (ids, weights) once into shared memory, so the loads
  // of the top-k rows below do not each wait on their own id load first
  // (H200, one token: a chain of 2 x top_k dependent loads made this kernel
  // take 6 us).
  __shared__ int32_t slot_id[32];
  __shared__ float slot_w[32];
  if ((int)threadIdx.x < p.top_k) {
    slot_id[threadIdx.x] = p.local_ids[t * p.top_k + threadIdx.x];
    slot_w[threadIdx.x] = p.weights[t * p.top_k + threadIdx.x];
  }
  __syncthreads();
  const T* y = static_cast<const T*>(p.y);
  const T* sh = static_cast<const T*>(p.shared_out);
  T* out = static_cast<T*>(p.out) + t * H;
  for (int64_t h = threadIdx.x * 8; h < H; h += blockDim.x * 8) {
    float acc[8];
#pragma unroll
    for (int i = 0; i < 8; ++i) acc[i] = 0.f;
#pragma unroll 4
    for (int k = 0; k < p.top_k; ++k) {
      const int64_t slot = t * p.top_k + k;
      if (slot_id[k] < 0) continue;
      const float w = slot_w[k];
      const uint4 v = *reinterpret_cast<const uint4*>(y + slot * H + h);
      const uint32_t vw[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        const float2 f = unpack2<T>(vw[i]);
        acc[2 * i] = fmaf(w, f.x, acc[2 * i]);
        acc[2 * i + 1] = fmaf(w, f.y, acc[2 * i + 1]);
      }
    }
    if (sh) {
      const uint4 v = *reinterpret_cast<const uint4*>(sh + (t - p.t0) * H + h);
      const uint32_t vw[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        const float2 f = unpack2<T>(vw[i]);
        acc[2 * i] = fmaf(gate, f.x, acc[2 * i]);
        acc[2 * i + 1] = fmaf(gate, f.y, acc[2 * i + 1]);
      }
    }
    uint4 o;
    o.x = pack2<T>(acc[0], acc[1]);
    o.y = pack2<T>(acc[2], acc[3]);
    o.z = pack2<T>(acc[4], acc[5]);
    o.w = pack2<T>(acc[6], acc[7]);
    *reinterpret_cast<uint4*>(out + h) = o;
  }
}

}  // namespace

template <class T>
void launch_combine(const CombineParams& p, cudaStream_t stream) {
  const int64_t rows = p.t1 - p.t0;
  if (rows <= 0) return;
  launch_pdl(true, combine_kernel<T>, static_cast<unsigned>(rows), 256, 0, stream, "combine", p);
  MOERT_CUDA_LAUNCH_CHECK("combine");
}

template void launch_combine<__nv_bfloat16>(const CombineParams&, cudaStream_t);
template void launch_combine<__half>(const CombineParams&, cudaStream_t);

}  // namespace moert_cuda
