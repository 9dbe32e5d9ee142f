// Registry: discovery, loading and bookkeeping of plugins (registry.h).
#include "moert/registry.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <sstream>

#include "moert/builtin.h"
#include "moert/error.h"

namespace moert {

namespace fs = std::filesystem;

std::string PluginRecord::name() const {
  return (table && table->name) ? table->name : "";
}

namespace {

std::string exe_dir_of_process() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return {};
  return exe.parent_path().string();
}

std::vector<std::string> split_colons(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ':'))
    if (!item.empty()) out.push_back(item);
  return out;
}

bool is_plugin_file_name(const std::string& name) {
  static const std::string prefix = "libmoert-", suffix = ".so";
  return name.size() > prefix.size() + suffix.size() && name.compare(0, prefix.size(), prefix) == 0 &&
         name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

std::vector<SearchDir> Registry::search_dirs(const RegistryOptions& options) {
  std::vector<SearchDir> dirs;
  auto add = [&](const std::string& path, const char* origin) {
    std::error_code ec;
    dirs.push_back(SearchDir{path, origin, fs::is_directory(path, ec)});
  };
  for (const auto& d : options.plugin_dirs) add(d, "plugin_dirs");
  if (options.use_env) {
    if (const char* env = std::getenv("MOERT_PLUGIN_PATH"))
      for (const auto& d : split_colons(env)) add(d, "MOERT_PLUGIN_PATH");
  }
  const std::string exe_dir = options.exe_dir.empty() ? exe_dir_of_process() : options.exe_dir;
  if (!exe_dir.empty()) {
    if (options.use_install_dir)
      add((fs::path(exe_dir) / ".." / "lib" / "moert" / "plugins").lexically_normal().string(), "install");
    if (options.use_exe_dir) add(exe_dir, "executable dir");
  }
  return dirs;
}

void Registry::discover(const RegistryOptions& options) {
  if (options.builtin) add_builtin(options.services);
  searched_ = search_dirs(options);
  for (const SearchDir& dir : searched_) {
    if (!dir.exists) continue;
    std::vector<std::string> files;
    std::error_code ec;
    for (fs::directory_iterator it(dir.path, ec), end; !ec && it != end; it.increment(ec)) {
      const std::string name = it->path().filename().string();
      if (is_plugin_file_name(name)) files.push_back(it->path().string());
    }
    std::sort(files.begin(), files.end());  // deterministic order within a folder
    for (const auto& f : files) add_file(f, options.services, dir.origin);
  }
}

const PluginRecord& Registry::add_builtin(const moert_host_services* services) {
  for (const auto& r : records_)
    if (r->builtin) return *r;  // registered once per registry
  LoadOutcome out = load_plugin_entry(&moert_builtin_plugin_entry, "<builtin>", services);
  return add_outcome(std::move(out), "<builtin>", "built in", /*builtin=*/true);
}

const PluginRecord& Registry::add_entry(moert_plugin_entry_fn entry, const std::string& label,
                                        const moert_host_services* services) {
  return add_outcome(load_plugin_entry(entry, label, services), label, "entry", false);
}

const PluginRecord& Registry::add_file(const std::string& path, const moert_host_services* services,
                                       const std::string& origin) {
  // The same file through two search steps (or a symlink) is loaded once.
  std::error_code ec;
  fs::path canon = fs::canonical(path, ec);
  const std::string key = ec ? path : canon.string();
  for (size_t i = 0; i < canonical_paths_.size(); ++i)
    if (canonical_paths_[i] == key) return *records_[i];
  LoadOutcome out = load_plugin_file(path, services);
  const PluginRecord& rec = add_outcome(std::move(out), path, origin, false);
  canonical_paths_.back() = key;
  return rec;
}

const PluginRecord& Registry::add_outcome(LoadOutcome outcome, const std::string& path,
                                          const std::string& origin, bool builtin) {
  auto rec = std::make_unique<PluginRecord>();
  rec->path = path;
  rec->kind = outcome.kind;
  rec->reason = outcome.reason;
  rec->plugin = outcome.plugin;
  rec->table = outcome.table;
  rec->builtin = builtin;
  rec->origin = origin;
  if (rec->loaded()) {
    // A second plugin with a name already taken is refused; the one found
    // first (earlier in the search order) stays.
    if (const PluginRecord* first = find_plugin(rec->name())) {
      rec->kind = RejectKind::kDuplicateName;
      rec->reason = path + ": duplicate plugin name '" + rec->name() + "': already loaded from " + first->path;
      // It was initialized: shut it down again so it frees what it took --
      // unless it is the very same table (the same library reached twice),
      // which the first record still uses.
      if (rec->table != first->table) {
        std::string err = take_error_message(rec->table, rec->table->shutdown());
        if (!err.empty()) rec->reason += " (and its shutdown failed: " + err + ")";
      }
      rec->plugin->shut_down = true;
      rec->plugin.reset();
    }
  }
  records_.push_back(std::move(rec));
  canonical_paths_.push_back(path);
  return *records_.back();
}

const PluginRecord* Registry::find_plugin(const std::string& name) const {
  if (name.empty()) return nullptr;
  for (const auto& r : records_)
    if (r->loaded() && r->name() == name) return r.get();
  return nullptr;
}

std::vector<std::string> Registry::runner_names() const {
  std::set<std::string> names;
  for (const auto& r : records_)
    if (r->loaded())
      for (int64_t i = 0; i < r->table->num_runners; ++i) names.insert(r->table->runners[i]->name);
  return {names.begin(), names.end()};
}

std::vector<std::string> Registry::experts_names() const {
  std::set<std::string> names;
  for (const auto& r : records_)
    if (r->loaded())
      for (int64_t i = 0; i < r->table->num_experts; ++i) names.insert(r->table->experts[i]->name);
  return {names.begin(), names.end()};
}

std::vector<std::string> Registry::shutdown() {
  std::vector<std::string> errors;
  if (shut_down_) return errors;
  shut_down_ = true;
  for (auto it = records_.rbegin(); it != records_.rend(); ++it) {
    PluginRecord& r = **it;
    if (!r.loaded() || !r.plugin || r.plugin->shut_down) continue;
    std::string err = take_error_message(r.table, r.table->shutdown());
    r.plugin->shut_down = true;
    if (!err.empty()) errors.push_back(r.path + ": shutdown of plugin '" + r.name() + "' failed: " + err);
  }
  return errors;
}

LayerSpec layer_for_tokens(const LayerSpec& layer, int64_t tokens) {
  LayerSpec out = layer;
  if (out.desc.max_num_tokens <= 0) out.desc.max_num_tokens = std::max<int64_t>(tokens, 1);
  return out;
}

}  // namespace moert
