// Expert placement: linear and round-robin maps; expert-map validation.
#include <gtest/gtest.h>

#include <vector>

#include "moe_case.h"
#include "moert/error.h"
#include "moert/expert_map.h"

using namespace moe_case;

namespace {

TEST(ExpertMap, LinearGivesTheRemainderToLowRanks) {
  // 10 experts on 4 ranks: 3, 3, 2, 2.
  const std::vector<std::vector<int>> owned = {{0, 1, 2}, {3, 4, 5}, {6, 7}, {8, 9}};
  for (int r = 0; r < 4; ++r) {
    std::vector<int32_t> m = moert::make_expert_map(10, r, 4, moert::Placement::kLinear);
    ASSERT_EQ(m.size(), 10u);
    EXPECT_EQ(moert::count_local_experts(m), static_cast<int>(owned[r].size()));
    for (size_t i = 0; i < owned[r].size(); ++i) EXPECT_EQ(m[owned[r][i]], static_cast<int>(i));
  }
}

TEST(ExpertMap, RoundRobin) {
  std::vector<int32_t> m = moert::make_expert_map(10, 1, 4, moert::Placement::kRoundRobin);
  const std::vector<int32_t> want = {-1, 0, -1, -1, -1, 1, -1, -1, -1, 2};
  EXPECT_EQ(m, want);
}

TEST(ExpertMap, EveryExpertHasExactlyOneOwner) {
  for (auto pl : {moert::Placement::kLinear, moert::Placement::kRoundRobin})
    for (int ep = 1; ep <= 7; ++ep) {
      std::vector<int> owners(13, 0);
      for (int r = 0; r < ep; ++r) {
        auto m = moert::make_expert_map(13, r, ep, pl);
        for (int g = 0; g < 13; ++g) owners[g] += m[g] >= 0;
      }
      for (int g = 0; g < 13; ++g) EXPECT_EQ(owners[g], 1) << moert::placement_name(pl) << " ep=" << ep;
    }
}

TEST(ExpertMap, BadArgumentsAreNamed) {
  EXPECT_THROW(moert::make_expert_map(8, 4, 4, moert::Placement::kLinear), moert::Error);
  try {
    moert::placement_from_name("striped");
    FAIL();
  } catch (const moert::Error& e) {
    EXPECT_NE(std::string(e.what()).find("linear or round_robin"), std::string::npos);
  }
}

TEST(ExpertMap, LayerValidationThroughTheAbi) {
  Params p;
  p.E = 8;
  p.expert_map = {0, 1, -1, -1, -1, -1, -1, 5};  // local index 5 but only 3 local experts
  Case c = make_case(p, 1);
  RunResult r = run_default(c);
  EXPECT_EQ(r.code, MOERT_STATUS_INVALID_ARGUMENT);
  EXPECT_NE(r.error.find("expert_map[7]=5 must be -1 or a local index in [0, num_local_experts=3)"), std::string::npos)
      << r.error;
  Params q;
  Case d = make_case(q, 1);
  d.desc.num_local_experts = 4;
  r = run_default(d);
  EXPECT_NE(r.error.find("expert_map is NULL (all experts local) but num_local_experts=4 != physical experts 8"),
            std::string::npos)
      << r.error;
}

TEST(ExpertMap, NonLocalExpertsContributeZero) {
  Params p;
  p.E = 8;
  p.K = 3;
  p.T = 11;
  p.expert_map = {-1, 0, -1, 1, -1, -1, 2, -1};
  Case c = make_case(p, 5);
  RunResult r = run_default(c);
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.unwritten, 0);
  EXPECT_LT(ref64::rel_error(r.out, c.reference()), 1e-5);
}

}  // namespace
