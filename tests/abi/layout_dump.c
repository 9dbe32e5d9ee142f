/* Prints the offset of every ABI 1.0 field and the size of every struct.
 * Built once against the current header and once against the frozen 1.0
 * header (tests/plugins/abi_v1_0); compare_layouts.cmake diffs the two. The
 * field list is the 1.0 field list: a field added later must not be here. */
#include <stddef.h>
#include <stdio.h>

#include "moert/moert_plugin.h"

#define OFF(type, field) printf("offset %s.%s %zu\n", #type, #field, offsetof(type, field))
#define SIZE(type) printf("sizeof %s %zu\n", #type, sizeof(type))

int main(void) {
  OFF(moert_tensor, data); OFF(moert_tensor, device); OFF(moert_tensor, ndim);
  OFF(moert_tensor, dtype); OFF(moert_tensor, shape); OFF(moert_tensor, strides);
  OFF(moert_tensor, byte_offset);
  OFF(moert_kv, key); OFF(moert_kv, value);

  OFF(moert_layer_desc, struct_size); OFF(moert_layer_desc, num_experts);
  OFF(moert_layer_desc, top_k); OFF(moert_layer_desc, hidden_size);
  OFF(moert_layer_desc, intermediate_size); OFF(moert_layer_desc, activation);
  OFF(moert_layer_desc, gate_up_layout); OFF(moert_layer_desc, has_bias);
  OFF(moert_layer_desc, swiglu_alpha); OFF(moert_layer_desc, swiglu_limit);
  OFF(moert_layer_desc, routing_method); OFF(moert_layer_desc, scoring);
  OFF(moert_layer_desc, renormalize); OFF(moert_layer_desc, num_expert_group);
  OFF(moert_layer_desc, topk_group); OFF(moert_layer_desc, has_score_correction_bias);
  OFF(moert_layer_desc, routed_scaling_factor); OFF(moert_layer_desc, activation_dtype);
  OFF(moert_layer_desc, weight_dtype); OFF(moert_layer_desc, quant_scheme);
  OFF(moert_layer_desc, activation_quant); OFF(moert_layer_desc, max_num_tokens);
  OFF(moert_layer_desc, ep_rank); OFF(moert_layer_desc, ep_size);
  OFF(moert_layer_desc, num_local_experts); OFF(moert_layer_desc, expert_map);
  OFF(moert_layer_desc, options); OFF(moert_layer_desc, num_options);

  OFF(moert_expert_weights, w13); OFF(moert_expert_weights, w2);
  OFF(moert_expert_weights, w13_scale); OFF(moert_expert_weights, w2_scale);
  OFF(moert_expert_weights, w13_bias); OFF(moert_expert_weights, w2_bias);
  OFF(moert_expert_weights, score_correction_bias);
  OFF(moert_shared_expert, intermediate_size); OFF(moert_shared_expert, activation);
  OFF(moert_shared_expert, w13); OFF(moert_shared_expert, w2); OFF(moert_shared_expert, gate);

  OFF(moert_forward_args, hidden_states); OFF(moert_forward_args, router_logits);
  OFF(moert_forward_args, output); OFF(moert_forward_args, workspace);
  OFF(moert_forward_args, stream); OFF(moert_forward_args, shared_expert);
  OFF(moert_runner_ops, name); OFF(moert_runner_ops, can_implement);
  OFF(moert_runner_ops, create); OFF(moert_runner_ops, destroy);
  OFF(moert_runner_ops, workspace_size); OFF(moert_runner_ops, set_weights);
  OFF(moert_runner_ops, forward);

  OFF(moert_experts_args, hidden_states); OFF(moert_experts_args, hidden_scale);
  OFF(moert_experts_args, topk_ids); OFF(moert_experts_args, topk_weights);
  OFF(moert_experts_args, expert_map); OFF(moert_experts_args, output);
  OFF(moert_experts_args, workspace); OFF(moert_experts_args, stream);
  OFF(moert_experts_args, apply_router_weight_on_input);
  OFF(moert_experts_ops, name); OFF(moert_experts_ops, finalize_mode);
  OFF(moert_experts_ops, can_implement); OFF(moert_experts_ops, create);
  OFF(moert_experts_ops, destroy); OFF(moert_experts_ops, workspace_size);
  OFF(moert_experts_ops, set_weights); OFF(moert_experts_ops, apply);

  OFF(moert_host_services, abi_major); OFF(moert_host_services, abi_minor);
  OFF(moert_host_services, host_context); OFF(moert_host_services, log);

  OFF(moert_plugin_api, abi_major); OFF(moert_plugin_api, abi_minor);
  OFF(moert_plugin_api, name); OFF(moert_plugin_api, version); OFF(moert_plugin_api, vendor);
  OFF(moert_plugin_api, device_type); OFF(moert_plugin_api, probe);
  OFF(moert_plugin_api, initialize); OFF(moert_plugin_api, shutdown);
  OFF(moert_plugin_api, error_code); OFF(moert_plugin_api, error_message);
  OFF(moert_plugin_api, error_destroy); OFF(moert_plugin_api, attributes);
  OFF(moert_plugin_api, device_alloc); OFF(moert_plugin_api, device_free);
  OFF(moert_plugin_api, copy_host_to_device); OFF(moert_plugin_api, copy_device_to_host);
  OFF(moert_plugin_api, stream_create); OFF(moert_plugin_api, stream_destroy);
  OFF(moert_plugin_api, stream_synchronize); OFF(moert_plugin_api, num_runners);
  OFF(moert_plugin_api, runners); OFF(moert_plugin_api, num_experts);
  OFF(moert_plugin_api, experts);

  SIZE(moert_tensor); SIZE(moert_kv); SIZE(moert_layer_desc); SIZE(moert_expert_weights);
  SIZE(moert_shared_expert); SIZE(moert_forward_args); SIZE(moert_runner_ops);
  SIZE(moert_experts_args); SIZE(moert_experts_ops); SIZE(moert_host_services);
  SIZE(moert_plugin_api);
  return 0;
}
