// The top level of a moert config: plugin_dirs, runner, backends, layer or
// layers, run (docs/config.md).
#include "moert/config.h"

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "config_parse.h"

namespace moert {

namespace fs = std::filesystem;

RunnerRef parse_runner_ref(const std::string& text) {
  RunnerRef ref;
  ref.text = text;
  std::string body = text;
  const size_t at = body.find('@');
  if (at != std::string::npos) {
    ref.plugin = body.substr(at + 1);
    body = body.substr(0, at);
    if (ref.plugin.empty())
      throw Error("runner '" + text + "': nothing after '@' (write <runner>@<plugin name or file>)");
  }
  static const std::string kExperts = "experts:";
  if (body.compare(0, kExperts.size(), kExperts) == 0) {
    ref.modular = true;
    body = body.substr(kExperts.size());
  }
  if (body.empty())
    throw Error("runner '" + text + "': empty " + std::string(ref.modular ? "experts kernel" : "runner") + " name");
  for (char c : body)
    if (c == ' ' || c == '\t' || c == ',' || c == '@' || c == ':')
      throw Error("runner '" + text + "': the name '" + body + "' may not contain spaces, ',', ':' or '@'");
  ref.name = body;
  return ref;
}

std::map<std::string, std::string> runner_options(const BackendOptions& backends,
                                                  const std::vector<std::string>& names) {
  std::map<std::string, std::string> out;
  for (const auto& n : names) {
    auto it = backends.find(n);
    if (it == backends.end()) continue;
    for (const auto& kv : it->second) out[kv.first] = kv.second;
  }
  return out;
}

namespace host {

std::vector<std::string> parse_runner_list(const YamlReader& r, const YAML::Node& n, const std::string& name) {
  std::vector<std::string> list = r.string_list(n, name);
  for (size_t i = 0; i < list.size(); ++i) {
    try {
      parse_runner_ref(list[i]);
    } catch (const Error& e) {
      r.fail(n.IsSequence() ? n[i] : n, name + ": " + e.what());
    }
  }
  return list;
}

BackendOptions parse_backends(const YamlReader& r, const YAML::Node& n) {
  r.expect_map(n, "'backends'");
  BackendOptions out;
  for (auto it = n.begin(); it != n.end(); ++it) {
    const std::string backend = r.string(it->first, "a backend name");
    if (out.count(backend)) r.fail(it->first, "backend '" + backend + "' appears twice in 'backends'");
    const YAML::Node opts = it->second;
    r.expect_map(opts, "'backends." + backend + "'");
    auto& dst = out[backend];
    for (auto kv = opts.begin(); kv != opts.end(); ++kv) {
      const std::string key = r.string(kv->first, "an option name");
      if (dst.count(key)) r.fail(kv->first, "option '" + key + "' appears twice in 'backends." + backend + "'");
      dst[key] = r.string(kv->second, "'backends." + backend + "." + key + "' (options are strings, numbers or booleans)");
    }
  }
  return out;
}

namespace {

std::string resolve_path(const std::string& base_dir, const std::string& p) {
  fs::path path(p);
  if (path.is_relative()) path = fs::path(base_dir) / path;
  return path.lexically_normal().string();
}

RunConfig parse_run(const YamlReader& r, const YAML::Node& n, const std::string& base_dir) {
  r.check_keys(n, "run", {"tokens", "seed", "weights", "inputs", "output", "device"});
  RunConfig run;
  if (n["tokens"]) run.tokens = r.integer(n["tokens"], "'run.tokens'", 1, 1LL << 31, "a positive integer");
  if (n["seed"]) run.seed = static_cast<uint64_t>(r.integer(n["seed"], "'run.seed'", 0, INT64_MAX, "a non-negative integer"));
  if (n["device"]) run.device = static_cast<int32_t>(r.integer(n["device"], "'run.device'", 0, 1 << 20, "a non-negative integer"));
  for (const char* key : {"weights", "inputs"}) {
    if (!n[key]) continue;
    std::string v = r.string(n[key], std::string("'run.") + key + "'");
    if (v.empty()) r.fail(n[key], std::string("'run.") + key + "' must be 'random' or a .safetensors path");
    if (v != "random") v = resolve_path(base_dir, v);
    (key == std::string("weights") ? run.weights : run.inputs) = v;
  }
  if (n["output"]) {
    std::string v = r.string(n["output"], "'run.output'");
    if (v.empty()) r.fail(n["output"], "'run.output' must be a .safetensors path");
    run.output = resolve_path(base_dir, v);
  }
  return run;
}

Config parse_root(const YamlReader& r, const YAML::Node& root, const std::string& base_dir) {
  if (!root.IsDefined() || root.IsNull())
    throw ConfigError(r.file() + ":1:1: the config is empty; expected a mapping with 'layer:' or 'layers:'");
  r.check_keys(root, "config", {"plugin_dirs", "runner", "backends", "layer", "layers", "run"});
  Config cfg;
  cfg.path = r.file();
  if (root["plugin_dirs"]) {
    for (const auto& d : r.string_list(root["plugin_dirs"], "'plugin_dirs'"))
      cfg.plugin_dirs.push_back(resolve_path(base_dir, d));
  }
  cfg.runner = root["runner"] ? parse_runner_list(r, root["runner"], "'runner'") : std::vector<std::string>{"default"};
  if (root["backends"]) cfg.backends = parse_backends(r, root["backends"]);

  const YAML::Node layer = root["layer"], layers = root["layers"];
  if (layer && layers) r.fail(layers, "give either 'layer' (one layer) or 'layers' (a list), not both");
  if (!layer && !layers) r.fail(root, "the config needs 'layer:' (one layer) or 'layers:' (a model's list of layers)");
  if (layer) {
    cfg.layers.push_back(parse_layer(r, layer, "layer", cfg.runner, cfg.backends));
  } else {
    if (!layers.IsSequence() || layers.size() == 0)
      r.fail(layers, "'layers' must be a non-empty list of layer mappings");
    std::set<std::string> names;
    for (size_t i = 0; i < layers.size(); ++i) {
      ConfigLayer lc = parse_layer(r, layers[i], "layer" + std::to_string(i), cfg.runner, cfg.backends);
      if (!names.insert(lc.spec.name).second)
        r.fail(layers[i]["name"] ? layers[i]["name"] : layers[i], "layer name '" + lc.spec.name + "' is used twice in 'layers'");
      cfg.layers.push_back(std::move(lc));
    }
  }
  if (root["run"]) cfg.run = parse_run(r, root["run"], base_dir);
  return cfg;
}

}  // namespace
}  // namespace host

Config parse_config(const std::string& yaml_text, const std::string& label, const std::string& base_dir) {
  host::YamlReader r(label);
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    throw ConfigError(r.where(e.mark) + ": malformed YAML: " + e.msg);
  }
  try {
    return host::parse_root(r, root, base_dir);
  } catch (const ConfigError&) {
    throw;
  } catch (const YAML::Exception& e) {
    throw ConfigError(r.where(e.mark) + ": " + e.msg);
  } catch (const Error& e) {
    throw ConfigError(label + ": " + e.what());
  }
}

Config load_config(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::error_code ec;
    throw ConfigError(path + ": cannot read the config: " +
                      (fs::exists(path, ec) ? "permission denied or not a file" : "no such file"));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw ConfigError(path + ": cannot read the config (I/O error)");
  fs::path base = fs::path(path).parent_path();
  return parse_config(text.str(), path, base.empty() ? "." : base.string());
}

}  // namespace moert
