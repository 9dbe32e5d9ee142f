// CpuMoe: forward (the "cpu" runner: routing, EPLB, experts, shared expert)
// and apply (the "cpu" experts kernel), with their argument checks.
#include <cmath>
#include <string>

#include "routing.h"
#include "token_grouping.h"
#include "engine_buffers.h"
#include "engine_util.h"
#include "moert/moert_plugin.hpp"

namespace moert_cpu {

void CpuMoe::forward(const moert_forward_args* a) {
  if (a == nullptr || a->struct_size < offsetof(moert_forward_args, eplb))
    throw StatusError(MOERT_STATUS_INVALID_ARGUMENT, "forward: args NULL or struct_size too small");
  if (!has_weights_) throw StatusError(MOERT_STATUS_FAILED_PRECONDITION, "forward: set_weights has not been called");
  const auto& D = L_.desc;
  const int64_t H = D.hidden_size, E = D.num_experts, k = D.top_k;
  if (a->hidden_states.ndim != 2 || !a->hidden_states.shape)
    throw StatusError(MOERT_STATUS_INVALID_ARGUMENT, "hidden_states: expected [T, H], got " + shape_str(a->hidden_states));
  const int64_t T = a->hidden_states.shape[0];
  if (T > D.max_num_tokens)
    throw StatusError(MOERT_STATUS_INVALID_ARGUMENT, "hidden_states: T=" + std::to_string(T) +
                                                         " exceeds max_num_tokens=" + std::to_string(D.max_num_tokens));
  expect_tensor(a->hidden_states, "hidden_states", D.activation_dtype, {T, H});
  moert_dtype ldt = a->router_logits.dtype;
  if (!same(ldt, kF32) && !same(ldt, kBF16) && !same(ldt, kF16))
    throw StatusError(MOERT_STATUS_INVALID_ARGUMENT, "router_logits: expected f32, bf16 or f16, got " + dtype_str(ldt));
  expect_tensor(a->router_logits, "router_logits", ldt, {T, E});
  expect_tensor(a->output, "output", D.activation_dtype, {T, H});
  const size_t need = workspace_size(T);
  if (T > 0 && (moert::plugin::nbytes(a->workspace) < need || a->workspace.data == nullptr))
    throw StatusError(MOERT_STATUS_INVALID_ARGUMENT, "workspace: needs " + std::to_string(need) + " bytes for T=" +
                                                         std::to_string(T) + ", got " +
                                                         std::to_string(moert::plugin::nbytes(a->workspace)));
  const moert_eplb_state* eplb = MOERT_HAS_FIELD(a, moert_forward_args, eplb) ? a->eplb : nullptr;
  if (T == 0) return;
  ThreadScope ts(threads_);
  Buffers b = carve(a->workspace, T);
  to_f32(ptr(a->hidden_states), D.activation_dtype, T * H, b.x32);
  to_f32(ptr(a->router_logits), ldt, T * E, b.logits);

  if (D.routing_method == MOERT_ROUTING_CUSTOM) {
    int64_t lshape[2] = {T, E}, kshape[2] = {T, k};
    moert_tensor lt{b.logits, {MOERT_DEVICE_CPU, 0}, 2, kF32, lshape, nullptr, 0};
    moert_tensor wt{b.tw, {MOERT_DEVICE_CPU, 0}, 2, kF32, kshape, nullptr, 0};
    moert_tensor it{b.ids, {MOERT_DEVICE_CPU, 0}, 2, kI32, kshape, nullptr, 0};
    moert_error* err = D.custom_routing(D.custom_routing_context, &lt, static_cast<int32_t>(k), &wt, &it, nullptr);
    if (err) {
      // Opaque and owned by the function's author (moert_plugin.h): not read, not freed.
      throw StatusError(MOERT_STATUS_INVALID_ARGUMENT, "custom routing function failed");
    }
  } else {
    // docs/semantics.md, routing step 1: a non-finite logit is an error naming
    // its place, as the core's router says it (custom routing passes the
    // logits to its function unread).
    for (int64_t i = 0; i < T * E; ++i)
      if (!std::isfinite(b.logits[i]))
        throw StatusError(MOERT_STATUS_INVALID_ARGUMENT,
                          "router_logits[token " + std::to_string(i / E) + ", expert " + std::to_string(i % E) +
                              "] is " + (std::isnan(b.logits[i]) ? "NaN" : "Inf") + " (router logits must be finite)");
    RoutingParams rp{static_cast<int32_t>(E), static_cast<int32_t>(k), D.routing_method == MOERT_ROUTING_GROUPED_TOPK,
                     D.scoring == MOERT_SCORING_SIGMOID, D.renormalize, D.num_expert_group, D.topk_group,
                     D.routed_scaling_factor, score_bias_.empty() ? nullptr : score_bias_.data()};
    route_tokens(rp, b.logits, T, b.ids, b.tw, b.route_scratch);
  }

  if (eplb) {  // logical -> physical replica by flat slot position
    if (eplb->struct_size < offsetof(moert_eplb_state, expert_load) + sizeof(moert_tensor))
      throw StatusError(MOERT_STATUS_INVALID_ARGUMENT, "eplb: struct_size too small");
    if (!eplb->logical_to_physical_map.data || eplb->logical_to_physical_map.ndim != 2)
      throw StatusError(MOERT_STATUS_INVALID_ARGUMENT, "EPLB requires logical_to_physical_map [E, max_replicas]");
    const int64_t reps = eplb->logical_to_physical_map.shape[1];
    expect_tensor(eplb->logical_to_physical_map, "eplb.logical_to_physical_map", kI32, {E, reps});
    expect_tensor(eplb->logical_replica_count, "eplb.logical_replica_count", kI32, {E});
    const int32_t* map = static_cast<const int32_t*>(ptr(eplb->logical_to_physical_map));
    const int32_t* cnt = static_cast<const int32_t*>(ptr(eplb->logical_replica_count));
    int64_t* load = nullptr;
    if (eplb->expert_load.data) {
      expect_tensor(eplb->expert_load, "eplb.expert_load", kI64, {L_.num_physical});
      load = static_cast<int64_t*>(ptr(eplb->expert_load));
    }
    for (int64_t p = 0; p < T * k; ++p) {
      const int32_t e = b.ids[p];
      if (cnt[e] < 1 || cnt[e] > reps)
        throw StatusError(MOERT_STATUS_INVALID_ARGUMENT, "eplb.logical_replica_count[" + std::to_string(e) + "] = " +
                                                             std::to_string(cnt[e]) + " is outside [1, " + std::to_string(reps) + "]");
      b.ids[p] = map[e * reps + p % cnt[e]];
      if (load && b.ids[p] >= 0 && b.ids[p] < L_.num_physical) ++load[b.ids[p]];
    }
  }
  group_by_expert(b.ids, b.tw, T, static_cast<int32_t>(k), L_.expert_map.empty() ? nullptr : L_.expert_map.data(),
                  L_.num_physical, D.num_local_experts, &b.groups);
  std::memset(b.out32, 0, T * H * sizeof(float));
  run_experts(b.x32, T, b.groups, b.out32, b);
  if (a->shared_expert) run_shared(a->shared_expert, b.x32, T, b.out32, b);
  from_f32(b.out32, T * H, L_.bf16, ptr(a->output));
}

void CpuMoe::apply(const moert_experts_args* a) {
  if (a == nullptr || a->struct_size < offsetof(moert_experts_args, reserved0))
    throw StatusError(MOERT_STATUS_INVALID_ARGUMENT, "apply: args NULL or struct_size too small");
  if (!has_weights_) throw StatusError(MOERT_STATUS_FAILED_PRECONDITION, "apply: set_weights has not been called");
  const auto& D = L_.desc;
  const int64_t H = D.hidden_size, k = D.top_k;
  if (a->hidden_states.ndim != 2 || !a->hidden_states.shape)
    throw StatusError(MOERT_STATUS_INVALID_ARGUMENT, "hidden_states: expected [T, H], got " + shape_str(a->hidden_states));
  const int64_t T = a->hidden_states.shape[0];
  if (T > D.max_num_tokens)
    throw StatusError(MOERT_STATUS_INVALID_ARGUMENT, "hidden_states: T=" + std::to_string(T) +
                                                         " exceeds max_num_tokens=" + std::to_string(D.max_num_tokens));
  expect_tensor(a->hidden_states, "hidden_states", D.activation_dtype, {T, H});
  expect_tensor(a->topk_ids, "topk_ids", kI32, {T, k});
  expect_tensor(a->topk_weights, "topk_weights", kF32, {T, k});
  expect_tensor(a->output, "output", D.activation_dtype, {T, H});
  const int32_t* map = nullptr;
  if (a->expert_map.data) {
    expect_tensor(a->expert_map, "expert_map", kI32, {L_.num_physical});
    map = static_cast<const int32_t*>(ptr(a->expert_map));
  }
  const size_t need = workspace_size(T);
  if (T > 0 && (moert::plugin::nbytes(a->workspace) < need || a->workspace.data == nullptr))
    throw StatusError(MOERT_STATUS_INVALID_ARGUMENT, "workspace: needs " + std::to_string(need) + " bytes for T=" +
                                                         std::to_string(T));
  if (T == 0) return;
  ThreadScope ts(threads_);
  Buffers b = carve(a->workspace, T);
  to_f32(ptr(a->hidden_states), D.activation_dtype, T * H, b.x32);
  const float* w = static_cast<const float*>(ptr(a->topk_weights));
  if (a->apply_router_weight_on_input) {
    for (int64_t i = 0; i < T * k; ++i) b.tw[i] = 1.f;
    w = b.tw;
  }
  group_by_expert(static_cast<const int32_t*>(ptr(a->topk_ids)), w, T, static_cast<int32_t>(k), map,
                  L_.num_physical, D.num_local_experts, &b.groups);
  std::memset(b.out32, 0, T * H * sizeof(float));
  run_experts(b.x32, T, b.groups, b.out32, b);
  from_f32(b.out32, T * H, L_.bf16, ptr(a->output));
}

}  // namespace moert_cpu
