// The YAML configuration of `moert` (schema: docs/config.md).
//
// A config names plugin directories, an ordered runner fallback list,
// per-backend options, one layer (`layer:`) or a model's layers (`layers:`)
// and the inputs of a run. Every problem -- malformed YAML, unknown key, wrong
// type, bad enum value, missing field, inconsistent values -- is a ConfigError
// whose message starts with "<file>:<line>:<column>: ".
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "moert/error.h"
#include "moert/layer_spec.h"

namespace moert {

class ConfigError : public Error {
 public:
  explicit ConfigError(const std::string& message) : Error(MOERT_STATUS_INVALID_ARGUMENT, message) {}
};

// backend (runner, experts kernel or plugin name) -> key -> value.
using BackendOptions = std::map<std::string, std::map<std::string, std::string>>;

struct SharedExpertConfig {
  int64_t intermediate = 0;  // I_s; 0 = no shared expert
  bool gate = false;         // a sigmoid gate vector [H] (Qwen2-MoE style)
};

struct ConfigLayer {
  // name, desc (max_num_tokens = the configured value, or 0 when the YAML
  // leaves it open: the tools then size it to the run), expert_map and
  // placement. desc.num_local_experts is set; options are left empty (they
  // depend on the runner chosen, see runner_options()).
  LayerSpec spec;
  std::vector<std::string> runner;  // effective fallback list (layer's own or the top level's)
  bool runner_from_layer = false;   // true when the layer overrides the top-level list
  BackendOptions backends;          // top-level backends overlaid by the layer's own
  SharedExpertConfig shared_expert;
  std::string where;                // "<file>:<line>:<col>" of the layer, for messages
};

struct RunConfig {
  int64_t tokens = 16;
  uint64_t seed = 0;
  std::string weights = "random";  // "random" or a .safetensors path (absolute after parsing)
  std::string inputs = "random";   // "random" or a .safetensors path with hidden_states, router_logits
  std::string output;              // "" or a .safetensors path to write "output" to
  int32_t device = 0;
};

struct Config {
  std::string path;                      // as given to load_config ("<string>" for parse_config)
  std::vector<std::string> plugin_dirs;  // relative entries resolved against the config's folder
  std::vector<std::string> runner;       // top-level fallback list; default {"default"}
  BackendOptions backends;
  std::vector<ConfigLayer> layers;       // at least one
  RunConfig run;
};

// Reads and validates a config file. Throws ConfigError (also for a missing
// or unreadable file).
Config load_config(const std::string& path);
// Same for YAML text; `label` stands for the file name in messages and
// relative paths resolve against `base_dir`.
Config parse_config(const std::string& yaml_text, const std::string& label,
                    const std::string& base_dir = ".");

// One entry of a runner list, e.g. "cuda", "cuda@myplugin",
// "experts:reference", "experts:triton@libmoert-cuda.so".
struct RunnerRef {
  std::string text;    // as written
  bool modular = false;  // "experts:<name>": the core's modular pipeline
  std::string name;    // runner or experts kernel name
  std::string plugin;  // after '@': a plugin name, a file name or a path; "" = any
};
// Throws moert::Error on a malformed entry (empty name, empty "@" part, ...).
RunnerRef parse_runner_ref(const std::string& text);

// The options handed to backend `names` (in order, later ones win) from a
// layer's backends, e.g. {plugin name, runner name}.
std::map<std::string, std::string> runner_options(const BackendOptions& backends,
                                                  const std::vector<std::string>& names);

}  // namespace moert
