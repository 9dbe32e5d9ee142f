// Loading one plugin: dlopen through Boost.DLL (RTLD_NOW | RTLD_LOCAL), the
// entry symbol, the table checks, probe() and initialize(). Every failure is
// a LoadOutcome with a reason that names the file; nothing here throws for a
// bad plugin.
#include "moert/loader.h"

#include <dlfcn.h>

#include <cstring>
#include <exception>
#include <filesystem>

#include <boost/dll/shared_library.hpp>

#include "keep_alive.h"
#include "moert/error.h"

namespace moert {

const char* reject_kind_name(RejectKind k) {
  switch (k) {
    case RejectKind::kNone: return "loaded";
    case RejectKind::kNotSharedObject: return "not a shared object";
    case RejectKind::kNoEntrySymbol: return "no entry symbol";
    case RejectKind::kNullTable: return "entry returned NULL";
    case RejectKind::kAbiMajorMismatch: return "ABI major mismatch";
    case RejectKind::kAbiMinorOutOfWindow: return "ABI minor outside the window";
    case RejectKind::kStructTooSmall: return "struct too small";
    case RejectKind::kBadTable: return "bad table";
    case RejectKind::kProbeUnusable: return "probe: not usable here";
    case RejectKind::kInitFailed: return "initialize failed";
    case RejectKind::kDuplicateName: return "duplicate name";
  }
  return "unknown";
}

namespace {

LoadOutcome reject(RejectKind kind, const std::string& label, const std::string& why,
                   const moert_plugin_api* table = nullptr) {
  LoadOutcome out;
  out.kind = kind;
  out.reason = label + ": " + why;
  out.table = table;
  return out;
}

// The steps after the table is in hand; shared by files and the built-in.
LoadOutcome check_and_start(const moert_plugin_api* api, const std::string& label,
                            std::shared_ptr<void> library, const moert_host_services* services) {
  if (api == nullptr) {
    return reject(RejectKind::kNullTable, label,
                  std::string("entry ") + MOERT_PLUGIN_ENTRY_SYMBOL +
                      " returned NULL (the plugin declined to serve a host speaking moert ABI " +
                      std::to_string(MOERT_ABI_MAJOR) + "." + std::to_string(MOERT_ABI_MINOR) + ")");
  }
  RejectKind kind = RejectKind::kNone;
  std::string why = validate_plugin_table(api, &kind);
  if (!why.empty()) return reject(kind, label, why);

  // probe() writes a NUL-terminated reason into our buffer; we terminate it
  // ourselves too, in case the plugin filled it to the brim.
  char reason[1024];
  std::memset(reason, 0, sizeof reason);
  if (api->probe(reason, sizeof reason) != 1) {
    reason[sizeof reason - 1] = '\0';
    return reject(RejectKind::kProbeUnusable, label,
                  std::string("probe: plugin '") + api->name + "' is not usable on this machine: " +
                      (reason[0] ? reason : "(no reason given)"),
                  api);
  }
  moert_error* err = api->initialize(services);
  if (err != nullptr) {
    int32_t code = 0;
    std::string message = take_error_message(api, err, &code);
    return reject(RejectKind::kInitFailed, label,
                  std::string("initialize of plugin '") + api->name + "' failed (" + status_name(code) +
                      "): " + message,
                  api);
  }
  auto plugin = std::make_shared<LoadedPlugin>();
  plugin->path = label;
  plugin->api = api;
  plugin->library = std::move(library);
  plugin->initialized = true;
  LoadOutcome out;
  out.plugin = std::move(plugin);
  out.table = api;
  return out;
}

}  // namespace

LoadOutcome load_plugin_entry(moert_plugin_entry_fn entry, const std::string& label,
                              const moert_host_services* services) {
  if (entry == nullptr) return reject(RejectKind::kNoEntrySymbol, label, "entry function is NULL");
  if (services == nullptr) services = default_host_services();
  const moert_plugin_api* api = entry(MOERT_ABI_MAJOR, MOERT_ABI_MINOR, services);
  return check_and_start(api, label, nullptr, services);
}

LoadOutcome load_plugin_file(const std::string& path, const moert_host_services* services) {
  if (services == nullptr) services = default_host_services();
  try {
    std::error_code fs_ec;
    if (!std::filesystem::is_regular_file(path, fs_ec)) {
      return reject(RejectKind::kNotSharedObject, path,
                    std::filesystem::exists(path, fs_ec) ? "not a regular file" : "no such file");
    }
    boost::dll::shared_library lib;
    boost::dll::fs::error_code ec;
    // Boost 1.74 maps these straight to dlopen's RTLD_NOW | RTLD_LOCAL.
    lib.load(boost::dll::fs::path(path),
             boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local, ec);
    if (ec || !lib.is_loaded()) {
      // Boost leaves dlerror() untouched after a failed dlopen: it says why
      // (wrong ELF class, missing dependency, not ELF at all, ...).
      const char* dl = ::dlerror();
      std::string why = dl ? dl : ec.message();
      // dlerror() usually starts with the path again; say it once.
      if (why.compare(0, path.size() + 2, path + ": ") == 0) why = why.substr(path.size() + 2);
      return reject(RejectKind::kNotSharedObject, path, "cannot be loaded as a shared object: " + why);
    }
    if (!lib.has(MOERT_PLUGIN_ENTRY_SYMBOL)) {
      std::shared_ptr<void> kept = host::keep_library_forever(std::move(lib));
      (void)kept;
      return reject(RejectKind::kNoEntrySymbol, path,
                    std::string("no exported symbol ") + MOERT_PLUGIN_ENTRY_SYMBOL +
                        " (is it a moert plugin? build it with moert_add_plugin(), which exports it)");
    }
    auto entry = lib.get<const moert_plugin_api*(uint32_t, uint32_t, const moert_host_services*)>(
        MOERT_PLUGIN_ENTRY_SYMBOL);
    // Keep every opened library, accepted or not: its entry already ran.
    std::shared_ptr<void> kept = host::keep_library_forever(std::move(lib));
    const moert_plugin_api* api = entry(MOERT_ABI_MAJOR, MOERT_ABI_MINOR, services);
    return check_and_start(api, path, std::move(kept), services);
  } catch (const std::exception& ex) {
    return reject(RejectKind::kNotSharedObject, path, std::string("cannot be loaded: ") + ex.what());
  }
}

}  // namespace moert
