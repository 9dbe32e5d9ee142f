// The bench library on a tiny layer and the built-in CPU runner: structure,
// units and the bytes/flops model. No timing thresholds (one lower bound: a
// pause lasts at least as long as asked).
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>

#include "builtin_runner_util.h"
#include "io/json.h"
#include "moert/bench.h"
#include "moert/chunking.h"
#include "moert/error.h"
#include "moert/synthetic.h"

using namespace moert;

namespace {
LayerSpec tiny(int32_t quant = MOERT_QUANT_NONE, moert_dtype wd = kBF16) {
  LayerSpec l;
  l.name = "tiny";
  l.desc.num_experts = 4;
  l.desc.num_local_experts = 4;
  l.desc.top_k = 2;
  l.desc.hidden_size = 64;
  l.desc.intermediate_size = 32;
  l.desc.activation_dtype = kBF16;
  l.desc.weight_dtype = wd;
  l.desc.quant_scheme = quant;
  l.desc.max_num_tokens = 16;
  return l;
}

// The core's default runner for `l`, with seeded random weights.
std::unique_ptr<moert::RunnerInstance> runner_with_weights(const LayerSpec& l) {
  auto runner = moert_test::make_default_runner(l);
  runner->set_weights(make_random_weights(l, 1).view());
  return runner;
}

BenchOptions sweep(std::vector<int64_t> tokens, int reps, int warmup) {
  BenchOptions o;
  o.tokens = std::move(tokens);
  o.reps = reps;
  o.warmup = warmup;
  return o;
}
}  // namespace

TEST(BenchModel, BytesPerExpertCountsStoredFormatScalesAndBiases) {
  // w13 [64 rows, 64], w2 [64, 32]
  EXPECT_DOUBLE_EQ(bytes_per_expert(tiny()), (64 * 64 + 64 * 32) * 2.0);
  EXPECT_DOUBLE_EQ(bytes_per_expert(tiny(MOERT_QUANT_FP8_PER_TENSOR, kFP8E4M3)), 64 * 64 + 64 * 32 + 2 * 4.0);
  EXPECT_DOUBLE_EQ(bytes_per_expert(tiny(MOERT_QUANT_FP8_PER_CHANNEL, kFP8E4M3)), 64 * 64 + 64 * 32 + (64 + 64) * 4.0);
  EXPECT_DOUBLE_EQ(bytes_per_expert(tiny(MOERT_QUANT_FP8_BLOCK_128, kFP8E4M3)), 64 * 64 + 64 * 32 + 2 * 4.0);
  // mxfp4: half a byte per weight + one e8m0 byte per 32 weights
  EXPECT_DOUBLE_EQ(bytes_per_expert(tiny(MOERT_QUANT_MXFP4, kFP4E2M1)),
                   (64 * 64 + 64 * 32) / 2.0 + (64 * 2 + 64 * 1));
  LayerSpec b = tiny();
  b.desc.has_bias = 1;
  b.desc.has_score_correction_bias = 1;  // per layer: not counted per expert
  EXPECT_DOUBLE_EQ(bytes_per_expert(b), (64 * 64 + 64 * 32) * 2.0 + (64 + 64) * 4.0);
}

TEST(BenchModel, TouchedExpertsAndFlopsMatchPeerMoe) {
  LayerSpec mixtral;
  mixtral.desc.num_experts = 8;
  mixtral.desc.top_k = 2;
  mixtral.desc.hidden_size = 4096;
  mixtral.desc.intermediate_size = 14336;
  EXPECT_DOUBLE_EQ(expected_experts_touched(mixtral, 1), 2.0);
  EXPECT_NEAR(expected_experts_touched(mixtral, 64), 8.0, 1e-6);
  EXPECT_DOUBLE_EQ(expected_experts_touched(mixtral, 0), 0.0);
  EXPECT_DOUBLE_EQ(moe_flops(mixtral, 16), 2.0 * 16 * 2 * 3 * 4096 * 14336);
  // bf16 bytes per expert = 3*H*I*2, as peer_moe.py counts them.
  EXPECT_DOUBLE_EQ(bytes_per_expert(mixtral), 3.0 * 4096 * 14336 * 2);
  LayerSpec ep = mixtral;  // half the experts local: half the touched bytes
  ep.expert_map = {0, 1, 2, 3, -1, -1, -1, -1};
  ep.desc.num_local_experts = 4;
  EXPECT_DOUBLE_EQ(expected_experts_touched(ep, 1), 1.0);
}

