// EPLB (expert-parallel load balancing) state handling, on host memory.
//
// A token's flat slot p = t * top_k + k routed to logical expert e uses
// replica r = p % logical_replica_count[e] and the physical expert
// logical_to_physical_map[e, r]. When expert_load is given, each routed slot
// adds 1 to expert_load[physical].
#pragma once

#include <cstdint>

#include "moert/layer_config.h"
#include "moert/moert_plugin.h"

namespace moert {

// Checks presence, struct_size, dtypes and shapes of an EPLB state (not its
// values). Messages name the missing piece, e.g. "EPLB requires
// logical_to_physical_map". Returns max_replicas (the map's second dim).
int64_t validate_eplb_state(const moert_eplb_state& state, const LayerConfig& layer);

// Maps logical ids [T, top_k] to physical ids and records the loads (load may
// be NULL). map [E, max_replicas], replica_count [E] are host arrays; their
// values are checked as they are used (errors name expert and replica).
void eplb_map_ids(const LayerConfig& layer, const int32_t* map, int64_t max_replicas, const int32_t* replica_count,
                  int64_t num_tokens, const int32_t* logical_ids, int32_t* physical_ids, int64_t* load);

}  // namespace moert
