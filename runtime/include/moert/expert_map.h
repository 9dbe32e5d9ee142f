// Expert placement across expert-parallel ranks and the expert map
// (global physical id -> local index, -1 when not local).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace moert {

enum class Placement {
  kLinear,     // contiguous blocks; the remainder goes to the lowest ranks
  kRoundRobin  // rank r holds r, r + ep_size, r + 2*ep_size, ...
};

// "linear" | "round_robin"; throws moert::Error listing both otherwise.
Placement placement_from_name(const std::string& name);
const char* placement_name(Placement p);

// The map of rank ep_rank: [num_physical] int32. Throws on bad arguments.
std::vector<int32_t> make_expert_map(int32_t num_physical, int32_t ep_rank, int32_t ep_size, Placement placement);

// Number of entries != -1.
int32_t count_local_experts(const std::vector<int32_t>& expert_map);

}  // namespace moert