TEST(Bench, SweepOnTheBuiltinRunnerHasTheDocumentedStructure) {
  const LayerSpec l = tiny();
  auto runner = runner_with_weights(l);
  BenchOptions o = sweep({0, 1, 16}, 3, 1);
  std::vector<std::string> progress;
  o.progress = [&](const std::string& s) { progress.push_back(s); };
  const auto rows = run_bench(*runner, l, o);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(progress.size(), 3u);
  for (const auto& r : rows) {
    SCOPED_TRACE("T=" + std::to_string(r.tokens));
    EXPECT_EQ(r.shape, "tiny");
    EXPECT_EQ(r.routing, "uniform");
    EXPECT_TRUE(std::isfinite(r.eager_us_median));
    EXPECT_GE(r.eager_us_median, 0.0);
    // The CPU plugin has no graph calls: NaN with the reason.
    EXPECT_TRUE(std::isnan(r.graph_us_median));
    EXPECT_FALSE(r.graph_note.empty());
    EXPECT_DOUBLE_EQ(r.flops, moe_flops(l, r.tokens));
    EXPECT_DOUBLE_EQ(r.experts_touched, expected_experts_touched(l, r.tokens));
    EXPECT_DOUBLE_EQ(r.weight_bytes_touched, r.experts_touched * bytes_per_expert(l));
    EXPECT_DOUBLE_EQ(r.activation_bytes, 2.0 * r.tokens * 64 * 2);
    if (r.eager_us_median > 0) {
      EXPECT_NEAR(r.gbps, (r.weight_bytes_touched + r.activation_bytes) / r.eager_us_median * 1e-3, 1e-9 * r.gbps + 1e-12);
      EXPECT_NEAR(r.tflops, r.flops / r.eager_us_median * 1e-6, 1e-9 * r.tflops + 1e-15);
    }
  }
  EXPECT_EQ(rows[0].tokens, 0);
  EXPECT_EQ(rows[2].tokens, 16);
  EXPECT_GT(rows[2].gbps, 0.0);

  // JSON: parseable, peer_moe.py's shape names and token counts, null graph times.
  const std::string text = bench_json(rows, describe_device(*runner), runner->name());
  const json::Value v = json::parse(text);
  EXPECT_EQ(v.find("bench")->as_string(), "moert");
  EXPECT_EQ(v.find("runner")->as_string(), "default");
  EXPECT_NE(v.find("device")->as_string().find("device 0"), std::string::npos);
  const auto& items = v.find("rows")->items();
  ASSERT_EQ(items.size(), 3u);
  int64_t t = 0;
  ASSERT_TRUE(items[1].find("tokens")->as_int64(&t));
  EXPECT_EQ(t, 1);
  EXPECT_EQ(items[1].find("shape")->as_string(), "tiny");
  EXPECT_TRUE(items[1].find("moert_us")->is_number());
  EXPECT_TRUE(items[1].find("moert_graph_us")->is_null());
  for (const char* key : {"gbps", "tflops", "weight_bytes_touched", "flops", "experts_touched", "timer"})
    EXPECT_NE(items[1].find(key), nullptr) << key;
  const std::string table = bench_table(rows);
  EXPECT_NE(table.find("eager_us"), std::string::npos);
  EXPECT_NE(table.find("tiny"), std::string::npos);
}

