// Routing kernels (see routing.cuh). One warp per token; scores live in
// shared memory; top-k is k rounds of a warp arg-max (ties -> lower id).
#include "routing.cuh"

namespace moert_cuda {
namespace {

constexpr int kWarpsPerBlock = 4;

__device__ __forceinline__ float load_logit(const void* p, int dt, int64_t i) {
  if (dt == 0) return static_cast<const float*>(p)[i];
  if (dt == 1) return __bfloat162float(static_cast<const __nv_bfloat16*>(p)[i]);
  return __half2float(static_cast<const __half*>(p)[i]);
}

// Warp arg-max over v[0..n): larger value wins, equal values -> lower index.
__device__ __forceinline__ int warp_argmax(const float* v, int n, int lane) {
  float best = -INFINITY;
  int bi = 0x7fffffff;
  for (int i = lane; i < n; i += 32) {
    float x = v[i];
    if (x > best || (x == best && i < bi)) { best = x; bi = i; }
  }
  for (int o = 16; o > 0; o >>= 1) {
    float ob = __shfl_xor_sync(0xffffffffu, best, o);
    int oi = __shfl_xor_sync(0xffffffffu, bi, o);
    if (ob > best || (ob == best && oi < bi)) { best = ob; bi = oi; }
  }
  return bi;
}

__device__ __forceinline__ float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
__device__ __forceinline__ float warp_max(float v) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// EPLB replica + expert map for one routed slot; records the load.
__device__ __forceinline__ int32_t map_slot(const RoutingParams& p, int64_t slot, int32_t logical) {
  int32_t phys = logical;
  if (p.l2p_map) {
    const int cnt = p.replica_count[logical];
    const int r = static_cast<int>(slot % (cnt > 0 ? cnt : 1));
    phys = p.l2p_map[(int64_t)logical * p.max_replicas + r];
  }
  if (p.expert_load && phys >= 0) atomicAdd(p.expert_load + phys, 1ull);
  if (phys < 0) return -1;
  return p.expert_map ? p.expert_map[phys] : phys;
}

__global__ void routing_kernel(RoutingParams p) {
  pdl_begin();
  extern __shared__ float smem[];
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int64_t t = (int64_t)blockIdx.x * kWarpsPerBlock + warp;
  if (t >= p.tokens) return;  // whole warps exit together; no block barrier below
  const int E = p.num_experts;
  float* score = smem + warp * 2 * E;  // unbiased scores
  float* sel = score + E;              // selection scores (biased, masked)
  float mx = -INFINITY;
  for (int e = lane; e < E; e += 32) {
    float x = load_logit(p.logits, p.logits_dtype, t * E + e);
    score[e] = x;
    mx = fmaxf(mx, x);
  }
  __syncwarp();
  if (!p.sigmoid) {
    mx = warp_max(mx);
    float sum = 0.f;
    for (int e = lane; e < E; e += 32) { float v = expf(score[e] - mx); score[e] = v; sum += v; }
    sum = warp_sum(sum);
    for (int e = lane; e < E; e += 32) score[e] /= sum;
  } else {
    for (int e = lane; e < E; e += 32) score[e] = 1.f / (1.f + expf(-score[e]));
  }
  for (int e = lane; e < E; e += 32) sel[e] = score[e] + (p.correction_bias ? p.correction_bias[e] : 0.f);
  __syncwarp();
  if (p.grouped) {
    // Group score: sum of the top-2 biased scores (max when no bias); lane g owns group g.
    const int per = E / p.num_groups;
    float gs = -INFINITY;
    if (lane < p.num_groups) {
      float a = -INFINITY, b = -INFINITY;
      for (int i = 0; i < per; ++i) {
        float v = sel[lane * per + i];
        if (v > a) { b = a; a = v; } else if (v > b) { b = v; }
      }
      gs = p.correction_bias ? a + b : a;
    }
    // Keep topk_groups groups (ties -> lower group id); mask the others.
    unsigned keep = 0;
    for (int r = 0; r < p.topk_groups; ++r) {
      float best = (lane < p.num_groups && !((keep >> lane) & 1u)) ? gs : -INFINITY;
      int bi = lane < p.num_groups && !((keep >> lane) & 1u) ? lane : 0x7fffffff;
      for (int o = 16; o > 0; o >>= 1) {
        float ob = __shfl_xor_sync(0xffffffffu, best, o);
        int oi = __shfl_xor_sync(0xffffffffu, bi, o);
        if (ob > best || (ob == best && oi < bi)) { best = ob; bi = oi; }
      }
      keep |= 1u << bi;
    }
    for (int e = lane; e < E; e += 32)
      if (!((keep >> (e / per)) & 1u)) sel[e] = -INFINITY;
    __syncwarp();
  }
  // top-k by repeated arg-max; lane k keeps slot k.
  float my_w = 0.f;
  int32_t my_id = 0;
  float wsum = 0.f;
  for (int k = 0; k < p.top_k; ++k) {
    const int id = warp_argmax(sel, E, lane);
    const float w = score[id];
    wsum += w;
    if (lane == k) { my_w = w; my_id = id; }
    __syncwarp();
    if (lane == 0) sel[id] = -INFINITY;
    __syncwarp();
  }
  if (lane < p.top_k) {
    float w = my_w;
    if (p.renormalize) w /= wsum;
    w *= p.scaling;
    const int64_t slot = t * p.top_k + lane;
    p.topk_weights[slot] = w;
    p.local_ids[slot] = map_slot(p, slot, my_id);
  }
}

__global__ void map_ids_kernel(const int32_t* __restrict__ ids, RoutingParams p) {
  pdl_begin();
  const int64_t slot = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
  if (slot >= p.tokens * p.top_k) return;
  const int32_t id = ids[slot];
  p.local_ids[slot] = (id >= 0 && id < p.num_experts) ? map_slot(p, slot, id) : -1;
  p.topk_weights[slot] *= p.scaling;  // the function's weights get only the routed scaling
}

}  // namespace

void launch_routing(const RoutingParams& p, cudaStream_t stream) {
  if (p.tokens <= 0) return;
  const unsigned blocks = ceil_div(p.tokens, kWarpsPerBlock);
  const size_t smem = sizeof(float) * 2 * p.num_experts * kWarpsPerBlock;
  routing_kernel<<<blocks, 32 * kWarpsPerBlock, smem, stream>>>(p);
  MOERT_CUDA_LAUNCH_CHECK("routing");
}

void launch_map_ids(const int32_t* ids, const RoutingParams& p, cudaStream_t stream) {
  const int64_t n = p.tokens * p.top_k;
  if (n <= 0) return;
  map_ids_kernel<<<ceil_div(n, 256), 256, 0, stream>>>(ids, p);
  MOERT_CUDA_LAUNCH_CHECK("map_ids");
}

}  // namespace moert_cuda
