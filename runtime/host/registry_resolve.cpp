// Registry::resolve: picking a runner from a fallback list, with the reason
// for every candidate passed over (docs/config.md, "Runner selection").
#include <algorithm>
#include <filesystem>
#include <sstream>

#include "moert/error.h"
#include "moert/layer_config.h"
#include "moert/registry.h"

namespace moert {

namespace fs = std::filesystem;

namespace {

struct Provider {
  const PluginRecord* record;
  const moert_runner_ops* runner;
  const moert_experts_ops* experts;
};

// Registered names of a table that passed validation (so arrays are sane).
bool table_registers(const moert_plugin_api* t, bool modular, const std::string& name) {
  if (modular) {
    for (int64_t i = 0; i < t->num_experts; ++i)
      if (name == t->experts[i]->name) return true;
  } else {
    for (int64_t i = 0; i < t->num_runners; ++i)
      if (name == t->runners[i]->name) return true;
  }
  return false;
}

// Rejected after the table was checked: the table's names are trustworthy.
bool table_was_validated(RejectKind k) {
  return k == RejectKind::kProbeUnusable || k == RejectKind::kInitFailed || k == RejectKind::kDuplicateName;
}

// "<name>@<selector>": a plugin name, a path, a file name, or "builtin".
bool matches_selector(const PluginRecord& r, const std::string& sel) {
  if (r.name() == sel || r.path == sel) return true;
  if (r.builtin) return sel == "builtin" || sel == "<builtin>";
  if (fs::path(r.path).filename().string() == sel) return true;
  std::error_code ec1, ec2;
  fs::path a = fs::canonical(r.path, ec1), b = fs::canonical(sel, ec2);
  return !ec1 && !ec2 && a == b;
}


std::string kind_word(bool modular) { return modular ? "experts kernel" : "runner"; }

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out.empty() ? "(none)" : out;
}

}  // namespace

std::string describe_record(const PluginRecord& r) {
  std::string s = "plugin '" + r.name() + "'";
  if (r.table && r.table->version && r.table->version[0]) s += std::string(" ") + r.table->version;
  return s + ", " + r.path;
}

std::string RunnerChoice::describe() const {
  std::string what = modular ? "experts:" + name : name;
  return plugin ? what + " (" + describe_record(*plugin) + ")" : what;
}

std::string Resolution::explain() const {
  std::ostringstream os;
  for (const auto& s : skipped) os << "  skipped " << s << "\n";
  if (found) os << "  chosen  " << choice.requested << ": " << choice.describe() << ": can_implement said yes\n";
  return os.str();
}

Resolution Registry::resolve(const std::vector<std::string>& candidates, const LayerSpec& layer,
                             const BackendOptions& backends) const {
  Resolution res;
  for (const std::string& text : candidates) {
    RunnerRef ref;
    try {
      ref = parse_runner_ref(text);
    } catch (const ConfigError&) {
      throw;
    } catch (const Error& e) {
      throw ConfigError(e.what());
    }
    const std::string what = kind_word(ref.modular);

    std::vector<Provider> providers;
    for (const auto& rp : records_) {
      const PluginRecord& r = *rp;
      if (!r.loaded()) continue;
      if (!ref.plugin.empty() && !matches_selector(r, ref.plugin)) continue;
      const moert_plugin_api* t = r.table;
      if (ref.modular) {
        for (int64_t i = 0; i < t->num_experts; ++i)
          if (ref.name == t->experts[i]->name) providers.push_back({&r, nullptr, t->experts[i]});
      } else {
        for (int64_t i = 0; i < t->num_runners; ++i)
          if (ref.name == t->runners[i]->name) providers.push_back({&r, t->runners[i], nullptr});
      }
    }
    // A plugin's "default" replaces the core's; the core's stays reachable
    // as "default@builtin".
    if (!ref.modular && ref.name == "default" && ref.plugin.empty()) {
      const bool overridden = std::any_of(providers.begin(), providers.end(),
                                          [](const Provider& p) { return !p.record->builtin; });
      if (overridden)
        providers.erase(std::remove_if(providers.begin(), providers.end(),
                                       [](const Provider& p) { return p.record->builtin; }),
                        providers.end());
    }
    if (providers.size() > 1) {
      std::string list, picks;
      for (size_t i = 0; i < providers.size(); ++i) {
        const PluginRecord& r = *providers[i].record;
        list += (i ? " and " : "") + std::string("'") + r.name() + "' (" + r.path + ")";
        picks += (i ? " or " : "") + std::string("'") + (ref.modular ? "experts:" : "") + ref.name + "@" + r.name() + "'";
      }
      throw ConfigError(what + " name '" + ref.name + "' is registered by " + std::to_string(providers.size()) +
                        " plugins: " + list + "; choose one in the config with " + picks);
    }
    if (providers.empty()) {
      // Say why: a rejected plugin that registers (or is named after) it, or
      // a plain unknown name.
      std::string why;
      for (const auto& rp : records_) {
        const PluginRecord& r = *rp;
        if (r.loaded()) continue;
        if (!ref.plugin.empty() && !matches_selector(r, ref.plugin)) continue;
        const bool named_after = fs::path(r.path).filename().string() == "libmoert-" + ref.name + ".so";
        const bool registers = r.table && table_was_validated(r.kind) && table_registers(r.table, ref.modular, ref.name);
        if (registers || named_after || !ref.plugin.empty()) {
          why = "plugin rejected: " + r.reason;
          break;
        }
      }
      if (why.empty()) {
        if (!ref.plugin.empty())
          why = "unknown name: no loaded plugin matching '" + ref.plugin + "' registers " + what + " '" + ref.name + "'";
        else
          why = "unknown name: no loaded plugin registers " + what + " '" + ref.name + "' (known " + what + "s: " +
                join(ref.modular ? experts_names() : runner_names()) + ")";
      }
      res.skipped.push_back(text + ": " + why);
      continue;
    }

    const Provider& p = providers.front();
    RunnerChoice choice;
    choice.modular = ref.modular;
    choice.requested = text;
    choice.name = ref.name;
    choice.plugin = p.record;
    choice.runner = p.runner;
    choice.experts = p.experts;
    choice.layer = layer;
    choice.layer.options = runner_options(backends, {p.record->name(), ref.name});
    if (ref.modular) {
      // The core's own stages (router, prepare, finalize) must handle the
      // layer too; their objection names the field.
      try {
        layer_config_from_desc(choice.layer.c_desc());
      } catch (const Error& e) {
        res.skipped.push_back(text + " (" + describe_record(*p.record) + "): core modular pipeline: " + e.what());
        continue;
      }
    }
    moert_error* err = ref.modular ? p.experts->can_implement(choice.layer.c_desc())
                                   : p.runner->can_implement(choice.layer.c_desc());
    if (err != nullptr) {
      int32_t code = 0;
      std::string msg = take_error_message(p.record->table, err, &code);
      res.skipped.push_back(text + " (" + describe_record(*p.record) + "): can_implement: " + msg);
      continue;
    }
    res.found = true;
    res.choice = std::move(choice);
    break;
  }
  return res;
}

}  // namespace moert
