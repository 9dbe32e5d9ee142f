#include "token_grouping.h"

#include <stdexcept>
#include <string>

namespace moert_cpu {

static int32_t local_of(int32_t id, const int32_t* expert_map, int32_t num_physical, int32_t num_local) {
  if (id < 0 || id >= num_physical)
    throw std::invalid_argument("topk id " + std::to_string(id) + " outside [0, " +
                                std::to_string(num_physical) + ")");
  int32_t l = expert_map ? expert_map[id] : id;
  return (l >= 0 && l < num_local) ? l : -1;
}

void group_by_expert(const int32_t* ids, const float* weights, int64_t T, int32_t top_k,
                     const int32_t* expert_map, int32_t num_physical, int32_t num_local,
                     ExpertGroups* out) {
  int32_t* off = out->offsets;
  for (int32_t e = 0; e <= num_local; ++e) off[e] = 0;
  const int64_t slots = T * top_k;
  for (int64_t s = 0; s < slots; ++s) {
    int32_t l = local_of(ids[s], expert_map, num_physical, num_local);
    if (l >= 0) ++off[l + 1];
  }
  for (int32_t e = 0; e < num_local; ++e) off[e + 1] += off[e];
  // Second pass fills in token order; offsets are shifted back afterwards.
  for (int64_t s = 0; s < slots; ++s) {
    int32_t l = local_of(ids[s], expert_map, num_physical, num_local);
    if (l < 0) continue;
    int32_t pos = off[l]++;
    out->tokens[pos] = static_cast<int32_t>(s / top_k);
    out->weights[pos] = weights[s];
  }
  for (int32_t e = num_local; e > 0; --e) off[e] = off[e - 1];
  off[0] = 0;
}

}  // namespace moert_cpu
