// Shared pieces of the `moert` command-line tool (docs/cli.md). One file per
// subcommand (cmd_*.cpp); this header holds what they have in common.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "moert/config.h"
#include "moert/registry.h"

namespace moert {
namespace cli {

// Exit codes (docs/cli.md).
constexpr int kExitOk = 0;
constexpr int kExitRuntime = 1;  // a plugin or runner failed, nothing can run the layer
constexpr int kExitUsage = 2;    // bad command line or config

// A command-line mistake: printed with the command's usage, exit code 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A parsed command line: positional arguments and --options. Options given
// more than once keep every value in order.
struct Args {
  std::string command;
  std::vector<std::string> positional;
  std::map<std::string, std::vector<std::string>> options;

  bool has(const std::string& name) const { return options.count(name) != 0; }
  // The last value of --name, or `fallback`.
  std::string value(const std::string& name, const std::string& fallback = "") const;
  const std::vector<std::string>& values(const std::string& name) const;
  // --name as an integer in [min, max] (UsageError otherwise).
  int64_t integer(const std::string& name, int64_t fallback, int64_t min, int64_t max) const;
};

struct OptionSpec {
  const char* name;  // without "--"
  bool takes_value;
};

// Parses argv[first..] for `command`; unknown options, missing values and a
// wrong number of positionals are UsageErrors.
Args parse_args(const std::string& command, int argc, char** argv, int first,
                const std::vector<OptionSpec>& options, size_t min_positional, size_t max_positional);

// Discovery for a command: --plugin-dir values first, then the config's
// plugin_dirs, then MOERT_PLUGIN_PATH, the install and the executable dir.
void discover_plugins(Registry& registry, const Args& args, const Config* config);

// Runner list for a layer: --runner (comma-separated) overrides the config.
std::vector<std::string> runner_list(const Args& args, const ConfigLayer& layer);

// Layers selected by --layer NAME (repeatable); all when absent.
std::vector<const ConfigLayer*> selected_layers(const Args& args, const Config& config);

// "E=8 top_k=2 H=4096 I=14336 silu_and_mul bf16 softmax topk renorm ..."
std::string describe_layer(const LayerSpec& layer);

// Shuts the registry down and prints any plugin shutdown errors (returns
// false when there were some).
bool shutdown_plugins(Registry& registry);

// Owns the registry of one command. Declare it before any runner, so that
// runners are destroyed first and the plugins are shut down explicitly at the
// end of the command, also when it ends with an exception.
class PluginSession {
 public:
  PluginSession() = default;
  PluginSession(const PluginSession&) = delete;
  PluginSession& operator=(const PluginSession&) = delete;
  ~PluginSession() { shutdown_plugins(registry); }
  Registry registry;
};

// The subcommands; each returns its exit code.
int cmd_plugins(int argc, char** argv);
int cmd_check(int argc, char** argv);
int cmd_run(int argc, char** argv);
int cmd_bench(int argc, char** argv);

}  // namespace cli
}  // namespace moert
