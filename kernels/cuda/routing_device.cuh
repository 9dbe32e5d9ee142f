// Device side of routing (see routing.cuh): one warp routes one token.
// Shared by the routing kernel and the fused route-and-sort kernel of small
// batches (sort_align.cu), so both run the same code.
#pragma once

#include "routing.cuh"

#include <type_traits>

namespace moert_cuda {
namespace routing_detail {

__device__ __forceinline__ float load_logit(const void* p, int dt, int64_t i) {
  if (dt == 0) return static_cast<const float*>(p)[i];
  if (dt == 1) return __bfloat162float(static_cast<const __nv_bfloat16*>(p)[i]);
  return __half2float(static_cast<const __half*>(p)[i]);
}

// Ordered key of a selection score for the top-k reductions: a larger score
// has a larger key (-0 counts as +0, as the comparison of floats has it);
// NaN sorts below every number and kTaken below NaN.
constexpr unsigned kTaken = 0u;
__device__ __forceinline__ unsigned order_key(float v) {
  if (v != v) return 1u;
  const unsigned u = __float_as_uint(v + 0.f);  // -0 + 0 = +0
  return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

// This lane's best key among experts lane, lane + 32, ... (ties -> the lower
// id; a lane without experts reports kTaken).
__device__ __forceinline__ void lane_best(const unsigned* key, int n, int lane, unsigned& best, int& id) {
  best = kTaken;
  id = lane;
  for (int e = lane; e < n; e += 32) {
    const unsigned k = key[e];
    if (k > best) { best = k; id = e; }
  }
}

__device__ __forceinline__ float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
__device__ __forceinline__ float warp_max(float v) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// Grouped top-k: the groups kept (bit g for group g), from the selection
// scores `sel` (shared memory, E = num_groups * per of them). A group's score
// is the sum of its top-2 selection scores with a correction bias, its max
// without; lane g owns group g; topk_groups rounds of a warp arg-max, ties
// to the lower group id.
__device__ __forceinline__ unsigned kept_groups(const RoutingParams& p, const float* sel, int lane) {
  const int per = p.num_experts / p.num_groups;
  float gs = -INFINITY;
  if (lane < p.num_groups) {
    float a = -INFINITY, b = -INFINITY;
    for (int i = 0; i < per; ++i) {
      float v = sel[lane * per + i];
      if (v > a) { b = a; a = v; } else if (v > b) { b = v; }
    }
    gs = p.correction_bias ? a + b : a;
  }
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
  return keep;
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

}  // namespace routing_detail

struct NoRouteHook {
  __device__ void operator()(int) const {}
};

// More than kRouteRegExperts experts: the scores in shared memory (2 *
// num_experts floats), each lane's experts rescanned there.
template <class Hook>
__device__ __forceinline__ void route_token_smem(const RoutingParams& p, int64_t t, float* score, int lane, Hook hook) {
  const int E = p.num_experts;
  float* sel = score + E;              // selection scores (biased, masked)
  float mx = -INFINITY;
  // Four logits (and bias values) per lane in flight at once: all loads of a
  // batch are issued before any of its shared-memory stores. The bias waits in
  // sel until the scores are known.
  constexpr int kBatch = 4;
  bool bad = false;  // a logit that is not finite: the token's weights become NaN (below)
  for (int e0 = lane; e0 < E; e0 += 32 * kBatch) {
    float x[kBatch], b[kBatch];
#pragma unroll
    for (int j = 0; j < kBatch; ++j) {
      const int e = e0 + 32 * j;
      x[j] = e < E ? routing_detail::load_logit(p.logits, p.logits_dtype, t * E + e) : -INFINITY;
      b[j] = e < E && p.correction_bias ? __ldg(p.correction_bias + e) : 0.f;
    }
#pragma unroll
    for (int j = 0; j < kBatch; ++j) {
      const int e = e0 + 32 * j;
      if (e < E) {
        score[e] = x[j];
        sel[e] = b[j];
        mx = fmaxf(mx, x[j]);
        bad = bad || !isfinite(x[j]);
      }
    }
  }
  const bool poison = __any_sync(0xffffffffu, bad);
  hook(1);
  __syncwarp();
  if (!p.sigmoid) {
    mx = routing_detail::warp_max(mx);
    float sum = 0.f;
    for (int e = lane; e < E; e += 32) { float v = expf(score[e] - mx); score[e] = v; sum += v; }
    sum = routing_detail::warp_sum(sum);
    for (int e = lane; e < E; e += 32) score[e] /= sum;
  } else {
    for (int e = lane; e < E; e += 32) score[e] = 1.f / (1.f + expf(-score[e]));
  }
  for (int e = lane; e < E; e += 32) sel[e] = score[e] + sel[e];  // each lane its own experts
  __syncwarp();
  if (p.grouped) {
    // Keep topk_groups groups; mask the others.
    const int per = E / p.num_groups;
    const unsigned keep = routing_detail::kept_groups(p, sel, lane);
    for (int e = lane; e < E; e += 32)
      if (!((keep >> (e / per)) & 1u)) sel[e] = -INFINITY;
    __syncwarp();
  }
  hook(2);
  // top-k by repeated arg-max (ties -> lower id); lane k keeps slot k. The
  // scores become ordered keys in place (each lane its own experts), so one
  // round is two warp reductions (redux.sync: max key, then the least id
  // holding it) and the owner's rescan of its experts, instead of five
  // dependent shuffle pairs.
  unsigned* key = reinterpret_cast<unsigned*>(sel);
  for (int e = lane; e < E; e += 32) key[e] = routing_detail::order_key(sel[e]);
  unsigned best;
  int best_id;
  routing_detail::lane_best(key, E, lane, best, best_id);
  float my_w = 0.f;
  int32_t my_id = 0;
  float wsum = 0.f;
  for (int k = 0; k < p.top_k; ++k) {
    const unsigned top = __reduce_max_sync(0xffffffffu, best);
    const int id = static_cast<int>(__reduce_min_sync(0xffffffffu, best == top ? (unsigned)best_id : 0xffffffffu));
    const float w = score[id];
    wsum += w;
    if (lane == k) { my_w = w; my_id = id; }
    if ((id & 31) == lane) {  // the owner takes it and finds its next best
      key[id] = routing_detail::kTaken;
      routing_detail::lane_best(key, E, lane, best, best_id);
    }
  }
  if (lane < p.top_k) {
    float w = my_w;
    if (p.renormalize) w /= wsum;
    w *= p.scaling;
    // A non-finite logit: NaN weights, so the token's output row is NaN (the
    // forward cannot fail on the host without a synchronization; the picks
    // stay distinct and in range, NaN scores ranking below every number).
    if (poison) w = __int_as_float(0x7fc00000);
    const int64_t slot = t * p.top_k + lane;
    p.topk_weights[slot] = w;
    p.local_ids[slot] = routing_detail::map_slot(p, slot, my_id);
  }
}

// Experts routed from registers (route_token_regs); more take the shared-memory path.
constexpr int kRouteRegExperts = 256;

namespace routing_detail {
// Inverse of order_key for keys of numbers (max reductions over keys).
__device__ __forceinline__ float key_value(unsigned k) {
  return __uint_as_float((k & 0x80000000u) ? (k & 0x7fffffffu) : ~k);
}
}  // namespace routing_detail

// Up to 32 * V experts: lane l holds experts l, l + 32, ..., l + 32 (V - 1)
// in registers (logit, score, selection key), so each step is a few
// unrolled instructions and warp reductions, never a shared-memory round
// trip or a loop over run-time bounds. Why: at one token the routing sits
// in front of every weight byte, and the shared-memory version took 2.9 us
// of one warp for gpt-oss' 128 experts (H200, the fused kernel's time
// stamps: 0.7 us softmax, 1.5 us four top-k rounds). Same arithmetic in the
// same order as route_token_smem (bit-identical weights and ids); only the
// grouped top-k's group scores go through `score` (2 * num_experts floats).
template <int V, class Hook>
__device__ __forceinline__ void route_token_regs(const RoutingParams& p, int64_t t, float* score_sm, int lane,
                                                 Hook hook) {
  using namespace routing_detail;
  const int E = p.num_experts;
  float x[V], sel[V];
  bool bad = false;  // a logit that is not finite: the token's weights become NaN (below)
#pragma unroll
  for (int j = 0; j < V; ++j) {
    const int e = lane + 32 * j;
    x[j] = e < E ? load_logit(p.logits, p.logits_dtype, t * E + e) : -INFINITY;
    sel[j] = e < E && p.correction_bias ? __ldg(p.correction_bias + e) : 0.f;
  }
  unsigned mkey = kTaken;
#pragma unroll
  for (int j = 0; j < V; ++j) {
    if (lane + 32 * j < E) {
      bad = bad || !isfinite(x[j]);
      mkey = max(mkey, x[j] != x[j] ? kTaken : order_key(x[j]));  // fmaxf's max: NaN ignored
    }
  }
  const bool poison = __any_sync(0xffffffffu, bad);
  hook(1);
  float sc[V];  // scores
  if (!p.sigmoid) {
    const unsigned top = __reduce_max_sync(0xffffffffu, mkey);
    const float mx = top == kTaken ? -INFINITY : key_value(top);
    float sum = 0.f;
#pragma unroll
    for (int j = 0; j < V; ++j) {
      sc[j] = lane + 32 * j < E ? expf(x[j] - mx) : 0.f;
      if (lane + 32 * j < E) sum += sc[j];
    }
    sum = warp_sum(sum);
#pragma unroll
    for (int j = 0; j < V; ++j) sc[j] /= sum;
  } else {
#pragma unroll
    for (int j = 0; j < V; ++j) sc[j] = 1.f / (1.f + expf(-x[j]));
  }
#pragma unroll
  for (int j = 0; j < V; ++j) sel[j] = sc[j] + sel[j];
  if (p.grouped) {
    // The kept groups as route_token_smem finds them (over the selection
    // scores in shared memory); the other groups masked.
    float* sel_sm = score_sm + E;
#pragma unroll
    for (int j = 0; j < V; ++j)
      if (lane + 32 * j < E) sel_sm[lane + 32 * j] = sel[j];
    __syncwarp();
    const int per = E / p.num_groups;
    const unsigned keep = kept_groups(p, sel_sm, lane);
#pragma unroll
    for (int j = 0; j < V; ++j)
      if (lane + 32 * j < E && !((keep >> ((lane + 32 * j) / per)) & 1u)) sel[j] = -INFINITY;
    __syncwarp();  // the shared scores are read before the next token's writes
  }
  hook(2);
  // top-k by repeated arg-max (ties -> lower id); lane k keeps slot k. A
  // round: each lane's best key (lowest j among equals: its lowest id), the
  // warp's max key and the least id holding it (redux.sync), the score from
  // the owner by a shuffle, and the owner's key taken.
  unsigned key[V];
#pragma unroll
  for (int j = 0; j < V; ++j) key[j] = lane + 32 * j < E ? order_key(sel[j]) : kTaken;
  float my_w = 0.f, wsum = 0.f;
  int32_t my_id = 0;
  for (int k = 0; k < p.top_k; ++k) {
    unsigned best = key[0];
    int bj = 0;
    float bs = sc[0];
#pragma unroll
    for (int j = 1; j < V; ++j)
      if (key[j] > best) { best = key[j]; bj = j; bs = sc[j]; }
    const unsigned top = __reduce_max_sync(0xffffffffu, best);
    const unsigned mine = best == top ? (unsigned)(lane + 32 * bj) : 0xffffffffu;
    const int id = static_cast<int>(__reduce_min_sync(0xffffffffu, mine));
    const float w = __shfl_sync(0xffffffffu, bs, id & 31);
    wsum += w;
    if (lane == k) { my_w = w; my_id = id; }
#pragma unroll
    for (int j = 0; j < V; ++j)
      if (lane + 32 * j == id) key[j] = kTaken;
  }
  if (lane < p.top_k) {
    float w = my_w;
    if (p.renormalize) w /= wsum;
    w *= p.scaling;
    if (poison) w = __int_as_float(0x7fc00000);  // as route_token_smem
    const int64_t slot = t * p.top_k + lane;
    p.topk_weights[slot] = w;
    p.local_ids[slot] = map_slot(p, slot, my_id);
  }
}

// The routing code a kernel instance holds, from the expert count: the
// lane's experts in registers (V = 1, 4 or 8 of them) or, V = 0, the
// shared-memory path. The routing and route-and-sort kernels are built once
// per V and the host launches the one for its layer. Why: holding all four
// made them 6500 / 9200 SASS lines, and a kernel that runs its code once,
// after the weights' stream has pushed it out of L2, waited on instruction
// fetch in 60-75% of its warp samples (H200, Nsight Compute, qwen3 at 64 /
// 16 tokens: routing 7.4 us, route-and-sort 13.7 us).
__host__ __device__ constexpr int route_variant(int num_experts) {
  return num_experts <= 32 ? 1 : num_experts <= 128 ? 4 : num_experts <= kRouteRegExperts ? 8 : 0;
}

// Routes token t with one warp, by variant V (route_variant of its expert
// count); `score` is 2 * num_experts floats of shared memory owned by this
// warp. Writes topk_weights/local_ids of t's slots. hook(step): diagnostics
// (the fused kernel's trace): step 0 on entry, 1 once the logits are in, 2
// once the scores are.
template <int V, class Hook = NoRouteHook>
__device__ __forceinline__ void route_token_as(const RoutingParams& p, int64_t t, float* score, int lane, Hook hook = {}) {
  hook(0);
  if constexpr (V == 0) route_token_smem(p, t, score, lane, hook);
  else route_token_regs<V>(p, t, score, lane, hook);
}

// The same with the variant picked at run time (the fused one-token kernels,
// whose routing runs inside a GEMV). kRegs false: the shared-memory path for
// any E (fewer registers: a caller that holds many across it).
template <bool kRegs = true, class Hook = NoRouteHook>
__device__ __forceinline__ void route_token(const RoutingParams& p, int64_t t, float* score, int lane, Hook hook = {}) {
  hook(0);
  const int E = p.num_experts;
  if (!kRegs) route_token_smem(p, t, score, lane, hook);
  else if (E <= 32) route_token_regs<1>(p, t, score, lane, hook);
  else if (E <= 128) route_token_regs<4>(p, t, score, lane, hook);
  else if (E <= kRouteRegExperts) route_token_regs<8>(p, t, score, lane, hook);
  else route_token_smem(p, t, score, lane, hook);
}

// Calls f(std::integral_constant<int, V>{}) for the V of
// route_variant(num_experts): the host side of the per-variant kernels.
template <class F>
void with_route_variant(int num_experts, F&& f) {
  switch (route_variant(num_experts)) {
    case 1: f(std::integral_constant<int, 1>{}); break;
    case 4: f(std::integral_constant<int, 4>{}); break;
    case 8: f(std::integral_constant<int, 8>{}); break;
    default: f(std::integral_constant<int, 0>{}); break;
  }
}

}  // namespace moert_cuda
