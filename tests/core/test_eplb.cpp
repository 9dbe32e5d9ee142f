// EPLB: state validation, replica choice (flat position % replica count),
// load recording, and identical output with replicated experts.
#include <gtest/gtest.h>

#include <vector>

#include "moe_case.h"
#include "moert/eplb.h"
#include "moert/error.h"
#include "moert/layer_config.h"

using namespace moe_case;

namespace {

struct EplbBufs {
  Buf map, count, load;
  moert_eplb_state state() {
    moert_eplb_state s{};
    s.struct_size = sizeof s;
    s.logical_to_physical_map = map.view();
    s.logical_replica_count = count.view();
    s.expert_load = load.view();
    return s;
  }
};

// E logical experts; experts e < extra get a second replica at E + e.
EplbBufs make_eplb(int E, int extra) {
  EplbBufs b;
  b.map.init(moert::kI32, {E, 2});
  b.count.init(moert::kI32, {E});
  b.load.init(moert::kI64, {E + extra});
  for (int e = 0; e < E; ++e) {
    b.map.as<int32_t>()[e * 2] = e;
    b.map.as<int32_t>()[e * 2 + 1] = e < extra ? E + e : -1;
    b.count.as<int32_t>()[e] = e < extra ? 2 : 1;
  }
  return b;
}

TEST(Eplb, ReplicaIsFlatPositionModuloCount) {
  Params p;
  p.E = 4;
  p.K = 2;
  p.num_redundant = 2;
  Case c = make_case(p, 1);
  moert::LayerConfig L = moert::layer_config_from_desc(&c.desc);
  EplbBufs b = make_eplb(4, 2);
  const std::vector<int32_t> logical = {0, 3, 0, 1, 1, 2};  // T = 3
  std::vector<int32_t> phys(6);
  moert::eplb_map_ids(L, b.map.as<int32_t>(), 2, b.count.as<int32_t>(), 3, logical.data(), phys.data(),
                      b.load.as<int64_t>());
  // p=0: e0 r0 -> 0; p=1: e3 -> 3; p=2: e0 r0 -> 0; p=3: e1 r1 -> 5; p=4: e1 r0 -> 1; p=5: e2 -> 2
  EXPECT_EQ(phys, (std::vector<int32_t>{0, 3, 0, 5, 1, 2}));
  const int64_t* load = b.load.as<int64_t>();
  EXPECT_EQ(load[0], 2);
  EXPECT_EQ(load[1], 1);
  EXPECT_EQ(load[2], 1);
  EXPECT_EQ(load[3], 1);
  EXPECT_EQ(load[4], 0);
  EXPECT_EQ(load[5], 1);
}

TEST(Eplb, ValidationNamesTheMissingPiece) {
  Params p;
  Case c = make_case(p, 1);
  EplbBufs b = make_eplb(p.E, 0);
  moert_eplb_state s = b.state();
  s.logical_to_physical_map.data = nullptr;
  RunResult r = run_default(c, nullptr, &s);
  EXPECT_NE(r.error.find("EPLB requires logical_to_physical_map"), std::string::npos) << r.error;
  s = b.state();
  s.logical_replica_count.data = nullptr;
  r = run_default(c, nullptr, &s);
  EXPECT_NE(r.error.find("EPLB requires logical_replica_count"), std::string::npos) << r.error;
  s = b.state();
  int64_t bad_shape[2] = {3, 2};
  s.logical_to_physical_map.shape = bad_shape;
  r = run_default(c, nullptr, &s);
  EXPECT_NE(r.error.find("logical_to_physical_map shape [3, 2] does not match [num_experts=8"), std::string::npos)
      << r.error;
  b.count.as<int32_t>()[2] = 3;
  s = b.state();
  r = run_default(c, nullptr, &s);
  EXPECT_NE(r.error.find("logical_replica_count[2]=3"), std::string::npos) << r.error;
}

// Physical experts E..E+extra-1 are copies of logical 0..extra-1.
Case replicated_case(Params p, int extra, uint64_t seed) {
  Case c = make_case(p, seed);
  std::vector<int> held;
  for (int e = 0; e < p.E; ++e) held.push_back(e);
  for (int e = 0; e < extra; ++e) held.push_back(e);
  hold_experts(c, held);
  c.p.num_redundant = extra;
  c.desc.num_redundant_experts = extra;
  return c;
}

TEST(Eplb, ReplicasGiveTheSameOutputAndRecordLoads) {
  for (int quant : {MOERT_QUANT_NONE, MOERT_QUANT_FP8_PER_CHANNEL, MOERT_QUANT_MXFP4}) {
    Params p;
    p.E = 8;
    p.K = 3;
    p.T = 13;
    p.quant = quant;
    Case plain = make_case(p, 40 + quant);
    RunResult base = run_default(plain);
    ASSERT_EQ(base.error, "");
    Case c = replicated_case(p, 4, 40 + quant);
    EplbBufs b = make_eplb(8, 4);
    moert_eplb_state s = b.state();
    RunResult r = run_default(c, nullptr, &s);
    ASSERT_EQ(r.error, "");
    EXPECT_EQ(r.unwritten, 0);
    EXPECT_LT(ref64::rel_error(r.out, base.out), 1e-6);
    EXPECT_LT(ref64::rel_error(r.out, plain.reference()), 1e-5);
    int64_t total = 0, replica_hits = 0;
    for (int q = 0; q < 12; ++q) total += b.load.as<int64_t>()[q];
    for (int q = 8; q < 12; ++q) replica_hits += b.load.as<int64_t>()[q];
    EXPECT_EQ(total, p.T * p.K);
    EXPECT_GT(replica_hits, 0);  // the replicas were actually used
  }
}

TEST(Eplb, LoadIsOptional) {
  Params p;
  Case c = replicated_case(p, 2, 3);
  EplbBufs b = make_eplb(p.E, 2);
  moert_eplb_state s = b.state();
  s.expert_load = moert_tensor{};
  RunResult r = run_default(c, nullptr, &s);
  EXPECT_EQ(r.error, "");
}

}  // namespace
