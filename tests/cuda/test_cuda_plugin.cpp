// Numerics and contract tests of libmoert-cuda.so through its C ABI, against
// the float64 reference of cuda_test_support. GPU tests skip with the
// probe's reason when no usable GPU is present.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "cuda_harness.h"
#include "cuda_test_support.h"

using namespace cudatest;

#define REQUIRE_GPU()                                                        \
  do {                                                                       \
    if (!plugin().usable) GTEST_SKIP() << "CUDA plugin: " << plugin().reason; \
  } while (0)

namespace {

double bound_for(const Case& c) {
  if (c.quant == MOERT_QUANT_NONE) return c.bf16 ? 1e-2 : 3e-3;
  return 3e-2;  // fp8 / MXFP4: weights round to the activation dtype in the load path
}

// Runs one forward of T tokens and returns the relative error.
double run_case(const Case& c, int64_t T, uint64_t seed, bool weights_on_device = false) {
  const HostWeights w = make_weights(c, seed);
  Harness h(c, w, weights_on_device);
  const auto x = random_act(c, T * c.H, seed + 1, c.act_amp);
  const auto lg = random_logits(T * c.E, seed + 2);
  h.set_inputs(x, lg, T);
  h.forward();
  const auto got = h.output();
  const auto ref = reference(c, w, x, lg, T, nullptr, nullptr);
  return rel_err(ref, got);
}

}  // namespace

TEST(CudaPlugin, ProbeAnswersWithoutCrashing) {
  const Plugin& p = plugin();
  ASSERT_NE(p.api, nullptr) << p.reason;
  EXPECT_STREQ(p.api->name, "cuda");
  EXPECT_EQ(p.api->abi_major, (uint32_t)MOERT_ABI_MAJOR);
  char why[256] = {0};
  const int32_t usable = p.api->probe(why, sizeof why);
  if (!usable) EXPECT_EQ(std::string(why).rfind("not usable", 0), 0u) << why;
  ASSERT_TRUE(MOERT_HAS_FIELD(p.api, moert_plugin_api, graph_destroy));
  EXPECT_NE(p.api->graph_capture_begin, nullptr);
  EXPECT_NE(p.api->event_elapsed_ms, nullptr);
}

TEST(CudaPlugin, CanImplementSaysWhy) {
  const Plugin& p = plugin();
  ASSERT_NE(p.api, nullptr) << p.reason;
  Case c;
  moert_layer_desc d = make_desc(c);
  d.activation_dtype = {MOERT_DTYPE_FLOAT, 32, 1};
  d.weight_dtype = d.activation_dtype;
  moert_error* e = p.api->runners[0]->can_implement(&d);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(p.api->error_code(e), MOERT_STATUS_UNIMPLEMENTED);
  EXPECT_NE(std::string(p.api->error_message(e)).find("activation_dtype"), std::string::npos);
  p.api->error_destroy(e);
  d = make_desc(c);
  EXPECT_EQ(p.api->runners[0]->can_implement(&d), nullptr);
}

// The message of create's error for a layer with this one option, which
// must be refused as INVALID_ARGUMENT without a runner.
std::string refused_option_message(const moert_kv& kv) {
  const Plugin& p = plugin();
  Case c;
  c.options = {kv};
  const moert_layer_desc d = make_desc(c);
  moert_runner* r = nullptr;
  moert_error* e = p.api->runners[0]->create(&d, 0, &r);
  if (!e) {
    ADD_FAILURE() << "option '" << kv.key << "' = '" << kv.value << "' was accepted";
    if (r) p.api->runners[0]->destroy(r);
    return "";
  }
  EXPECT_EQ(p.api->error_code(e), MOERT_STATUS_INVALID_ARGUMENT) << kv.key;
  const std::string msg = p.api->error_message(e);
  p.api->error_destroy(e);
  EXPECT_EQ(r, nullptr) << kv.key;
  return msg;
}

TEST(CudaPlugin, BadDecodeKernelOptionNamesTheKey) {
  REQUIRE_GPU();
  for (const moert_kv kv : {moert_kv{"cuda.gemv_kernel", "fast"}, moert_kv{"cuda.gemv_pairs_per_warp", "65"},
                            moert_kv{"cuda.fused_decode", "on"}, moert_kv{"cuda.gemv_rows_groups", "0"},
                            moert_kv{"cuda.gemv_rows_per_pass", "4"}, moert_kv{"cuda.wgmma_l2_hints", "auto"},
                            moert_kv{"cuda.fused_gemv", "yes"}, moert_kv{"cuda.wgmma_epilogue", "smem"}}) {
    const std::string msg = refused_option_message(kv);
    EXPECT_NE(msg.find(kv.key), std::string::npos) << msg;
    EXPECT_NE(msg.find(std::string("'") + kv.value + "'"), std::string::npos) << msg;
  }
}

