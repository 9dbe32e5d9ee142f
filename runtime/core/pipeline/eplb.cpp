// EPLB: validation of the state and logical -> physical mapping with load recording.
#include "moert/eplb.h"

#include <string>

#include "moert/error.h"
#include "moert/host_tensor.h"
#include "reference/tensor_checks.h"

namespace moert {

int64_t validate_eplb_state(const moert_eplb_state& s, const LayerConfig& L) {
  if (s.struct_size < offsetof(moert_eplb_state, expert_load) + sizeof(moert_tensor))
    throw Error("EPLB state struct_size " + std::to_string(s.struct_size) + " is too small (expected " +
                std::to_string(sizeof(moert_eplb_state)) + ")");
  if (s.logical_to_physical_map.data == nullptr) throw Error("EPLB requires logical_to_physical_map");
  if (s.logical_replica_count.data == nullptr) throw Error("EPLB requires logical_replica_count");
  const auto& m = s.logical_to_physical_map;
  if (m.ndim != 2 || m.shape == nullptr || m.shape[0] != L.num_experts || m.shape[1] < 1)
    throw Error("EPLB logical_to_physical_map shape " + shape_string(checks::shape_of(m)) +
                " does not match [num_experts=" + std::to_string(L.num_experts) + ", max_replicas>=1]");
  checks::expect_dtype(m, "EPLB logical_to_physical_map", {kI32});
  checks::expect(s.logical_replica_count, "EPLB logical_replica_count", {kI32}, {L.num_experts},
                 "[num_experts=" + std::to_string(L.num_experts) + "]");
  if (s.expert_load.data != nullptr)
    checks::expect(s.expert_load, "EPLB expert_load", {kI64}, {L.num_physical()},
                   "[physical experts=" + std::to_string(L.num_physical()) + "]");
  return m.shape[1];
}

void eplb_map_ids(const LayerConfig& L, const int32_t* map, int64_t R, const int32_t* count, int64_t T,
                  const int32_t* logical, int32_t* physical, int64_t* load) {
  const int32_t K = L.top_k;
  const int32_t phys = L.num_physical();
  for (int64_t p = 0; p < T * K; ++p) {
    const int32_t e = logical[p];
    const int32_t c = count[e];
    if (c < 1 || c > R)
      throw Error("EPLB logical_replica_count[" + std::to_string(e) + "]=" + std::to_string(c) +
                  " must lie in [1, max_replicas=" + std::to_string(R) + "]");
    const int64_t r = p % c;
    const int32_t q = map[e * R + r];
    if (q < 0 || q >= phys)
      throw Error("EPLB logical_to_physical_map[" + std::to_string(e) + ", " + std::to_string(r) + "]=" +
                  std::to_string(q) + " is outside [0, physical experts=" + std::to_string(phys) + ")");
    physical[p] = q;
    if (load) ++load[q];
  }
}

}  // namespace moert
