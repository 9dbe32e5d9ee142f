// `moert check CONFIG`: validates the config, loads the plugins, and says
// which runner each layer resolves to and why the candidates before it were
// passed over.
#include <iostream>

#include "cli.h"

namespace moert {
namespace cli {

namespace {

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return "[" + s + "]";
}

}  // namespace

int cmd_check(int argc, char** argv) {
  Args args = parse_args("check", argc, argv, 2,
                         {{"plugin-dir", true}, {"runner", true}, {"layer", true}, {"tokens", true}}, 1, 1);
  const Config config = load_config(args.positional[0]);
  const std::vector<const ConfigLayer*> layers = selected_layers(args, config);
  const int64_t tokens = args.integer("tokens", config.run.tokens, 1, int64_t(1) << 31);

  PluginSession session;
  Registry& reg = session.registry;
  discover_plugins(reg, args, &config);

  std::cout << config.path << ": valid, " << config.layers.size() << " layer(s)\n";
  std::string loaded;
  size_t rejected = 0;
  for (const auto& r : reg.plugins()) {
    if (r->loaded()) loaded += (loaded.empty() ? "" : ", ") + r->name();
    else ++rejected;
  }
  std::cout << "plugins loaded: " << loaded;
  if (rejected) std::cout << "; " << rejected << " rejected (see `moert plugins`)";
  std::cout << "\n";

  bool all_resolved = true;
  for (const ConfigLayer* layer : layers) {
    const std::vector<std::string> list = runner_list(args, *layer);
    const LayerSpec spec = layer_for_tokens(layer->spec, tokens);
    std::cout << "\nlayer '" << spec.name << "': " << describe_layer(spec) << "\n";
    if (layer->shared_expert.intermediate > 0)
      std::cout << "  shared expert: I=" << layer->shared_expert.intermediate << (layer->shared_expert.gate ? ", gated" : "") << "\n";
    std::cout << "  runner list " << join(list)
              << (args.has("runner") ? " (from --runner)" : layer->runner_from_layer ? " (from the layer)" : "") << "\n";
    Resolution res = reg.resolve(list, spec, layer->backends);
    std::cout << res.explain();
    if (res.found) {
      std::cout << "  => layer '" << spec.name << "' runs on " << res.choice.describe();
      if (!res.choice.layer.options.empty()) {
        std::cout << " with options";
        for (const auto& kv : res.choice.layer.options) std::cout << " " << kv.first << "=" << kv.second;
      }
      if (spec.desc.max_num_tokens < tokens)
        std::cout << ", in chunks of " << spec.desc.max_num_tokens << " tokens";
      std::cout << "\n";
    } else {
      std::cout << "  => no runner in " << join(list) << " can run layer '" << spec.name << "'\n";
      all_resolved = false;
    }
  }
  return all_resolved ? kExitOk : kExitRuntime;
}

}  // namespace cli
}  // namespace moert
