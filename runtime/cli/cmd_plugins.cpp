// `moert plugins`: every plugin file found, loaded or rejected, with its
// versions, what it registers, its capability attributes and, for rejected
// files, the reason.
#include <algorithm>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "cli.h"

namespace moert {
namespace cli {

namespace {

const char* device_name(int32_t t) {
  switch (t) {
    case MOERT_DEVICE_CPU: return "cpu";
    case MOERT_DEVICE_CUDA: return "cuda";
    case MOERT_DEVICE_CUDA_HOST: return "cuda_host";
    case MOERT_DEVICE_ROCM: return "rocm";
    case MOERT_DEVICE_ROCM_HOST: return "rocm_host";
    default: return "?";
  }
}

// Registered names, marking the core's "default" when a plugin replaces it.
std::string runner_column(const Registry& reg, const PluginRecord& r) {
  if (!r.table || r.kind == RejectKind::kStructTooSmall) return "-";
  std::string out;
  for (int64_t i = 0; i < r.table->num_runners; ++i) {
    std::string name = r.table->runners[i]->name;
    if (r.loaded() && r.builtin && name == "default") {
      for (const auto& other : reg.plugins())
        if (other->loaded() && !other->builtin)
          for (int64_t j = 0; j < other->table->num_runners; ++j)
            if (std::string(other->table->runners[j]->name) == "default") name = "default(replaced by " + other->name() + ")";
    }
    out += (out.empty() ? "" : ",") + name;
  }
  return out.empty() ? "-" : out;
}

std::string experts_column(const PluginRecord& r) {
  if (!r.table) return "-";
  std::string out;
  for (int64_t i = 0; i < r.table->num_experts; ++i) out += (out.empty() ? "" : ",") + std::string(r.table->experts[i]->name);
  return out.empty() ? "-" : out;
}

std::string or_dash(const char* s) { return (s && *s) ? s : "-"; }

void print_table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (const auto& row : rows)
    for (size_t c = 0; c < row.size(); ++c) {
      if (width.size() <= c) width.push_back(0);
      width[c] = std::max(width[c], row[c].size());
    }
  for (const auto& row : rows) {
    for (size_t c = 0; c < row.size(); ++c) {
      std::cout << row[c];
      if (c + 1 < row.size()) std::cout << std::string(width[c] - row[c].size() + 2, ' ');
    }
    std::cout << "\n";
  }
}

}  // namespace

int cmd_plugins(int argc, char** argv) {
  Args args = parse_args("plugins", argc, argv, 2, {{"plugin-dir", true}, {"config", true}}, 0, 0);
  Config config;
  const bool with_config = args.has("config");
  if (with_config) config = load_config(args.value("config"));
  PluginSession session;
  Registry& reg = session.registry;
  discover_plugins(reg, args, with_config ? &config : nullptr);

  std::cout << "moert host ABI " << MOERT_ABI_MAJOR << "." << MOERT_ABI_MINOR << " (loads plugins of ABI "
            << MOERT_ABI_MAJOR << "." << MOERT_ABI_MIN_COMPATIBLE_MINOR << " to " << MOERT_ABI_MAJOR << "."
            << MOERT_ABI_MINOR << ")\nsearched, in order:\n";
  for (const auto& d : reg.searched())
    std::cout << "  " << std::left << std::setw(18) << d.origin << d.path << (d.exists ? "" : "  (missing)") << "\n";
  std::cout << "\n";

  std::vector<std::vector<std::string>> rows = {
      {"STATUS", "NAME", "VERSION", "VENDOR", "DEVICE", "ABI", "RUNNERS", "EXPERTS", "FILE"}};
  size_t loaded = 0;
  for (const auto& rp : reg.plugins()) {
    const PluginRecord& r = *rp;
    loaded += r.loaded();
    // Names and versions are readable once the table passed the size check.
    const bool readable = r.table && (r.loaded() || r.kind == RejectKind::kProbeUnusable ||
                                      r.kind == RejectKind::kInitFailed || r.kind == RejectKind::kDuplicateName);
    const moert_plugin_api* t = readable ? r.table : nullptr;
    rows.push_back({r.loaded() ? "loaded" : "rejected", t ? or_dash(t->name) : "-", t ? or_dash(t->version) : "-",
                    t ? or_dash(t->vendor) : "-", t ? device_name(t->device_type) : "-",
                    t ? std::to_string(t->abi_major) + "." + std::to_string(t->abi_minor) : "-",
                    t ? runner_column(reg, r) : "-", t ? experts_column(r) : "-", r.path});
  }
  print_table(rows);

  std::cout << "\ncapabilities (attributes) of the loaded plugins:\n";
  for (const auto& rp : reg.plugins()) {
    const PluginRecord& r = *rp;
    if (!r.loaded()) continue;
    size_t n = 0;
    const moert_kv* kv = r.table->attributes(&n);
    std::cout << "  " << r.name() << ":\n";
    if (kv == nullptr || n == 0) std::cout << "    (none)\n";
    for (size_t i = 0; kv && i < n; ++i)
      std::cout << "    " << std::left << std::setw(16) << or_dash(kv[i].key) << " " << or_dash(kv[i].value) << "\n";
  }

  const size_t rejected = reg.plugins().size() - loaded;
  if (rejected) {
    std::cout << "\nrejected files and why:\n";
    for (const auto& rp : reg.plugins()) {
      const PluginRecord& r = *rp;
      if (r.loaded()) continue;
      std::cout << "  [" << reject_kind_name(r.kind) << "] " << r.reason << "\n";
    }
  }
  std::cout << "\n" << loaded << " loaded, " << rejected << " rejected\n";
  return kExitOk;
}

}  // namespace cli
}  // namespace moert
