// Routing: scores and top-k, one wave per token. Wave width is MOERT_WAVE
// (64 on CDNA, 32 on NVIDIA), so the reductions adapt to either.
#include <float.h>
#include <math.h>

#include "moe_kernels.h"
#include "numeric_formats.h"

namespace moert_hip {
namespace {

constexpr int kWavesPerBlock = 4;
constexpr int kMaxExperts = 1024;

__device__ __forceinline__ float load_logit(const void* p, int kind, int64_t i) {
  if (kind == 0) return static_cast<const float*>(p)[i];
  uint16_t h = static_cast<const uint16_t*>(p)[i];
  if (kind == 1) return bf16_to_f32(h);
  return f16_to_f32(h);
}

// Wave argmax; ties go to the lower expert id.
__device__ __forceinline__ void wave_argmax(float& v, int& id) {
#pragma unroll
  for (int m = MOERT_WAVE / 2; m > 0; m >>= 1) {
    float ov = moert_shfl_xor(v, m);
    int oid = moert_shfl_xor(id, m);
    if (ov > v || (ov == v && oid < id)) { v = ov; id = oid; }
  }
}
__device__ __forceinline__ float wave_max(float v) {
#pragma unroll
  for (int m = MOERT_WAVE / 2; m > 0; m >>= 1) v = fmaxf(v, moert_shfl_xor(v, m));
  return v;
}
__device__ __forceinline__ float wave_sum(float v) {
#pragma unroll
  for (int m = MOERT_WAVE / 2; m > 0; m >>= 1) v += moert_shfl_xor(v, m);
  return v;
}

__global__ void routing_topk_kernel(const void* logits, int kind, int64_t T, int E, int k, int sigmoid,
                                    int renormalize, float scaling, float* topk_w, int32_t* topk_ids) {
  __shared__ float scores[kWavesPerBlock][kMaxExperts];
  const int wave = threadIdx.x / MOERT_WAVE, lane = threadIdx.x % MOERT_WAVE;
  const int64_t t = static_cast<int64_t>(blockIdx.x) * kWavesPerBlock + wave;
  if (t >= T) return;  // whole wave leaves together
  float* s = scores[wave];
  float mx = -FLT_MAX;
  bool bad = false;  // a logit that is not finite: the token's weights become NaN (below)
  for (int e = lane; e < E; e += MOERT_WAVE) {
    float v = load_logit(logits, kind, t * E + e);
    s[e] = v;
    mx = fmaxf(mx, v);
    bad = bad || !isfinite(v);
  }
  const bool poison = wave_max(bad ? 1.0f : 0.0f) > 0.0f;
  if (sigmoid) {
    for (int e = lane; e < E; e += MOERT_WAVE) s[e] = 1.0f / (1.0f + expf(-s[e]));
  } else {
    mx = wave_max(mx);
    float sum = 0.0f;
    for (int e = lane; e < E; e += MOERT_WAVE) { float v = expf(s[e] - mx); s[e] = v; sum += v; }
    sum = wave_sum(sum);
    const float inv = 1.0f / sum;
    for (int e = lane; e < E; e += MOERT_WAVE) s[e] *= inv;
  }
  // The scores are >= 0 or NaN (a NaN logit, or a NaN or +Inf one under
  // softmax); taken experts hold -FLT_MAX. A NaN ranks as -1: below every
  // score, above every taken expert, so each round picks an expert in range
  // and not taken before (with no NaN rank, no pick was possible for a NaN
  // token: the id stayed E, out of range). A token with a non-finite logit
  // gets NaN weights, so its output row is NaN: the forward cannot fail on
  // the host without a synchronization, and the NaN is never silent
  // (docs/rocm-backend.md).
  float picked_sum = 0.0f, my_w = 0.0f;
  int my_id = 0;
  for (int j = 0; j < k; ++j) {
    float best = -FLT_MAX;
    int best_id = E;
    for (int e = lane; e < E; e += MOERT_WAVE) {
      const float v = s[e] != s[e] ? -1.0f : s[e];
      if (v > best) { best = v; best_id = e; }
    }
    wave_argmax(best, best_id);
    const float w = best == -1.0f ? NAN : best;
    if (lane == j) { my_w = w; my_id = best_id; }
    picked_sum += w;
    if (lane == 0) s[best_id] = -FLT_MAX;  // remove it from the next rounds
#if defined(MOERT_HIP_ON_CUDA)
    __syncwarp();
#endif
  }
  if (lane < k) {
    float w = renormalize ? my_w / picked_sum : my_w;
    if (poison) w = NAN;
    topk_w[t * k + lane] = w * scaling;
    topk_ids[t * k + lane] = my_id;
  }
}

}  // namespace

hipError_t launch_routing_topk(const void* logits, int logits_kind, int64_t T, int E, int k, int sigmoid,
                               int renormalize, float scaling, float* topk_w, int32_t* topk_ids,
                               hipStream_t stream) {
  if (T == 0) return hipSuccess;
  const int blocks = static_cast<int>((T + kWavesPerBlock - 1) / kWavesPerBlock);
  routing_topk_kernel<<<blocks, kWavesPerBlock * MOERT_WAVE, 0, stream>>>(
      logits, logits_kind, T, E, k, sigmoid, renormalize, scaling, topk_w, topk_ids);
  return hipGetLastError();
}

}  // namespace moert_hip
