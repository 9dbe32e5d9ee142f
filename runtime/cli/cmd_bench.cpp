// `moert bench CONFIG`: times each layer's forward over a sweep of token
// counts through the core's bench library (moert/bench.h), prints a table and
// optionally writes the JSON that bench/compare tools read.
#include <algorithm>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include "cli.h"
#include "layer_data.h"
#include "moert/bench.h"
#include "moert/error.h"

namespace moert {
namespace cli {

namespace {

std::vector<int64_t> parse_token_list(const std::string& s) {
  std::vector<int64_t> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    char* end = nullptr;
    long long v = std::strtoll(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0' || v < 1 || v > (1LL << 31))
      throw UsageError("--tokens must be a comma-separated list of positive integers, got '" + s + "'");
    out.push_back(v);
  }
  if (out.empty()) throw UsageError("--tokens needs at least one token count");
  return out;
}

void add_unique(std::string& list, const std::string& item) {
  if (("; " + list + "; ").find("; " + item + "; ") == std::string::npos) list += (list.empty() ? "" : "; ") + item;
}

}  // namespace

int cmd_bench(int argc, char** argv) {
  Args args = parse_args("bench", argc, argv, 2,
                         {{"plugin-dir", true}, {"runner", true}, {"layer", true}, {"tokens", true},
                          {"reps", true}, {"warmup", true}, {"json", true}, {"routing", true},
                          {"skew", true}, {"no-graphs", false}, {"graph-first", false}, {"pause-ms", true}, {"seed", true}, {"device", true}},
                         1, 1);
  const Config config = load_config(args.positional[0]);
  const std::vector<const ConfigLayer*> layers = selected_layers(args, config);
  BenchOptions opt;
  if (args.has("tokens")) opt.tokens = parse_token_list(args.value("tokens"));
  opt.reps = static_cast<int>(args.integer("reps", opt.reps, 1, 1000000));
  opt.warmup = static_cast<int>(args.integer("warmup", opt.warmup, 0, 1000000));
  opt.graphs = !args.has("no-graphs");
  opt.graph_first = args.has("graph-first");
  opt.pause_ms = static_cast<int>(args.integer("pause-ms", opt.pause_ms, 0, 60000));
  opt.seed = static_cast<uint64_t>(args.integer("seed", static_cast<int64_t>(config.run.seed), 0, INT64_MAX));
  opt.routing = args.value("routing", opt.routing);
  if (opt.routing != "uniform" && opt.routing != "skewed")
    throw UsageError("--routing must be uniform or skewed, got '" + opt.routing + "'");
  if (args.has("skew")) {
    char* end = nullptr;
    const std::string s = args.value("skew");
    opt.skew = std::strtod(s.c_str(), &end);
    if (s.empty() || *end != '\0' || !(opt.skew >= 0)) throw UsageError("--skew must be a number >= 0, got '" + s + "'");
  }
  opt.progress = [](const std::string& line) {
    if (!line.empty()) std::cerr << "  " << line << "\n";
  };
  const int32_t device = static_cast<int32_t>(args.integer("device", config.run.device, 0, 1 << 20));
  const int64_t max_tokens = *std::max_element(opt.tokens.begin(), opt.tokens.end());

  PluginSession session;
  Registry& reg = session.registry;
  discover_plugins(reg, args, &config);

  std::vector<BenchRow> rows;
  std::string devices, runners;
  for (const ConfigLayer* layer : layers) {
    const LayerSpec spec = layer_for_tokens(layer->spec, max_tokens);
    Resolution res = reg.resolve(runner_list(args, *layer), spec, layer->backends);
    std::cerr << "layer '" << spec.name << "': " << describe_layer(spec) << "\n" << res.explain();
    if (!res.found) throw Error(MOERT_STATUS_UNAVAILABLE, "no runner can run layer '" + spec.name + "' (reasons above)");
    LayerData data;
    load_layer_weights(config, *layer, spec, opt.seed, data);
    std::unique_ptr<Runner> runner = reg.create_runner(res.choice, max_tokens, device);
    runner->set_weights(data.weights.view());
    std::vector<BenchRow> part = run_bench(*runner, spec, opt);
    rows.insert(rows.end(), part.begin(), part.end());
    add_unique(devices, describe_device(*runner));
    add_unique(runners, runner->name());
  }
  std::cout << "device: " << devices << "\nrunner: " << runners << "\norder: "
            << (opt.graph_first ? "graph replays, then eager forwards" : "eager forwards, then graph replays")
            << (opt.pause_ms > 0 ? ", idle " + std::to_string(opt.pause_ms) + " ms before each" : std::string()) << "\n"
            << bench_table(rows);
  if (args.has("json")) {
    const std::string path = args.value("json");
    std::ofstream out(path);
    out << bench_json(rows, devices, runners) << "\n";
    if (!out) throw Error(MOERT_STATUS_INTERNAL, path + ": cannot write the JSON report");
    std::cout << "JSON written to " << path << "\n";
  }
  return kExitOk;
}

}  // namespace cli
}  // namespace moert
