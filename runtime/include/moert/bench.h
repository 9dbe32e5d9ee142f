// The benchmark library behind `moert bench`: times one MoE layer forward of
// any moert::Runner over a sweep of token counts, eagerly and (when the
// plugin offers ABI 1.1 graph calls) as graph replays, and reports medians,
// bytes, flops and the rates they imply. docs/bench.md explains the columns.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "moert/layer_spec.h"
#include "moert/runner.h"

namespace moert {

struct BenchOptions {
  // The token counts of the sweep; the same default as bench/peer_moe.py.
  std::vector<int64_t> tokens = {1, 16, 64, 256, 1024, 4096, 16384};
  int reps = 30;       // timed repetitions per point; the median is reported
  int warmup = 5;      // untimed forwards before timing (and before capture)
  bool graphs = true;  // also time graph replays when the plugin can capture
  // Time the graph replays before the eager forwards (default: eager first,
  // the order bench/peer_moe.py uses). On a GPU whose power limiter engages
  // during a point, the phase timed second runs at lower clocks; swapping the
  // order shows how much of an eager/graph difference that is (docs/bench.md).
  bool graph_first = false;
  // Host-side idle time, milliseconds, before each timed phase (eager and
  // graph) of each point, after synchronizing the stream. The GPU's power
  // limiter averages over recent activity; an idle gap lets each phase start
  // from the state the bandwidth and GEMM floors are measured in, instead of
  // inheriting the previous phase's heat (docs/bench.md, "Pause").
  int pause_ms = 0;
  uint64_t seed = 0;   // hidden states and router logits
  // Router logits: "uniform" (every expert equally likely) or "skewed"
  // (expert popularity log-normal with sigma = skew; see routing_sim.h).
  std::string routing = "uniform";
  double skew = 1.0;
  // Called with one human-readable line per finished point (may be empty).
  std::function<void(const std::string&)> progress;
};

struct BenchRow {
  std::string shape;              // LayerSpec::name, e.g. "mixtral"
  int64_t tokens = 0;
  double eager_us_median = 0;     // forward enqueue to completion, microseconds
  double graph_us_median = 0;     // graph replay; NaN when the plugin cannot capture
  std::string timer;              // "device_events" or "host_clock"
  std::string graph_note;         // why graph_us_median is NaN ("" when it was measured)
  std::string order;              // "eager-first" or "graph-first" (BenchOptions::graph_first)
  int pause_ms = 0;               // BenchOptions::pause_ms this row was timed with
  std::string routing;            // "uniform" or "skewed"
  double experts_touched = 0;     // distinct local experts the routing reads
  double weight_bytes_touched = 0;// experts_touched x bytes per expert (incl. scales, biases)
  double activation_bytes = 0;    // hidden states in + output out
  double flops = 0;               // 2*T*top_k*(w13_rows*H + H*I)
  double gbps = 0;                // (weight + activation bytes) / best time, 1e9 B/s
  double tflops = 0;              // flops / best time, 1e12 flop/s
};

// Bytes one local expert's weights occupy in their stored format: w13 and w2
// in weight_dtype (4-bit packed for MXFP4), plus scales and biases.
double bytes_per_expert(const LayerSpec& layer);
// Expected distinct experts hit by T tokens under uniform top-k routing:
// E * (1 - (1 - K/E)^T), restricted to the local experts under an expert map.
double expected_experts_touched(const LayerSpec& layer, int64_t tokens);
// 2 * T * top_k * (w13_rows * H + H * I).
double moe_flops(const LayerSpec& layer, int64_t tokens);

// Runs the sweep. The runner must already hold weights (set_weights) for
// `layer`; token counts above runner.max_num_tokens() (when it is >= 0) are
// refused with a moert::Error: wrap the runner in a ChunkingRunner for them.
// Inputs are generated on the host, uploaded once per token count through
// runner.device_api() and freed after the point. Throws moert::Error.
std::vector<BenchRow> run_bench(Runner& runner, const LayerSpec& layer, const BenchOptions& options);

// "<plugin name> <device_runtime attribute> device <id>", for reports.
std::string describe_device(const Runner& runner);

// {"bench":"moert","device":...,"runner":...,"rows":[{"shape":"mixtral","tokens":1,
//  "moert_us":..,"moert_graph_us":..|null,"gbps":..,"tflops":..,...}]}
// The same shape names and token counts as bench/peer_moe.py.
std::string bench_json(const std::vector<BenchRow>& rows, const std::string& device,
                       const std::string& runner);

// A fixed-width text table of the rows, for terminals.
std::string bench_table(const std::vector<BenchRow>& rows);

}  // namespace moert