// A key the runner does not know is refused in create, naming the key and
// the keys it accepts: a typo (cuda.fused_gmev) or another backend's key
// would otherwise change nothing, silently.
TEST(CudaPlugin, UnknownOptionIsRefusedWithTheAcceptedKeys) {
  REQUIRE_GPU();
  for (const moert_kv kv : {moert_kv{"cuda.fused_gmev", "on"}, moert_kv{"use_graphs", "true"}, moert_kv{"", "x"}}) {
    const std::string msg = refused_option_message(kv);
    EXPECT_NE(msg.find(std::string("unknown option '") + kv.key + "'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("cuda.fused_gemv,"), std::string::npos) << msg;
  }
}

struct NumericsCase {
  const char* name;
  Case c;
  int64_t T;
};

class CudaNumerics : public ::testing::TestWithParam<NumericsCase> {};

TEST_P(CudaNumerics, MatchesFloat64Reference) {
  REQUIRE_GPU();
  const NumericsCase& nc = GetParam();
  const double err = run_case(nc.c, nc.T, 1234);
  RecordProperty("rel_err", std::to_string(err));
  std::printf("[ numerics ] %-28s T=%-4lld rel_err %.3e (bound %.0e)\n", nc.name, (long long)nc.T, err,
              bound_for(nc.c));
  EXPECT_LT(err, bound_for(nc.c)) << nc.name;
}

static std::vector<NumericsCase> numerics_cases() {
  std::vector<NumericsCase> v;
  auto add = [&](const char* n, Case c, std::vector<int64_t> Ts) {
    for (int64_t T : Ts) v.push_back({n, c, T});
  };
  Case base;  // bf16 softmax top-2 renormalized, silu_and_mul
  base.max_tokens = 300;
  add("bf16_softmax_silu", base, {1, 5, 37, 300});  // 1..37 decode path, 300 tensor cores
  Case f16 = base;
  f16.bf16 = false;
  f16.act = MOERT_ACT_GELU_AND_MUL;
  add("f16_gelu", f16, {3, 300});
  Case grp = base;
  grp.E = 16; grp.K = 4; grp.routing = MOERT_ROUTING_GROUPED_TOPK; grp.scoring = MOERT_SCORING_SIGMOID;
  grp.groups = 4; grp.topk_group = 2; grp.corr_bias = true; grp.scaling = 2.5f;
  add("grouped_sigmoid_bias", grp, {7, 200});
  Case nomul = base;
  nomul.act = MOERT_ACT_RELU2;
  nomul.renorm = false;
  add("relu2_no_renorm", nomul, {4, 300});
  Case gt = base;
  gt.act = MOERT_ACT_GELU_TANH_AND_MUL;
  add("gelu_tanh", gt, {9});
  Case fp8t = base;
  fp8t.H = 256; fp8t.I = 192; fp8t.quant = MOERT_QUANT_FP8_PER_TENSOR; fp8t.act_quant = MOERT_ACT_QUANT_FP8_PER_TOKEN;
  add("fp8_tensor_w8a8", fp8t, {2, 300});
  Case fp8c = fp8t;
  fp8c.quant = MOERT_QUANT_FP8_PER_CHANNEL;
  add("fp8_channel_w8a8", fp8c, {5, 300});
  Case fp8b = fp8t;
  fp8b.H = 384; fp8b.I = 320; fp8b.quant = MOERT_QUANT_FP8_BLOCK_128;
  add("fp8_block128_w8a8", fp8b, {3, 300});
  Case fp8bw = fp8b;
  fp8bw.act_quant = MOERT_ACT_QUANT_NONE;
  add("fp8_block128_w8a16", fp8bw, {3, 300});
  Case mx = base;  // gpt-oss style
  mx.H = 256; mx.I = 128; mx.E = 8; mx.K = 4;
  mx.quant = MOERT_QUANT_MXFP4; mx.act = MOERT_ACT_SWIGLUOAI; mx.layout = MOERT_GATE_UP_INTERLEAVED; mx.bias = true;
  add("mxfp4_gptoss", mx, {1, 6, 300});
  Case mxf = mx;
  mxf.bf16 = false;
  add("mxfp4_gptoss_f16", mxf, {1, 4, 300});
  Case il = base;
  il.layout = MOERT_GATE_UP_INTERLEAVED; il.bias = true;
  add("bf16_interleaved_bias", il, {3, 300});
  Case sh = base;
  sh.shared = true; sh.shared_gate = true; sh.shared_I = 96;
  add("shared_expert_gated", sh, {1, 4, 300});
  Case sh2 = base;
  sh2.shared = true; sh2.shared_I = 512; sh2.shared_act = MOERT_ACT_GELU_AND_MUL;  // wider than routed: chunks
  add("shared_expert_wide", sh2, {300});
  Case t128 = base;  // >= 128 rows per expert: 128-row tensor-core tiles
  t128.E = 4;
  t128.max_tokens = 700;
  add("bf16_tile128", t128, {700});
  Case mx128 = mx;
  mx128.options = {{"cuda.mma_tile_rows", "128"}};
  add("mxfp4_forced_tile128", mx128, {300});
  Case fp8b128 = fp8b;
  fp8b128.options = {{"cuda.mma_tile_rows", "128"}};
  add("fp8_block128_forced_tile128", fp8b128, {300});
  Case gemv_all = base;  // the decode GEMV forced for many rows per expert
  gemv_all.H = 2048; gemv_all.I = 256;  // K split over several warps
  gemv_all.options = {{"cuda.decode_rows_per_expert", "1000"}};
  add("bf16_forced_gemv_ksplit", gemv_all, {3, 40});
  Case mxg = mx;
  mxg.H = 4096;
  mxg.options = {{"cuda.decode_rows_per_expert", "1000"}};
  add("mxfp4_forced_gemv", mxg, {20});
  // The two decode kernels forced both ways at one token (auto picks the
  // streaming kernel for MXFP4 only): every weight format, per-token fp8
  // scales, the shared expert, and a ring over several row pairs per warp
  // with idle lanes (K = 128: 4 chunks per row).
  Case st = base;
  st.options = {{"cuda.gemv_kernel", "stream"}};
  add("bf16_stream_gemv", st, {1});
  Case st_sh = sh;
  st_sh.options = {{"cuda.gemv_kernel", "stream"}};
  add("shared_expert_stream_gemv", st_sh, {1});
  Case st_fp8 = fp8t;
  st_fp8.options = {{"cuda.gemv_kernel", "stream"}};
  add("fp8_tensor_w8a8_stream_gemv", st_fp8, {1});
  Case st_fp8b = fp8bw;
  st_fp8b.options = {{"cuda.gemv_kernel", "stream"}};
  add("fp8_block128_w8a16_stream_gemv", st_fp8b, {1});
  Case mx_rows = mx;
  mx_rows.options = {{"cuda.gemv_kernel", "rows"}};
  add("mxfp4_rows_gemv", mx_rows, {1});
  Case mx_ppw = mx;
  mx_ppw.H = 4096;
  mx_ppw.options = {{"cuda.gemv_kernel", "stream"}, {"cuda.gemv_pairs_per_warp", "3"}};
  add("mxfp4_stream_3_pairs_per_warp", mx_ppw, {1});
  // The bulk-copy decode kernel (grouped_gemv_bulk.cu, sm_90) forced at one
  // and several tokens: every weight format, f16, per-token fp8 scales, the
  // shared expert, and rings that wrap many times (64 pairs per warp, up to 8
  // slots).
  for (const auto& [name, c] : std::vector<std::pair<const char*, Case>>{
           {"bf16_bulk_gemv", base}, {"fp8_tensor_w8a8_bulk_gemv", fp8t}, {"fp8_block128_w8a16_bulk_gemv", fp8bw},
           {"mxfp4_gptoss_bulk_gemv", mx}, {"mxfp4_gptoss_f16_bulk_gemv", mxf}, {"shared_expert_bulk_gemv", sh}}) {
    Case b = c;
    b.options = {{"cuda.gemv_kernel", "bulk"}};
    add(name, b, {1, 5, 37});  // 5, 37 tokens: 8 rows per pass, groups of over 8 rows take two
  }
  Case bulk_wrap = base;
  bulk_wrap.options = {{"cuda.gemv_kernel", "bulk"}, {"cuda.gemv_pairs_per_warp", "64"}};
  add("bf16_bulk_gemv_64_pairs_per_warp", bulk_wrap, {1});
  Case mx_wrap = mx;
  mx_wrap.H = 4096;
  mx_wrap.options = {{"cuda.gemv_kernel", "bulk"}, {"cuda.gemv_pairs_per_warp", "64"}};
  add("mxfp4_bulk_gemv_64_pairs_per_warp", mx_wrap, {1});
  // The bulk kernel stages each pair's MXFP4 scales with its weights (the
  // 16-byte-aligned range covering them): K = 288 and 160 (9 and 5 scales a
  // row) put a pair's first scale at every even offset in its range; K =
  // 16416 (513 a row) is over the staged span, so GEMV1 reads its scales
  // from global memory while GEMV2 (K = 128) stages them.
  Case mx_offsets = mx;
  mx_offsets.H = 288; mx_offsets.I = 160;
  mx_offsets.options = {{"cuda.gemv_kernel", "bulk"}};
  add("mxfp4_bulk_gemv_scale_offsets", mx_offsets, {1, 5});
  Case mx_unstaged = mx;
  mx_unstaged.H = 16416;
  mx_unstaged.options = {{"cuda.gemv_kernel", "bulk"}};
  add("mxfp4_bulk_gemv_scales_unstaged", mx_unstaged, {1});
  // One token, MXFP4: the bulk kernel stages the row as f16 times 2^s, s
  // from the row's largest magnitude (gemv_mx_half2.cuh). Activations of
  // 2^20 would overflow f16 unscaled; of 2^-20 (no bias, so GEMV2's row is
  // tiny too) their products would be f16 subnormals or zero.
  Case mx_large = mx;
  mx_large.act_amp = 1048576.f;
  add("mxfp4_1tok_act_2pow20", mx_large, {1});
  Case mx_tiny = mx;
  mx_tiny.bias = false;
  mx_tiny.act_amp = 1.f / 1048576.f;
  add("mxfp4_1tok_act_2powm20", mx_tiny, {1});
  // The rows kernel's options on top of a case: `opts` are added to the
  // case's own (literals), and the decode GEMV is forced for many rows per expert.
  auto add_rows = [&](const char* name, Case c, std::vector<moert_kv> opts,
                      std::vector<int64_t> tokens) {
    c.options.push_back({"cuda.decode_rows_per_expert", "1000"});
    for (auto& o : opts) c.options.push_back(o);
    add(name, c, tokens);
  };
  // Several groups of row pairs per block (cuda.gemv_rows_groups): 3 groups,
  // so the last block's later groups are partly past N; K split over warps
  // (H = 2048) too; MXFP4.
  add_rows("bf16_rows_3_groups", base, {{"cuda.gemv_rows_groups", "3"}}, {5, 37});
  add_rows("bf16_rows_3_groups_ksplit", gemv_all, {{"cuda.gemv_rows_groups", "3"}}, {3, 40});
  add_rows("mxfp4_rows_3_groups", mx, {{"cuda.gemv_rows_groups", "3"}}, {6});
  // Passes of 2 token rows (cuda.gemv_rows_per_pass: 2; auto picks them when
  // experts average <= 2 rows): groups of 1-9 rows take 1-5 passes, with
  // the K split, fp8 block scales and MXFP4 (with 1 group per block).
  add_rows("bf16_rows_2_per_pass", base, {{"cuda.gemv_rows_per_pass", "2"}}, {3, 37});
  // 4 groups forced (auto takes 2 for these short N, 4 from 32 blocks an expert).
  add_rows("bf16_rows_4_groups_2_per_pass", base, {{"cuda.gemv_rows_per_pass", "2"}, {"cuda.gemv_rows_groups", "4"}},
           {5, 37});
  // Short dense rows in one trip of loads (K = 768: three chunks per lane in
  // GEMV1; K = 640: the third chunk on half the lanes in GEMV2).
  Case one_trip = base;
  one_trip.H = 768; one_trip.I = 640;
  add_rows("bf16_rows_one_trip", one_trip, {{"cuda.gemv_rows_per_pass", "2"}}, {5, 37});
  add_rows("bf16_rows_2_per_pass_ksplit", gemv_all, {{"cuda.gemv_rows_per_pass", "2"}}, {5, 40});
  add_rows("fp8_block128_rows_2_per_pass", fp8bw, {{"cuda.gemv_rows_per_pass", "2"}}, {7});
  add_rows("mxfp4_rows_2_per_pass", mx, {{"cuda.gemv_rows_per_pass", "2"}, {"cuda.gemv_rows_groups", "1"}}, {6});
  Case bk64 = base;  // K % 64 == 0 in both GEMMs: the 64-deep k tiles
  bk64.H = 256; bk64.I = 192; bk64.E = 4; bk64.max_tokens = 700;
  add("bf16_bk64", bk64, {100, 700});
  Case bk32 = bk64;
  bk32.options = {{"cuda.mma_bk", "32"}};
  add("bf16_bk32", bk32, {100, 700});
  Case ep = base;  // EP rank 0 of 2: even experts are local
  ep.num_local = 4;
  ep.expert_map = {0, -1, 1, -1, 2, -1, 3, -1};
  add("expert_map_rank0", ep, {6, 300});
  // 8800 slots: the many-block sort (sort_align.cu, from 8192 slots; 5
  // blocks of 2048, the last partial), alone and with non-local slots.
  Case big = base;
  big.E = 64; big.K = 8; big.max_tokens = 1100;
  add("many_block_sort", big, {1100});
  Case big_ep = big;
  big_ep.E = 16; big_ep.num_local = 8;
  big_ep.expert_map.assign(16, -1);
  for (int e = 0; e < 16; e += 2) big_ep.expert_map[e] = e / 2;
  add("many_block_sort_expert_map", big_ep, {1100});
  // 128-row tiles with dense weights and K % 64 == 0: on sm_90 the wgmma
  // kernel (grouped_gemm_sm90.cu). Hundreds of rows per expert, partial
  // column tiles (N = 576 and 320 against 128/256-wide tiles), gated + bias +
  // interleaved, single activation with an expert map (c_index), and
  // forced 128-row tiles with ~75 rows per expert (half-empty tiles).
  Case wg = base;
  wg.H = 576; wg.I = 384; wg.max_tokens = 2048;
  wg.layout = MOERT_GATE_UP_INTERLEAVED; wg.bias = true;
  add("bf16_wgmma_gated_bias", wg, {2048});
  Case wg_ep = base;
  wg_ep.bf16 = false; wg_ep.act = MOERT_ACT_RELU2;
  wg_ep.H = 512; wg_ep.I = 320; wg_ep.max_tokens = 2048;
  wg_ep.num_local = 4;
  wg_ep.expert_map = {0, -1, 1, -1, 2, -1, 3, -1};
  add("f16_wgmma_relu2_expert_map", wg_ep, {2048});
  Case wg_bf16_ep = wg_ep;
  wg_bf16_ep.bf16 = true; wg_bf16_ep.act = MOERT_ACT_SILU_AND_MUL;
  add("bf16_wgmma_expert_map", wg_bf16_ep, {2048});
  Case wg_hints = base;  // 1024 rows per expert, the L2 eviction hints on (option; off by default)
  wg_hints.E = 2; wg_hints.K = 1;
  wg_hints.H = 512; wg_hints.I = 256; wg_hints.max_tokens = 2048;
  wg_hints.options = {{"cuda.wgmma_l2_hints", "on"}};
  add("bf16_wgmma_l2_hints", wg_hints, {2048});
  Case wg_small = base;
  wg_small.I = 128;
  wg_small.options = {{"cuda.mma_tile_rows", "128"}};
  add("bf16_wgmma_forced_tile128", wg_small, {300});
  // 64-row tiles with dense weights and K % 64 == 0: on sm_90 the 64 x 256
  // wgmma tile, its two consumer warpgroups side by side. N = 640 and 320:
  // last column tiles of 128 and 64 columns (the second warpgroup idle);
  // gated + bias + interleaved, then f16 relu2 with an expert map (the
  // scattered store of GEMM2 through c_index).
  Case wg64 = base;
  wg64.H = 320; wg64.I = 320;
  wg64.layout = MOERT_GATE_UP_INTERLEAVED; wg64.bias = true;
  wg64.options = {{"cuda.mma_tile_rows", "64"}};
  add("bf16_wgmma64_gated_bias", wg64, {300});
  Case wg64_ep = wg64;
  wg64_ep.bf16 = false; wg64_ep.act = MOERT_ACT_RELU2; wg64_ep.bias = false; wg64_ep.layout = MOERT_GATE_UP_CONCAT;
  wg64_ep.num_local = 4;
  wg64_ep.expert_map = {0, -1, 1, -1, 2, -1, 3, -1};
  add("f16_wgmma64_relu2_expert_map", wg64_ep, {300});
  // The epilogue kinds fragment_epilogue.cuh specializes that the cases above
  // do not reach: gpt-oss' clamped swiglu with biases (bf16 weights) through
  // the 128- and 64-row tiles, and f16 silu without bias (plain GEMM2 store)
  // through the 64-row tile.
  Case wg_oai = wg;
  wg_oai.act = MOERT_ACT_SWIGLUOAI;
  add("bf16_wgmma_swigluoai_bias", wg_oai, {2048});
  Case wg64_oai = wg64;
  wg64_oai.act = MOERT_ACT_SWIGLUOAI;
  add("bf16_wgmma64_swigluoai_bias", wg64_oai, {300});
  Case wg64_f16 = wg64;
  wg64_f16.bf16 = false; wg64_f16.bias = false; wg64_f16.layout = MOERT_GATE_UP_CONCAT;
  add("f16_wgmma64_silu", wg64_f16, {300});

  return v;
}

INSTANTIATE_TEST_SUITE_P(All, CudaNumerics, ::testing::ValuesIn(numerics_cases()),
                         [](const ::testing::TestParamInfo<NumericsCase>& i) {
                           return std::string(i.param.name) + "_T" + std::to_string(i.param.T);
                         });

// One token: the fused decode GEMV (routing inside GEMM1;
// kernels/cuda/decode_route.cuh) against the unfused kernel sequence
// (cuda.fused_decode: off) of the same plugin: bit for bit, and both against
// the float64 reference. Router kinds, gated and single
// activations, MXFP4 with biases, f16, top-32 (every lane of the routing
// warp holds a slot), 200, 256 (grouped) and 384 experts (the routing's
// register and shared-memory paths), rows in several K-segments in either GEMM, and an
// expert map over many seeds (tokens with 0, 1 or 2 local slots). The same
// with GEMV1 and GEMV2 in one cooperative kernel (cuda.fused_gemv: on; its
// inactive blocks, past the local slots, still meet the grid barrier).
TEST(CudaPlugin, FusedDecodeMatchesUnfusedBitForBit) {
  REQUIRE_GPU();
  Case base;
  Case f16 = base;
  f16.bf16 = false;
  f16.act = MOERT_ACT_GELU_AND_MUL;
  Case grp = base;
  grp.E = 16; grp.K = 4; grp.routing = MOERT_ROUTING_GROUPED_TOPK; grp.scoring = MOERT_SCORING_SIGMOID;
  grp.groups = 4; grp.topk_group = 2; grp.corr_bias = true; grp.scaling = 2.5f;
  Case single = base;
  single.act = MOERT_ACT_RELU2;
  single.renorm = false;
  Case mx = base;
  mx.H = 256; mx.I = 128; mx.K = 4;
  mx.quant = MOERT_QUANT_MXFP4; mx.act = MOERT_ACT_SWIGLUOAI; mx.layout = MOERT_GATE_UP_INTERLEAVED; mx.bias = true;
  Case mxf = mx;
  mxf.bf16 = false;
  Case k32 = base;
  k32.E = 64; k32.K = 32; k32.H = 128; k32.I = 64;
  Case seg2 = base;  // GEMM2 rows of 9 KB: pairs in two K-segments
  seg2.H = 256; seg2.I = 4608;
  Case seg1 = base;  // GEMM1 rows of 9 KB
  seg1.H = 4608; seg1.I = 128;
  Case ep = base;
  ep.num_local = 4;
  ep.expert_map = {0, -1, 1, -1, 2, -1, 3, -1};
  // The routing's register paths hold 1, 4 or 8 experts a lane (up to 256
  // experts); past that, scores in shared memory. The MXFP4 routed GEMV1
  // always takes the shared-memory path, so the mxfp4 cases also compare
  // the two paths bit for bit.
  Case e200 = base;
  e200.E = 200; e200.K = 6;
  Case ds = base;  // DeepSeek-V3's router: 256 experts, 8 groups, top-4 groups, top-8
  ds.E = 256; ds.K = 8; ds.routing = MOERT_ROUTING_GROUPED_TOPK; ds.scoring = MOERT_SCORING_SIGMOID;
  ds.groups = 8; ds.topk_group = 4; ds.corr_bias = true; ds.scaling = 2.5f;
  Case e384 = base;
  e384.E = 384; e384.K = 8;
  Case mx384 = mx;
  mx384.E = 384; mx384.K = 8;
  const std::vector<std::pair<const char*, Case>> cases = {
      {"bf16_softmax_silu", base}, {"f16_gelu", f16},         {"grouped_sigmoid_bias", grp}, {"relu2_no_renorm", single},
      {"mxfp4_gptoss", mx},        {"mxfp4_gptoss_f16", mxf}, {"top32_of_64", k32},         {"gemm2_segments", seg2},
      {"gemm1_segments", seg1},    {"expert_map", ep},        {"experts_200", e200},
      {"deepseek_grouped_256", ds}, {"experts_384", e384},    {"mxfp4_experts_384", mx384}};
  for (const auto& [name, c0] : cases) {
    const int seeds = c0.expert_map.empty() ? 1 : 12;
    for (int seed = 0; seed < seeds; ++seed) {
      const HostWeights w = make_weights(c0, 500 + seed);
      const auto x = random_act(c0, c0.H, 600 + seed);
      const auto lg = random_logits(c0.E, 700 + seed);
      const auto ref = reference(c0, w, x, lg, 1, nullptr, nullptr);
      auto run = [&](const char* mode) {
        Case c = c0;
        if (std::string(mode) == "fused_gemv") c.options = {{"cuda.fused_gemv", "on"}};
        else c.options = {{"cuda.fused_decode", mode}, {"cuda.fused_gemv", "off"}};
        Harness h(c, w);
        h.set_inputs(x, lg, 1);
        h.forward();
        return h.output();
      };
      const auto unfused = run("off");
      EXPECT_LT(rel_err(ref, unfused), bound_for(c0)) << name << " seed " << seed;
      for (const char* mode : {"auto", "fused_gemv"}) {
        const auto got = run(mode);
        ASSERT_EQ(got.size(), unfused.size());
        int64_t diff = 0;
        for (size_t i = 0; i < got.size(); ++i) diff += std::memcmp(&got[i], &unfused[i], sizeof(float)) != 0;
        EXPECT_EQ(diff, 0) << name << " seed " << seed << " fused_decode " << mode
                           << ": elements that differ from the unfused sequence";
        EXPECT_LT(rel_err(ref, got), bound_for(c0)) << name << " seed " << seed << " fused_decode " << mode;
      }
    }
  }
}

// The wgmma kernel's epilogue through shared memory (staged_epilogue.cuh)
// against the fragments' direct stores (option cuda.wgmma_epilogue): bit for
// bit, and both against the float64 reference. Gated silu and gpt-oss'
// swiglu with biases (GEMM1) and the plain store through c_index with a
// partial last column tile (GEMM2, N = 576 against 256-wide tiles), an
// expert map, 64-row tiles, f16 and half-empty 128-row tiles.
// Off sm_90 both modes run the mma.sync kernel, and only the reference
// comparison tests anything.
TEST(CudaPlugin, WgmmaStagedEpilogueMatchesDirectBitForBit) {
  REQUIRE_GPU();
  Case wg;
  wg.H = 576; wg.I = 384; wg.max_tokens = 2048;
  wg.layout = MOERT_GATE_UP_INTERLEAVED; wg.bias = true;
  Case oai = wg;
  oai.act = MOERT_ACT_SWIGLUOAI;
  Case ep;
  ep.H = 512; ep.I = 320; ep.max_tokens = 2048;
  ep.num_local = 4;
  ep.expert_map = {0, -1, 1, -1, 2, -1, 3, -1};
  Case t64;
  t64.H = 320; t64.I = 320; t64.max_tokens = 300;
  t64.layout = MOERT_GATE_UP_INTERLEAVED; t64.bias = true;
  t64.options = {{"cuda.mma_tile_rows", "64"}};
  Case t64_f16 = t64;
  t64_f16.bf16 = false; t64_f16.bias = false; t64_f16.layout = MOERT_GATE_UP_CONCAT;
  Case sparse;  // ~75 rows per 128-row tile
  sparse.I = 128; sparse.max_tokens = 300;
  sparse.options = {{"cuda.mma_tile_rows", "128"}};
  const std::vector<std::tuple<const char*, Case, int64_t>> cases = {
      {"gated_bias", wg, 2048}, {"swigluoai_bias", oai, 2048}, {"expert_map", ep, 2048},
      {"tile64_gated_bias", t64, 300}, {"tile64_f16", t64_f16, 300}, {"tile128_sparse", sparse, 300}};
  for (const auto& [name, c0, T] : cases) {
    const HostWeights w = make_weights(c0, 800);
    const auto x = random_act(c0, T * c0.H, 801);
    const auto lg = random_logits(T * c0.E, 802);
    const auto ref = reference(c0, w, x, lg, T, nullptr, nullptr);
    auto run = [&](const char* mode) {
      Case c = c0;
      c.options.push_back({"cuda.wgmma_epilogue", mode});
      Harness h(c, w);
      h.set_inputs(x, lg, T);
      h.forward();
      return h.output();
    };
    const auto direct = run("direct");
    const auto staged = run("staged");
    EXPECT_LT(rel_err(ref, direct), bound_for(c0)) << name << " direct";
    EXPECT_LT(rel_err(ref, staged), bound_for(c0)) << name << " staged";
    ASSERT_EQ(staged.size(), direct.size());
    int64_t diff = 0;
    for (size_t i = 0; i < staged.size(); ++i) diff += std::memcmp(&staged[i], &direct[i], sizeof(float)) != 0;
    EXPECT_EQ(diff, 0) << name << ": elements where the staged epilogue differs from the direct one";
  }
}

// Diagnostics: with MOERT_CUDA_FUSED_TRACE set, a runner that ran the fused
// one-token kernel appends its last forward's time stamps, summarized over
// blocks, to the file when it is destroyed (plugins/cuda/fused_trace.h):
// every event, in the kernel's order, for all blocks but the first-slot
// events (blocks with a local slot only).
TEST(CudaPlugin, FusedTraceWritesTheKernelsTimeline) {
  REQUIRE_GPU();
  const std::string path = ::testing::TempDir() + "moert_fused_trace.txt";
  std::remove(path.c_str());
  ASSERT_EQ(setenv("MOERT_CUDA_FUSED_TRACE", path.c_str(), 1), 0);
  Case c;
  c.options = {{"cuda.fused_gemv", "on"}};
  {
    const HostWeights w = make_weights(c, 41);
    Harness h(c, w);
    h.set_inputs(random_act(c, c.H, 42), random_logits(c.E, 43), 1);
    h.forward();
    h.forward();
  }
  unsetenv("MOERT_CUDA_FUSED_TRACE");
  std::FILE* f = std::fopen(path.c_str(), "r");
  ASSERT_NE(f, nullptr) << path << " was not written";
  std::vector<std::string> names;
  std::vector<double> medians;
  char line[512];
  int headers = 0;
  while (std::fgets(line, sizeof line, f)) {
    if (line[0] == '#') {
      ++headers;
      EXPECT_NE(std::strstr(line, "E 8 top-2 H 128 I 96 bf16"), nullptr) << line;
      continue;
    }
    char name[64];
    double mn, p10, p50, p90, mx;
    ASSERT_EQ(std::sscanf(line, "%63s %lf %lf %lf %lf %lf", name, &mn, &p10, &p50, &p90, &mx), 6) << line;
    EXPECT_LE(mn, p50) << line;
    EXPECT_LE(p50, mx) << line;
    EXPECT_GE(mn, 0.0) << line;
    EXPECT_LT(mx, 1e5) << line;  // under 100 ms: stamps of this forward
    names.push_back(name);
    medians.push_back(p50);
  }
  std::fclose(f);
  std::remove(path.c_str());
  EXPECT_EQ(headers, 1);
  const std::vector<std::string> want = {"start",        "route_begin",  "logits",       "scores",
                                         "picked",       "routed",       "first_slot_1", "phase1_done",
                                         "barrier_done", "first_slot_2", "phase2_done",  "end"};
  ASSERT_EQ(names, want);
  // Each block's stamps come in this order; the medians of the events that
  // every block has, too (the first-slot events are over active blocks only).
  std::vector<double> every;
  for (size_t i = 0; i < want.size(); ++i)
    if (want[i].rfind("first_slot", 0) != 0) every.push_back(medians[i]);
  EXPECT_TRUE(std::is_sorted(every.begin(), every.end()));
}

TEST(CudaPlugin, WeightsFromDeviceMemory) {
  REQUIRE_GPU();
  Case c;
  c.max_tokens = 100;
  c.quant = MOERT_QUANT_FP8_BLOCK_128;
  c.H = 256;
  c.I = 256;
  EXPECT_LT(run_case(c, 100, 77, /*weights_on_device=*/true), 3e-2);
}

TEST(CudaPlugin, EplbMapsReplicasAndRecordsLoad) {
  REQUIRE_GPU();
  Case c;
  c.E = 8; c.K = 3; c.redundant = 4; c.max_tokens = 128;
  // physical 0..11; rank 0 holds the even physical experts.
  c.num_local = 6;
  c.expert_map.assign(12, -1);
  for (int p = 0; p < 12; p += 2) c.expert_map[p] = p / 2;
  EplbHost e;
  e.R = 2;
  e.l2p.assign(16, -1);
  e.count.assign(8, 1);
  for (int l = 0; l < 8; ++l) e.l2p[l * 2] = l;
  for (int l = 0; l < 4; ++l) { e.l2p[l * 2 + 1] = 8 + l; e.count[l] = 2; }
  for (int64_t T : {1, 5, 128}) {  // 1: the fused decode GEMV records the load (once)
    const HostWeights w = make_weights(c, 99);
    Harness h(c, w);
    h.set_eplb(e);
    const auto x = random_act(c, T * c.H, 5);
    const auto lg = random_logits(T * c.E, 6);
    h.set_inputs(x, lg, T);
    h.forward();
    const auto got = h.output();
    std::vector<int64_t> ref_load;
    const auto ref = reference(c, w, x, lg, T, &e, &ref_load);
    EXPECT_LT(rel_err(ref, got), 1e-2) << "T=" << T;
    EXPECT_EQ(h.expert_load(), ref_load) << "T=" << T;
  }
}

// Logits from three values, so most scores tie: every routing path (the
// routed decode GEMV at 1 token, route-and-sort at 16, the routing kernel at
// 300) must pick the lower expert id on a tie, as the reference does; with
// E = 128 each lane of the routing warp holds four experts, so ties between
// lanes and within a lane both occur. A different pick changes the experts
// and the output by far more than the bound.
TEST(CudaPlugin, RoutingTiesGoToTheLowerExpertId) {
  REQUIRE_GPU();
  Case flat;
  flat.E = 128; flat.K = 8; flat.max_tokens = 300;
  Case grp = flat;
  grp.E = 64; grp.routing = MOERT_ROUTING_GROUPED_TOPK; grp.groups = 8; grp.topk_group = 4;
  for (const Case& c : {flat, grp}) {
    const HostWeights w = make_weights(c, 41);
    Harness h(c, w);
    for (int64_t T : {1, 16, 300}) {
      std::mt19937_64 g(900 + T);
      const float levels[3] = {-1.f, 0.f, 0.5f};
      std::vector<float> lg(T * c.E);
      for (auto& v : lg) v = levels[g() % 3];
      const auto x = random_act(c, T * c.H, 42 + T);
      h.set_inputs(x, lg, T);
      h.forward();
      const auto got = h.output();
      const auto ref = reference(c, w, x, lg, T, nullptr, nullptr);
      EXPECT_LT(rel_err(ref, got), bound_for(c)) << "E=" << c.E << " T=" << T;
    }
  }
}

// A non-finite router logit makes its token's output row NaN (the forward
// cannot fail on the host without a synchronization; docs/cuda-backend.md),
// the other tokens untouched: NaN, +Inf and -Inf, softmax and sigmoid, at 1
// token (the routed decode GEMV), 16 (route-and-sort) and 300 (the routing
// kernel). Under softmax a NaN or +Inf logit makes every score of the token
// NaN, so its picks also rest on NaN ranking below every number.
TEST(CudaPlugin, NonFiniteLogitMakesOnlyItsTokenNaN) {
  REQUIRE_GPU();
  Case soft;
  soft.max_tokens = 300;
  Case sig = soft;
  sig.scoring = MOERT_SCORING_SIGMOID;
  for (const Case& c : {soft, sig}) {
    const HostWeights w = make_weights(c, 51);
    Harness h(c, w);
    for (int64_t T : {1, 16, 300}) {
      const auto x = random_act(c, T * c.H, 52 + T);
      const auto lg = random_logits(T * c.E, 53 + T);
      auto ref = reference(c, w, x, lg, T, nullptr, nullptr);
      auto bad = lg;
      const std::vector<std::pair<int64_t, float>> edits = {{0, NAN}, {7, INFINITY}, {12, -INFINITY}};
      std::vector<char> bad_row(T, 0);
      for (const auto& [t, v] : edits) {
        if (t >= T) continue;
        bad[t * c.E + (t % c.E)] = v;
        bad_row[t] = 1;
      }
      h.set_inputs(x, bad, T);
      h.forward();
      const auto got = h.output();
      auto good_ref = ref;
      auto good_got = got;
      for (int64_t t = 0; t < T; ++t) {
        if (!bad_row[t]) continue;
        int64_t finite = 0;
        for (int64_t k = 0; k < c.H; ++k) finite += std::isfinite(got[t * c.H + k]);
        EXPECT_EQ(finite, 0) << "token " << t << " of " << T << ": its output row should be NaN";
        for (int64_t k = 0; k < c.H; ++k) good_ref[t * c.H + k] = 0.0, good_got[t * c.H + k] = 0.f;
      }
      EXPECT_LT(rel_err(good_ref, good_got), bound_for(c)) << "T=" << T << " sigmoid " << c.scoring;
    }
  }
}

// An MXFP4 block whose e8m0 scale is 0xFF is NaN (OCP MX). The plugin keeps
// that as an infinite scale over zeroed weights (dequant.cuh, its layout of
// MXFP4 weights and scales): w2 row n's block 1 is NaN in every expert, so
// output column n is NaN for every token and the other columns are exact.
// One token (the fused kernel), a few (the rows kernel) and 300 (the mma
// kernel), bf16 and f16 activations.
TEST(CudaPlugin, Mxfp4NanScaleBlockMakesItsColumnNaN) {
  REQUIRE_GPU();
  Case mx;
  mx.H = 256; mx.I = 128; mx.E = 8; mx.K = 4; mx.max_tokens = 300;
  mx.quant = MOERT_QUANT_MXFP4; mx.act = MOERT_ACT_SWIGLUOAI; mx.layout = MOERT_GATE_UP_INTERLEAVED; mx.bias = true;
  Case mxf = mx;
  mxf.bf16 = false;
  constexpr int64_t kNanColumn = 37;
  for (const Case& c : {mx, mxf}) {
    const HostWeights w = make_weights(c, 61);
    HostWeights bad = w;
    for (int64_t e = 0; e < c.E; ++e) bad.w2_scale[(e * c.H + kNanColumn) * (c.I / 32) + 1] = 0xFF;
    Harness h(c, bad);
    for (int64_t T : {1, 6, 300}) {
      const auto x = random_act(c, T * c.H, 62 + T);
      const auto lg = random_logits(T * c.E, 63 + T);
      auto ref = reference(c, w, x, lg, T, nullptr, nullptr);
      h.set_inputs(x, lg, T);
      h.forward();
      auto got = h.output();
      for (int64_t t = 0; t < T; ++t) {
        EXPECT_TRUE(std::isnan(got[t * c.H + kNanColumn])) << "T=" << T << " token " << t << ": column " << kNanColumn
                                                           << " got " << got[t * c.H + kNanColumn] << ", expected NaN";
        ref[t * c.H + kNanColumn] = 0.0, got[t * c.H + kNanColumn] = 0.f;
      }
      EXPECT_LT(rel_err(ref, got), bound_for(c)) << "T=" << T << " bf16 " << c.bf16;
    }
  }
}

TEST(CudaPlugin, CustomRouting) {
  REQUIRE_GPU();
  Case c;
  c.routing = MOERT_ROUTING_CUSTOM;
  c.scaling = 1.5f;
  c.max_tokens = 80;
  const int64_t T = 80;
  const HostWeights w = make_weights(c, 3);
  Harness h(c, w);
  for (int64_t i = 0; i < T * c.K; ++i) {
    h.custom_ids.push_back(static_cast<int32_t>((i * 5 + i / 3) % c.E));
    h.custom_w.push_back(0.25f + 0.01f * static_cast<float>(i % 7));
  }
  const auto x = random_act(c, T * c.H, 8);
  const auto lg = random_logits(T * c.E, 9);
  h.set_inputs(x, lg, T);
  h.forward();
  const auto got = h.output();
  const auto ref = reference(c, w, x, lg, T, nullptr, nullptr, &h.custom_ids, &h.custom_w);
  EXPECT_LT(rel_err(ref, got), 1e-2);
}

TEST(CudaPlugin, ZeroTokens) {
  REQUIRE_GPU();
  Case c;
  const HostWeights w = make_weights(c, 4);
  Harness h(c, w);
  h.set_inputs({}, {}, 0);
  h.forward();
  h.sync();
}

TEST(CudaPlugin, GraphCaptureReplaysWithNewInputs) {
  REQUIRE_GPU();
  const auto* api = plugin().api;
  // Decode and tensor-core paths (1100: 128-row tiles, wgmma on sm_90); one
  // token with and without the shared expert (the routing inside GEMM1).
  // The last: one token with GEMV1 and GEMV2 in one cooperative kernel
  // (cuda.fused_gemv: on), whose grid barrier is reset by a memset node.
  for (const auto& [T, shared, fused_gemv] : std::vector<std::tuple<int64_t, bool, bool>>{
           {1, false, false}, {1, true, false}, {3, true, false}, {200, true, false}, {1100, true, false},
           {1, false, true}}) {
    Case c;
    if (fused_gemv) c.options = {{"cuda.fused_gemv", "on"}};
    c.max_tokens = T > 256 ? T : 256;
    if (T > 256) c.I = 128;  // K % 64 == 0 in both GEMMs
    c.shared = shared;
    const HostWeights w = make_weights(c, 11);
    Harness h(c, w);
    auto x = random_act(c, T * c.H, 12);
    auto lg = random_logits(T * c.E, 13);
    h.set_inputs(x, lg, T);
    ok(api->graph_capture_begin(0, h.stream()), "capture begin");
    h.forward();
    void* graph = nullptr;
    ok(api->graph_capture_end(0, h.stream(), &graph), "capture end");
    for (uint64_t round = 0; round < 2; ++round) {
      x = random_act(c, T * c.H, 100 + round);
      lg = random_logits(T * c.E, 200 + round);
      h.set_inputs(x, lg, T);  // same buffers, new contents, poisoned output
      ok(api->graph_launch(0, graph, h.stream()), "graph launch");
      const auto got = h.output();
      const auto ref = reference(c, w, x, lg, T, nullptr, nullptr);
      EXPECT_LT(rel_err(ref, got), 1e-2) << "T=" << T << " round " << round;
    }
    ok(api->graph_destroy(0, graph), "graph destroy");
  }
}

TEST(CudaPlugin, EventsTimeAForward) {
  REQUIRE_GPU();
  const auto* api = plugin().api;
  Case c;
  const HostWeights w = make_weights(c, 21);
  Harness h(c, w);
  h.set_inputs(random_act(c, 16 * c.H, 22), random_logits(16 * c.E, 23), 16);
  void *a = nullptr, *b = nullptr;
  ok(api->event_create(0, &a), "event");
  ok(api->event_create(0, &b), "event");
  ok(api->event_record(0, a, h.stream()), "record");
  h.forward();
  ok(api->event_record(0, b, h.stream()), "record");
  float ms = -1;
  ok(api->event_elapsed_ms(0, a, b, &ms), "elapsed");
  EXPECT_GT(ms, 0.f);
  ok(api->event_destroy(0, a), "destroy");
  ok(api->event_destroy(0, b), "destroy");
}

TEST(CudaPlugin, BadInputIsAnErrorNotACrash) {
  REQUIRE_GPU();
  const auto* api = plugin().api;
  Case c;
  const HostWeights w = make_weights(c, 31);
  Harness h(c, w);
  h.set_inputs(random_act(c, 4 * c.H, 32), random_logits(4 * c.E, 33), 4);
  moert_forward_args bad = h.args();
  bad.hidden_states.dtype = {MOERT_DTYPE_FLOAT, 32, 1};
  moert_error* e = h.ops()->forward(h.runner(), &bad);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(api->error_code(e), MOERT_STATUS_INVALID_ARGUMENT);
  EXPECT_NE(std::string(api->error_message(e)).find("hidden_states"), std::string::npos) << api->error_message(e);
  api->error_destroy(e);
  bad = h.args();
  int64_t small_ws[1] = {16};  // too small
  bad.workspace.shape = small_ws;
  e = h.ops()->forward(h.runner(), &bad);
  ASSERT_NE(e, nullptr);
  EXPECT_NE(std::string(api->error_message(e)).find("workspace"), std::string::npos);
  api->error_destroy(e);
}
