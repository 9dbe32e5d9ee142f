// Loading one plugin file and checking it against the ABI rules.
// Contract used by the registry, the CLI and moert-conformance.
#pragma once

#include <memory>
#include <string>

#include "moert/moert_plugin.h"

namespace moert {

enum class RejectKind {
  kNone = 0,
  kNotSharedObject,   // dlopen failed (not an ELF .so, missing dependency, ...)
  kNoEntrySymbol,     // no moert_plugin_entry_v1
  kNullTable,         // entry returned NULL
  kAbiMajorMismatch,  // "plugin ABI 2.0, host ABI 1.1: rebuild against ..."
  kAbiMinorOutOfWindow,
  kStructTooSmall,    // table struct_size below the minimum for its minor
  kBadTable,          // missing mandatory function, empty name, ...
  kProbeUnusable,     // probe() said not usable here; reason kept
  kInitFailed,        // initialize() returned an error; message kept
  kDuplicateName      // set by the registry, not by load_plugin_file
};
const char* reject_kind_name(RejectKind k);

struct LoadedPlugin {
  std::string path;                      // "<builtin>" for the core's built-in table
  const moert_plugin_api* api = nullptr; // owned by the plugin; valid until process exit
  // The library handle is kept alive on purpose and never closed during
  // static destruction (see docs/abi.md, "Lifecycle").
  std::shared_ptr<void> library;
  bool initialized = false;
  bool shut_down = false;
};

struct LoadOutcome {
  RejectKind kind = RejectKind::kNone;
  std::string reason;                    // empty when loaded
  std::shared_ptr<LoadedPlugin> plugin;  // set when loaded (kind == kNone)
  // Set also for kProbeUnusable / kInitFailed, so tools can still show the
  // plugin's name and version.
  const moert_plugin_api* table = nullptr;
};

// Opens `path` with RTLD_NOW|RTLD_LOCAL, finds the entry symbol, checks the
// versions and the table, runs probe() and initialize(). Never throws for a
// bad file: every failure comes back as a RejectKind with a reason that names
// the file and, for versions, both versions and the fix.
LoadOutcome load_plugin_file(const std::string& path, const moert_host_services* services);

// Same checks for a table obtained without dlopen (the built-in plugin).
LoadOutcome load_plugin_entry(moert_plugin_entry_fn entry, const std::string& label,
                              const moert_host_services* services);

// "" when the table follows the ABI rules; otherwise what is wrong.
std::string validate_plugin_table(const moert_plugin_api* api, RejectKind* kind);

// The host services of this process (logging to stderr, filtered by
// MOERT_LOG_LEVEL). Static storage, valid until exit.
const moert_host_services* default_host_services();

}  // namespace moert