TEST(Bench, GraphFirstOrderIsRecordedAndStillTimesTheEagerForwards) {
  const LayerSpec l = tiny();
  auto runner = runner_with_weights(l);
  BenchOptions o = sweep({4}, 2, 1);
  const auto eager_first = run_bench(*runner, l, o);
  o.graph_first = true;
  const auto graph_first = run_bench(*runner, l, o);
  ASSERT_EQ(eager_first.size(), 1u);
  ASSERT_EQ(graph_first.size(), 1u);
  EXPECT_EQ(eager_first[0].order, "eager-first");
  EXPECT_EQ(graph_first[0].order, "graph-first");
  EXPECT_TRUE(std::isfinite(graph_first[0].eager_us_median));
  EXPECT_TRUE(std::isnan(graph_first[0].graph_us_median));  // the CPU plugin has no graph calls
  EXPECT_FALSE(graph_first[0].graph_note.empty());
  const json::Value v = json::parse(bench_json(graph_first, describe_device(*runner), runner->name()));
  EXPECT_EQ(v.find("rows")->items()[0].find("order")->as_string(), "graph-first");
}

TEST(Bench, PauseIdlesBeforeEachPhaseAndIsRecorded) {
  const LayerSpec l = tiny();
  auto runner = runner_with_weights(l);
  BenchOptions o = sweep({2, 4}, 1, 0);
  o.pause_ms = 40;
  const auto t0 = std::chrono::steady_clock::now();
  const auto rows = run_bench(*runner, l, o);
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_EQ(rows.size(), 2u);
  // One timed phase a point (the CPU plugin has no graph calls): two pauses.
  EXPECT_GE(ms, 80.0);
  EXPECT_EQ(rows[0].pause_ms, 40);
  EXPECT_TRUE(std::isfinite(rows[1].eager_us_median));
  const json::Value v = json::parse(bench_json(rows, describe_device(*runner), runner->name()));
  EXPECT_EQ(v.find("rows")->items()[1].find("pause_ms")->as_double(), 40.0);
  o.pause_ms = -1;
  try {
    run_bench(*runner, l, o);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("pause_ms must be in [0, 60000], got -1"), std::string::npos) << e.what();
  }
}

TEST(Bench, SkewedRoutingCountsTheTouchedExperts) {
  LayerSpec l = tiny();
  l.desc.num_experts = 16;
  l.desc.num_local_experts = 16;
  auto runner = runner_with_weights(l);
  BenchOptions o = sweep({1, 4}, 1, 0);
  o.routing = "skewed";
  o.skew = 2.0;
  const auto rows = run_bench(*runner, l, o);
  EXPECT_EQ(rows[0].routing, "skewed");
  EXPECT_DOUBLE_EQ(rows[0].experts_touched, 2.0);  // one token: exactly top_k distinct experts
  EXPECT_GE(rows[1].experts_touched, 2.0);
  EXPECT_LE(rows[1].experts_touched, 8.0);
  EXPECT_EQ(rows[1].experts_touched, std::floor(rows[1].experts_touched));  // counted, not expected
}

TEST(Bench, RefusesTokenCountsAboveTheRunnerAndChunkingLiftsIt) {
  const LayerSpec l = tiny();
  auto runner = runner_with_weights(l);
  BenchOptions o = sweep({40}, 1, 0);
  try {
    run_bench(*runner, l, o);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("40 tokens exceed runner 'default' max_num_tokens 16"), std::string::npos)
        << e.what();
  }
  ChunkingRunner chunked(std::move(runner));
  const auto rows = run_bench(chunked, l, o);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(chunked.inner_forwards(), 3);  // one timed forward of 40 tokens = 3 chunks of 16
  o.reps = 0;
  EXPECT_THROW(run_bench(chunked, l, o), Error);
  o.reps = 1;
  o.routing = "zipf";
  EXPECT_THROW(run_bench(chunked, l, o), Error);
}
