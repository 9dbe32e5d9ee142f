// Helpers shared by the subcommands: plugin discovery from flags and config,
// runner lists, layer selection and descriptions.
#include <iostream>
#include <sstream>

#include "cli.h"
#include "moert/host_tensor.h"

namespace moert {
namespace cli {

void discover_plugins(Registry& registry, const Args& args, const Config* config) {
  RegistryOptions o;
  for (const auto& d : args.values("plugin-dir")) o.plugin_dirs.push_back(d);
  if (config)
    for (const auto& d : config->plugin_dirs) o.plugin_dirs.push_back(d);
  registry.discover(o);
  // A folder named on the command line or in the config that is missing is
  // most likely a typo: say so (the default folders may well not exist).
  for (const auto& d : registry.searched())
    if (!d.exists && d.origin == "plugin_dirs")
      std::cerr << "moert: warning: plugin folder '" << d.path << "' does not exist\n";
}

std::vector<std::string> runner_list(const Args& args, const ConfigLayer& layer) {
  if (!args.has("runner")) return layer.runner;
  std::vector<std::string> out;
  std::stringstream ss(args.value("runner"));
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.empty()) throw UsageError("--runner: empty entry in '" + args.value("runner") + "'");
    try {
      parse_runner_ref(item);
    } catch (const Error& e) {
      throw UsageError(std::string("--runner: ") + e.what());
    }
    out.push_back(item);
  }
  if (out.empty()) throw UsageError("--runner needs at least one name");
  return out;
}

std::vector<const ConfigLayer*> selected_layers(const Args& args, const Config& config) {
  std::vector<const ConfigLayer*> out;
  if (!args.has("layer")) {
    for (const auto& l : config.layers) out.push_back(&l);
    return out;
  }
  for (const auto& name : args.values("layer")) {
    const ConfigLayer* found = nullptr;
    for (const auto& l : config.layers)
      if (l.spec.name == name) found = &l;
    if (!found) {
      std::string names;
      for (const auto& l : config.layers) names += (names.empty() ? "" : ", ") + l.spec.name;
      throw UsageError("--layer " + name + ": no such layer in " + config.path + " (layers: " + names + ")");
    }
    out.push_back(found);
  }
  return out;
}

std::string describe_layer(const LayerSpec& layer) {
  const moert_layer_desc& d = layer.desc;
  std::ostringstream os;
  os << "E=" << d.num_experts << " top_k=" << d.top_k << " H=" << d.hidden_size << " I=" << d.intermediate_size
     << " " << activation_name(d.activation) << " " << dtype_name(d.activation_dtype);
  if (d.quant_scheme != MOERT_QUANT_NONE) os << " quant=" << quant_scheme_name(d.quant_scheme);
  else if (d.weight_dtype != d.activation_dtype) os << " weights=" << dtype_name(d.weight_dtype);
  os << " " << scoring_name(d.scoring) << " " << routing_method_name(d.routing_method);
  if (d.routing_method == MOERT_ROUTING_GROUPED_TOPK)
    os << "(" << d.num_expert_group << " groups, " << d.topk_group << " kept)";
  if (d.renormalize) os << " renorm";
  if (d.routed_scaling_factor != 1.0f) os << " scale=" << d.routed_scaling_factor;
  if (d.has_bias) os << " bias";
  if (d.ep_size > 1) os << " ep=" << d.ep_rank << "/" << d.ep_size;
  if (d.num_redundant_experts) os << " redundant=" << d.num_redundant_experts;
  return os.str();
}

bool shutdown_plugins(Registry& registry) {
  std::vector<std::string> errors = registry.shutdown();
  for (const auto& e : errors) std::cerr << "moert: warning: " << e << "\n";
  return errors.empty();
}

}  // namespace cli
}  // namespace moert
