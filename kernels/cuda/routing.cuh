// Routing on the device: scoring (softmax/sigmoid), top-k or DeepSeek grouped
// top-k with a selection-only bias, renormalize, scaling, then the EPLB
// replica choice (+ load recording) and the expert map (global -> local).
#pragma once

#include "common.cuh"

namespace moert_cuda {

struct RoutingParams {
  const void* logits;      // [T, E]
  int logits_dtype;        // 0 f32, 1 bf16, 2 f16
  int64_t tokens;
  int num_experts, top_k;
  int sigmoid;             // 0 softmax, 1 sigmoid
  int grouped;             // grouped top-k
  int num_groups, topk_groups;
  const float* correction_bias;  // [E] or null (grouped only)
  int renormalize;
  float scaling;
  // EPLB (null map: none)
  const int32_t* l2p_map; int max_replicas; const int32_t* replica_count;
  unsigned long long* expert_load;  // int64 [E_phys] or null
  const int32_t* expert_map;        // [E_phys] global physical -> local, null: identity
  // outputs, [T * top_k]
  float* topk_weights;
  int32_t* local_ids;               // -1 when not local
};

void launch_routing(const RoutingParams& p, cudaStream_t stream);

// For custom routing: ids/weights were written by the caller's function;
// applies EPLB and the expert map to ids (global logical) -> local_ids, and
// multiplies the weights by the routed scaling factor (nothing else).
void launch_map_ids(const int32_t* ids, const RoutingParams& p, cudaStream_t stream);

}  // namespace moert_cuda
