// Groups routed slots by local expert (a counting sort), so that each
// expert's GEMMs see its tokens as one contiguous batch.
#pragma once

#include <cstdint>

namespace moert_cpu {

struct ExpertGroups {
  int32_t* offsets;   // [E_local + 1]: slots of expert e are [offsets[e], offsets[e+1])
  int32_t* tokens;    // [T * top_k]: token of each grouped slot
  float* weights;     // [T * top_k]: router weight of each grouped slot
};

// ids [T, top_k] are global physical expert ids; expert_map (NULL = identity)
// sends them to local indices or -1 (dropped: another EP rank's expert).
// Ids outside [0, num_physical) raise std::invalid_argument.
void group_by_expert(const int32_t* ids, const float* weights, int64_t T, int32_t top_k,
                     const int32_t* expert_map, int32_t num_physical, int32_t num_local,
                     ExpertGroups* out);

}  // namespace moert_cpu
