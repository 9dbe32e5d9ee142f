// `moert run CONFIG`: one forward per layer on the runner the config picks,
// with seeded synthetic (or safetensors) weights and inputs. Prints the
// runner, why earlier candidates were skipped, an output checksum and the
// time. The output is poisoned (NaN) before the forward and checked to be
// fully written and finite after it.
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>

#include "cli.h"
#include "device_tensor.h"
#include "layer_data.h"
#include "moert/error.h"
#include "moert/quant.h"

namespace moert {
namespace cli {

namespace {

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

struct RunSettings {
  int64_t tokens = 0;  // 0 = the config's (or the inputs file's)
  uint64_t seed = 0;
  int32_t device = 0;
  std::string output;
};

// "out.safetensors" -> "out.<layer>.safetensors" when a config has several layers.
std::string output_path_for(const std::string& path, const Config& config, const std::string& layer) {
  if (path.empty() || config.layers.size() == 1) return path;
  std::filesystem::path p(path);
  return (p.parent_path() / (p.stem().string() + "." + layer + p.extension().string())).string();
}

// f64 sums over the output, and how many values are not finite.
void print_checksum(const HostTensor& out) {
  const int64_t n = out.numel();
  double sum = 0, sum_abs = 0;
  int64_t non_finite = 0;
  std::vector<float> v(static_cast<size_t>(n));
  convert_to_f32(out.data(), out.dtype(), n, v.data());
  for (float x : v) {
    if (!std::isfinite(x)) {
      ++non_finite;
      continue;
    }
    sum += x;
    sum_abs += std::fabs(x);
  }
  std::printf("  checksum  sum=%.9e sum_abs=%.9e first=[", sum, sum_abs);
  for (int64_t i = 0; i < std::min<int64_t>(n, 4); ++i) std::printf("%s%.6g", i ? ", " : "", v[static_cast<size_t>(i)]);
  std::printf("] (%" PRId64 " values, %s)\n", n, dtype_name(out.dtype()).c_str());
  if (non_finite)
    throw Error(MOERT_STATUS_INTERNAL, std::to_string(non_finite) + " of " + std::to_string(n) +
                                           " output values are NaN or infinite (the output was NaN-filled "
                                           "before the forward: unwritten or overflowed)");
}

void run_layer(Registry& reg, const Args& args, const Config& config, const ConfigLayer& layer, const RunSettings& rs) {
  LayerData data;
  const int64_t want_tokens = rs.tokens ? rs.tokens : (config.run.inputs == "random" ? config.run.tokens : 0);
  load_layer_inputs(config, layer.spec, want_tokens, rs.seed, data);
  const int64_t tokens = data.hidden.shape()[0];
  const LayerSpec spec = layer_for_tokens(layer.spec, tokens);

  std::cout << "layer '" << spec.name << "': " << describe_layer(spec) << "\n";
  const std::vector<std::string> list = runner_list(args, layer);
  Resolution res = reg.resolve(list, spec, layer.backends);
  std::cout << res.explain();
  if (!res.found) {
    std::string l;
    for (const auto& x : list) l += (l.empty() ? "" : ", ") + x;
    throw Error(MOERT_STATUS_UNAVAILABLE, "no runner in [" + l + "] can run layer '" + spec.name + "' (reasons above)");
  }
  load_layer_weights(config, layer, spec, rs.seed, data);
  std::unique_ptr<Runner> runner = reg.create_runner(res.choice, tokens, rs.device);
  std::cout << "  runner    " << runner->name() << " (" << describe_record(*res.choice.plugin) << "), device "
            << runner->device_id()
            << "\n  data      " << tokens << " tokens; weights " << data.weights_source << "; inputs "
            << data.inputs_source << (data.has_shared ? "; with shared expert" : "") << "\n";

  Clock::time_point t0 = Clock::now();
  runner->set_weights(data.weights.view());
  const double set_weights_ms = ms_since(t0);

  // Inputs and outputs go to the runner's device through its plugin's calls.
  const moert_plugin_api* api = runner->device_api();
  const int32_t dev = runner->device_id();
  DeviceTensor x(api, dev, data.hidden), g(api, dev, data.logits);
  HostTensor out(spec.desc.activation_dtype, {tokens, spec.desc.hidden_size});
  for (int64_t i = 0; i < out.numel(); ++i) store_from_f32(out.data(), out.dtype(), i, NAN);
  DeviceTensor y(api, dev, out);

  moert_forward_args fa{};
  fa.struct_size = sizeof fa;
  fa.hidden_states = x.view();
  fa.router_logits = g.view();
  fa.output = y.view();

  std::unique_ptr<DeviceTensor> sw13, sw2, sgate;
  moert_shared_expert shared{};
  if (data.has_shared) {
    sw13 = std::make_unique<DeviceTensor>(api, dev, data.shared.w13);
    sw2 = std::make_unique<DeviceTensor>(api, dev, data.shared.w2);
    shared.struct_size = sizeof shared;
    shared.intermediate_size = data.shared.intermediate_size;
    shared.activation = data.shared.activation;
    shared.w13 = sw13->view();
    shared.w2 = sw2->view();
    shared.gate = absent_tensor();
    if (!data.shared.gate.empty()) {
      sgate = std::make_unique<DeviceTensor>(api, dev, data.shared.gate);
      shared.gate = sgate->view();
    }
    fa.shared_expert = &shared;
  }

  std::unique_ptr<DeviceTensor> emap, ecount, eload;
  moert_eplb_state eplb{};
  HostTensor load_host;
  if (spec.desc.num_redundant_experts > 0) {
    HostTensor map, count;
    make_eplb_state(spec, map, count);
    load_host = HostTensor(kI64, {spec.num_physical_experts()});
    emap = std::make_unique<DeviceTensor>(api, dev, map);
    ecount = std::make_unique<DeviceTensor>(api, dev, count);
    eload = std::make_unique<DeviceTensor>(api, dev, load_host);
    eplb.struct_size = sizeof eplb;
    eplb.logical_to_physical_map = emap->view();
    eplb.logical_replica_count = ecount->view();
    eplb.expert_load = eload->view();
    fa.eplb = &eplb;
  }

  t0 = Clock::now();
  runner->forward(fa);
  runner->synchronize();
  const double forward_ms = ms_since(t0);
  y.download(out);

  std::printf("  time      set_weights %.3f ms, forward %.3f ms (one cold forward; `moert bench` for timings)\n",
              set_weights_ms, forward_ms);
  if (eload) {
    eload->download(load_host);
    int64_t total = 0;
    for (int64_t i = 0; i < load_host.numel(); ++i) total += load_host.as<int64_t>()[i];
    std::printf("  eplb      %" PRId64 " routed slots counted over %" PRId64 " physical experts\n", total,
                load_host.numel());
  }
  print_checksum(out);
  const std::string path = output_path_for(rs.output, config, spec.name);
  if (!path.empty()) {
    save_output(path, out);
    std::cout << "  output    written to " << path << "\n";
  }
}

}  // namespace

int cmd_run(int argc, char** argv) {
  Args args = parse_args("run", argc, argv, 2,
                         {{"plugin-dir", true}, {"runner", true}, {"layer", true}, {"tokens", true},
                          {"seed", true}, {"device", true}, {"output", true}},
                         1, 1);
  const Config config = load_config(args.positional[0]);
  const std::vector<const ConfigLayer*> layers = selected_layers(args, config);
  RunSettings rs;
  rs.tokens = args.integer("tokens", 0, 1, int64_t(1) << 31);
  rs.seed = static_cast<uint64_t>(args.integer("seed", static_cast<int64_t>(config.run.seed), 0, INT64_MAX));
  rs.device = static_cast<int32_t>(args.integer("device", config.run.device, 0, 1 << 20));
  rs.output = args.value("output", config.run.output);

  PluginSession session;
  discover_plugins(session.registry, args, &config);
  for (const ConfigLayer* layer : layers) run_layer(session.registry, args, config, *layer, rs);
  return kExitOk;
}

}  // namespace cli
}  // namespace moert
