// Expert placement: linear and round-robin expert maps.
#include "moert/expert_map.h"

#include "moert/error.h"

namespace moert {

Placement placement_from_name(const std::string& name) {
  if (name == "linear") return Placement::kLinear;
  if (name == "round_robin") return Placement::kRoundRobin;
  throw Error("unknown expert placement '" + name + "' (expected linear or round_robin)");
}

const char* placement_name(Placement p) { return p == Placement::kLinear ? "linear" : "round_robin"; }

std::vector<int32_t> make_expert_map(int32_t n, int32_t rank, int32_t ep, Placement placement) {
  if (n < 1) throw Error("make_expert_map: num_physical=" + std::to_string(n) + " must be >= 1");
  if (ep < 1 || rank < 0 || rank >= ep)
    throw Error("make_expert_map: ep_rank=" + std::to_string(rank) + " must lie in [0, ep_size=" +
                std::to_string(ep) + ")");
  std::vector<int32_t> map(static_cast<size_t>(n), -1);
  if (placement == Placement::kLinear) {
    const int32_t base = n / ep, rem = n % ep;
    const int32_t count = base + (rank < rem ? 1 : 0);
    const int32_t start = rank * base + (rank < rem ? rank : rem);
    for (int32_t i = 0; i < count; ++i) map[static_cast<size_t>(start + i)] = i;
  } else {
    int32_t local = 0;
    for (int32_t g = rank; g < n; g += ep) map[static_cast<size_t>(g)] = local++;
  }
  return map;
}

int32_t count_local_experts(const std::vector<int32_t>& map) {
  int32_t c = 0;
  for (int32_t v : map) c += v >= 0 ? 1 : 0;
  return c;
}

}  // namespace moert
