// run_bench: the timing loop of `moert bench`.
//
// Per token count: inputs are generated and uploaded once; `warmup` forwards
// run untimed; then `reps` forwards are timed one by one (device events when
// the plugin has the ABI 1.1 event calls, else the host clock around
// forward + synchronize) and the median is kept. When the plugin can capture
// graphs, one forward is captured and `reps` replays are timed the same way
// (after the eager forwards, or before them with BenchOptions::graph_first).
// With BenchOptions::pause_ms the GPU idles that long before each phase.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <memory>
#include <thread>

#include "bench/device_buffer.h"
#include "moert/bench.h"
#include "moert/error.h"
#include "moert/routing_sim.h"
#include "moert/synthetic.h"

namespace moert {

namespace {

using bench_detail::DeviceBuffer;
using bench_detail::DeviceEvent;
using bench_detail::DeviceGraph;

bool has_events(const moert_plugin_api* api) {
  return MOERT_HAS_FIELD(api, moert_plugin_api, event_elapsed_ms) && api->event_create && api->event_destroy &&
         api->event_record && api->event_elapsed_ms;
}

bool has_graphs(const moert_plugin_api* api) {
  return MOERT_HAS_FIELD(api, moert_plugin_api, graph_destroy) && api->graph_capture_begin &&
         api->graph_capture_end && api->graph_launch && api->graph_destroy;
}

double median(std::vector<double> v) {
  if (v.empty()) return std::numeric_limits<double>::quiet_NaN();
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Times `reps` calls of `work` (which enqueues on `stream`), microseconds each.
template <class Work>
std::vector<double> time_reps(Runner& runner, const moert_plugin_api* api, DeviceEvent* start,
                              DeviceEvent* end, int reps, Work&& work) {
  std::vector<double> us;
  us.reserve(static_cast<size_t>(reps));
  const int32_t dev = runner.device_id();
  const moert_stream stream = runner.stream();
  for (int r = 0; r < reps; ++r) {
    if (start && end) {
      check(api, api->event_record(dev, start->get(), stream), "bench: event_record");
      work();
      check(api, api->event_record(dev, end->get(), stream), "bench: event_record");
      float ms = 0;
      check(api, api->event_elapsed_ms(dev, start->get(), end->get(), &ms), "bench: event_elapsed_ms");
      us.push_back(static_cast<double>(ms) * 1e3);
    } else {
      const auto t0 = std::chrono::steady_clock::now();
      work();
      runner.synchronize();
      const auto t1 = std::chrono::steady_clock::now();
      us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
    }
  }
  return us;
}

// Captures one forward and times its replays; NaN and *note set when the
// capture fails (reported in the row, not hidden: the eager numbers stand).
template <class Forward>
double time_graph(Runner& runner, const moert_plugin_api* api, DeviceEvent* start, DeviceEvent* end,
                  const BenchOptions& options, Forward&& forward, std::string* note) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const int32_t dev = runner.device_id();
  const moert_stream stream = runner.stream();
  moert_error* err = api->graph_capture_begin(dev, stream);
  if (err != nullptr) {
    *note = "graph capture failed to begin: " + take_error_message(api, err);
    return nan;
  }
  void* g = nullptr;
  try {
    forward();
  } catch (const Error& ex) {
    // End the capture so the stream is usable again, then report.
    take_error_message(api, api->graph_capture_end(dev, stream, &g));
    if (g) take_error_message(api, api->graph_destroy(dev, g));
    *note = std::string("forward failed under graph capture: ") + ex.what();
    return nan;
  }
  err = api->graph_capture_end(dev, stream, &g);
  if (err != nullptr || g == nullptr) {
    *note = "graph capture failed: " + (err ? take_error_message(api, err) : std::string("no graph returned"));
    return nan;
  }
  DeviceGraph graph(api, dev, g);
  auto replay = [&] { check(api, api->graph_launch(dev, graph.get(), stream), "bench: graph_launch"); };
  for (int w = 0; w < std::max(1, options.warmup); ++w) replay();
  runner.synchronize();
  return median(time_reps(runner, api, start, end, options.reps, replay));
}

moert_tensor device_tensor(const moert_plugin_api* api, int32_t dev, void* data, moert_dtype dtype,
                           int64_t* shape) {
  moert_tensor t{};
  t.data = data;
  t.device = moert_device{api->device_type, dev};
  t.ndim = 2;
  t.dtype = dtype;
  t.shape = shape;
  return t;
}

}  // namespace

std::vector<BenchRow> run_bench(Runner& runner, const LayerSpec& layer, const BenchOptions& options) {
  const moert_plugin_api* api = runner.device_api();
  if (api == nullptr) throw Error("bench: runner '" + runner.name() + "' has no device API");
  if (options.reps < 1) throw Error("bench: reps must be >= 1, got " + std::to_string(options.reps));
  if (options.warmup < 0) throw Error("bench: warmup must be >= 0, got " + std::to_string(options.warmup));
  if (options.pause_ms < 0 || options.pause_ms > 60000)
    throw Error("bench: pause_ms must be in [0, 60000], got " + std::to_string(options.pause_ms));
  const int64_t max_tokens = runner.max_num_tokens();
  for (int64_t t : options.tokens) {
    if (t < 0) throw Error("bench: token counts must be >= 0, got " + std::to_string(t));
    if (max_tokens >= 0 && t > max_tokens)
      throw Error("bench: " + std::to_string(t) + " tokens exceed runner '" + runner.name() +
                  "' max_num_tokens " + std::to_string(max_tokens) +
                  " (raise the layer's max_num_tokens or wrap the runner in a ChunkingRunner)");
  }
  RoutingSimOptions sim;
  sim.distribution = routing_distribution_from_name(options.routing);
  sim.skew = options.skew;
  sim.seed = options.seed;

  const int32_t dev = runner.device_id();
  const moert_stream stream = runner.stream();
  std::unique_ptr<DeviceEvent> ev_start, ev_end;
  if (has_events(api)) {
    ev_start.reset(new DeviceEvent(api, dev));
    ev_end.reset(new DeviceEvent(api, dev));
  }
  const bool graphs_possible = has_graphs(api);
  const double expert_bytes = bytes_per_expert(layer);
  const moert_dtype act = layer.desc.activation_dtype;
  const int64_t h = layer.desc.hidden_size, e = layer.desc.num_experts;

  std::vector<BenchRow> rows;
  for (const int64_t tokens : options.tokens) {
    BenchRow row;
    row.shape = layer.name;
    row.tokens = tokens;
    row.routing = routing_distribution_name(sim.distribution);
    row.timer = ev_start ? "device_events" : "host_clock";

    // Inputs: generated and uploaded once for this token count.
    const HostTensor hidden = make_random_hidden(layer, tokens, options.seed);
    const HostTensor logits = simulate_router_logits(layer, tokens, sim);
    DeviceBuffer x(api, dev, hidden.nbytes()), l(api, dev, logits.nbytes()), o(api, dev, hidden.nbytes());
    x.upload(hidden.data(), hidden.nbytes());
    l.upload(logits.data(), logits.nbytes());
    int64_t x_shape[2] = {tokens, h}, l_shape[2] = {tokens, e}, o_shape[2] = {tokens, h};
    moert_forward_args args{};
    args.struct_size = sizeof(moert_forward_args);
    args.hidden_states = device_tensor(api, dev, x.get(), act, x_shape);
    args.router_logits = device_tensor(api, dev, l.get(), kF32, l_shape);
    args.output = device_tensor(api, dev, o.get(), act, o_shape);
    args.stream = stream;
    auto forward = [&] { runner.forward(args); };

    // Each phase warms up on its own, so the order changes only when each is timed.
    auto pause = [&] {
      if (options.pause_ms <= 0) return;
      runner.synchronize();
      std::this_thread::sleep_for(std::chrono::milliseconds(options.pause_ms));
    };
    auto time_eager = [&] {
      pause();
      for (int w = 0; w < options.warmup; ++w) forward();
      runner.synchronize();
      row.eager_us_median = median(time_reps(runner, api, ev_start.get(), ev_end.get(), options.reps, forward));
    };
    auto time_graphs = [&] {
      row.graph_us_median = std::numeric_limits<double>::quiet_NaN();
      if (!options.graphs) {
        row.graph_note = "graphs not requested";
      } else if (!graphs_possible) {
        row.graph_note = "plugin '" + std::string(api->name ? api->name : "?") + "' has no graph calls";
      } else {
        pause();
        row.graph_us_median =
            time_graph(runner, api, ev_start.get(), ev_end.get(), options, forward, &row.graph_note);
      }
    };
    row.order = options.graph_first ? "graph-first" : "eager-first";
    row.pause_ms = options.pause_ms;
    if (options.graph_first) {
      // The runner's first forwards (lazy set-up) stay outside the capture, as in the default order.
      for (int w = 0; w < options.warmup; ++w) forward();
      runner.synchronize();
      time_graphs();
      time_eager();
    } else {
      time_eager();
      time_graphs();
    }

    // Bytes and flops (docs/bench.md).
    if (sim.distribution == RoutingDistribution::kUniform) {
      row.experts_touched = expected_experts_touched(layer, tokens);
    } else {
      const auto counts = tokens > 0 ? topk_expert_counts(logits, layer.desc.top_k) : std::vector<int64_t>();
      for (size_t j = 0; j < counts.size(); ++j) {
        const bool local = layer.expert_map.empty() || (j < layer.expert_map.size() && layer.expert_map[j] >= 0);
        if (counts[j] > 0 && local) row.experts_touched += 1;
      }
    }
    row.weight_bytes_touched = row.experts_touched * expert_bytes;
    row.activation_bytes = 2.0 * static_cast<double>(hidden.nbytes());
    row.flops = moe_flops(layer, tokens);
    const double best_us = std::isnan(row.graph_us_median) ? row.eager_us_median : row.graph_us_median;
    if (best_us > 0) {
      row.gbps = (row.weight_bytes_touched + row.activation_bytes) / (best_us * 1e-6) / 1e9;
      row.tflops = row.flops / (best_us * 1e-6) / 1e12;
    }
    rows.push_back(row);

    if (options.progress) {
      char graph[32] = "-";
      if (!std::isnan(row.graph_us_median)) std::snprintf(graph, sizeof graph, "%.1f us", row.graph_us_median);
      char line[256];
      std::snprintf(line, sizeof line, "%s T=%lld eager %.1f us, graph %s, %.1f GB/s, %.2f TFLOP/s",
                    row.shape.c_str(), static_cast<long long>(tokens), row.eager_us_median, graph, row.gbps,
                    row.tflops);
      options.progress(line);
    }
  }
  return rows;
}

}  // namespace moert
