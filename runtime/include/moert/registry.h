// The plugin registry: finds plugin files, loads them through the loader,
// keeps every rejection with its reason, indexes the runners and experts
// kernels they register, and resolves a runner fallback list for a layer.
//
// Discovery order (docs/config.md, "Plugins"):
//   0. the core's built-in plugin (runner "default", experts "reference");
//   1. the YAML `plugin_dirs` (and `--plugin-dir`);
//   2. MOERT_PLUGIN_PATH, colon-separated;
//   3. the install's lib/moert/plugins (= <exe dir>/../lib/moert/plugins);
//   4. the executable's directory.
// In each folder, files named libmoert-*.so, in name order. A file reached
// twice (same canonical path) is loaded once. One bad plugin never stops the
// others. A second plugin with an already-loaded plugin *name* is rejected as
// kDuplicateName, naming the first.
//
// Names: a plugin runner called "default" replaces the built-in default.
// Two loaded plugins registering the same runner (or experts) name clash:
// resolving that name fails with an error naming both files, unless the
// config picks one explicitly with "<name>@<plugin name or file>"; the
// core's own default stays reachable as "default@core" (or "@builtin").
//
// Lifetime: libraries are never closed. shutdown() calls every loaded
// plugin's shutdown() once, latest first; call it after destroying all
// runners. The destructor does not call it (it may run during static
// destruction, where plugins must not be shut down).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "moert/config.h"
#include "moert/layer_spec.h"
#include "moert/loader.h"
#include "moert/runner.h"

namespace moert {

struct PluginRecord {
  std::string path;                        // the file, or "<builtin>"
  RejectKind kind = RejectKind::kNone;
  std::string reason;                      // empty when loaded
  std::shared_ptr<LoadedPlugin> plugin;    // set when loaded
  const moert_plugin_api* table = nullptr; // set when the table could be read
  bool builtin = false;
  std::string origin;                      // which search step found it
  bool loaded() const { return kind == RejectKind::kNone; }
  std::string name() const;                // the plugin's name, or "" if unknown
};

// "plugin 'cuda' 0.1.0, /x/libmoert-cuda.so"
std::string describe_record(const PluginRecord& record);

struct RegistryOptions {
  std::vector<std::string> plugin_dirs;  // step 1
  bool use_env = true;                   // step 2: MOERT_PLUGIN_PATH
  bool use_install_dir = true;           // step 3
  bool use_exe_dir = true;               // step 4
  std::string exe_dir;                   // "" = folder of the running executable
  bool builtin = true;                   // step 0
  const moert_host_services* services = nullptr;  // nullptr = default_host_services()
};

struct SearchDir {
  std::string path;
  std::string origin;  // "plugin_dirs", "MOERT_PLUGIN_PATH", "install", "executable dir"
  bool exists = false;
};

// What resolve() picked.
struct RunnerChoice {
  bool modular = false;                     // "experts:<name>": the core's modular pipeline
  std::string requested;                    // the list entry as written
  std::string name;                         // runner or experts kernel name
  const PluginRecord* plugin = nullptr;     // its provider
  const moert_runner_ops* runner = nullptr; // when !modular
  const moert_experts_ops* experts = nullptr; // when modular
  LayerSpec layer;                          // the layer with this backend's options
  std::string describe() const;             // e.g. "cuda (plugin 'cuda' 0.1.0, /x/libmoert-cuda.so)"
};

struct Resolution {
  bool found = false;
  RunnerChoice choice;                 // valid when found
  std::vector<std::string> skipped;    // one line per candidate passed over, and why
  std::string explain() const;         // chosen + skipped, one per line
};

class Registry {
 public:
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;
  ~Registry() = default;

  // The folders steps 1-4 would search, in order.
  static std::vector<SearchDir> search_dirs(const RegistryOptions& options);
  // Steps 0-4. May be called once per registry.
  void discover(const RegistryOptions& options);

  // Single additions (discover() uses these; tests use them directly).
  const PluginRecord& add_builtin(const moert_host_services* services = nullptr);
  const PluginRecord& add_file(const std::string& path, const moert_host_services* services = nullptr,
                               const std::string& origin = "explicit");
  const PluginRecord& add_entry(moert_plugin_entry_fn entry, const std::string& label,
                                const moert_host_services* services = nullptr);

  const std::vector<std::unique_ptr<PluginRecord>>& plugins() const { return records_; }
  const std::vector<SearchDir>& searched() const { return searched_; }
  const PluginRecord* find_plugin(const std::string& name) const;  // loaded ones only

  // Runner names and experts names that resolve() accepts, sorted.
  std::vector<std::string> runner_names() const;
  std::vector<std::string> experts_names() const;

  // The first candidate (each a RunnerRef text) whose provider says yes to
  // can_implement(layer with that backend's options). The explanation names
  // each skipped candidate and why: unknown name / plugin rejected: reason /
  // can_implement: reason. Throws ConfigError for a name clash or a
  // malformed entry.
  Resolution resolve(const std::vector<std::string>& candidates, const LayerSpec& layer,
                     const BackendOptions& backends = {}) const;

  // Builds the runner for a choice, on `device_id`: a RunnerInstance, or a
  // ModularRunner for experts:<name>; wrapped in a ChunkingRunner when
  // `tokens` exceeds the layer's max_num_tokens. Throws moert::Error.
  std::unique_ptr<Runner> create_runner(const RunnerChoice& choice, int64_t tokens,
                                        int32_t device_id = 0) const;

  // Calls shutdown() of every loaded plugin, latest first, once. Returns the
  // errors (one line per failing plugin); empty when all went well.
  std::vector<std::string> shutdown();

 private:
  const PluginRecord& add_outcome(LoadOutcome outcome, const std::string& path,
                                  const std::string& origin, bool builtin);
  std::vector<std::unique_ptr<PluginRecord>> records_;
  std::vector<SearchDir> searched_;
  std::vector<std::string> canonical_paths_;
  bool shut_down_ = false;
};

// "<layer>" sized for a run of `tokens`: max_num_tokens 0 (left open in the
// YAML) becomes `tokens`.
LayerSpec layer_for_tokens(const LayerSpec& layer, int64_t tokens);

}  // namespace moert
