// validate_plugin_table: the ABI rules a plugin table must follow before the
// host calls anything in it (docs/abi.md, "Compatibility").
#include <cstddef>
#include <set>
#include <sstream>
#include <string>

#include "moert/loader.h"

namespace moert {

namespace {

std::string host_version() {
  return std::to_string(MOERT_ABI_MAJOR) + "." + std::to_string(MOERT_ABI_MINOR);
}

// The smallest table a plugin of ABI 1.<minor> may hand out: 1.0 ended at
// `experts`, 1.1 appended the event and graph calls.
size_t min_table_size(uint32_t minor) {
  if (minor == 0) return offsetof(moert_plugin_api, event_create);
  return sizeof(moert_plugin_api);
}

// Compared as int64 so that a window starting at 0 does not trip
// "unsigned < 0 is always false" warnings.
bool minor_in_window(uint32_t minor) {
  const int64_t m = minor, lo = MOERT_ABI_MIN_COMPATIBLE_MINOR, hi = MOERT_ABI_MINOR;
  return m >= lo && m <= hi;
}

std::string check_runner(const moert_runner_ops* r, int64_t i) {
  std::ostringstream os;
  if (r == nullptr) {
    os << "runners[" << i << "] is NULL";
  } else if (r->struct_size < sizeof(moert_runner_ops)) {
    os << "runners[" << i << "].struct_size is " << r->struct_size << ", expected at least "
       << sizeof(moert_runner_ops);
  } else if (r->name == nullptr || r->name[0] == '\0') {
    os << "runners[" << i << "] has no name";
  } else {
    const char* missing = !r->can_implement ? "can_implement"
                          : !r->create      ? "create"
                          : !r->destroy     ? "destroy"
                          : !r->workspace_size ? "workspace_size"
                          : !r->set_weights ? "set_weights"
                          : !r->forward     ? "forward"
                                            : nullptr;
    if (missing) os << "runner '" << r->name << "': mandatory function '" << missing << "' is NULL";
  }
  return os.str();
}

std::string check_experts(const moert_experts_ops* x, int64_t i) {
  std::ostringstream os;
  if (x == nullptr) {
    os << "experts[" << i << "] is NULL";
  } else if (x->struct_size < sizeof(moert_experts_ops)) {
    os << "experts[" << i << "].struct_size is " << x->struct_size << ", expected at least "
       << sizeof(moert_experts_ops);
  } else if (x->name == nullptr || x->name[0] == '\0') {
    os << "experts[" << i << "] has no name";
  } else if (x->finalize_mode != MOERT_FINALIZE_IN_KERNEL && x->finalize_mode != MOERT_FINALIZE_BY_CORE) {
    os << "experts '" << x->name << "': finalize_mode " << x->finalize_mode
       << " is neither IN_KERNEL (0) nor BY_CORE (1)";
  } else {
    const char* missing = !x->can_implement ? "can_implement"
                          : !x->create      ? "create"
                          : !x->destroy     ? "destroy"
                          : !x->workspace_size ? "workspace_size"
                          : !x->set_weights ? "set_weights"
                          : !x->apply       ? "apply"
                                            : nullptr;
    if (missing) os << "experts '" << x->name << "': mandatory function '" << missing << "' is NULL";
  }
  return os.str();
}

std::string fail(RejectKind* kind, RejectKind k, const std::string& why) {
  if (kind) *kind = k;
  return why;
}

}  // namespace

std::string validate_plugin_table(const moert_plugin_api* api, RejectKind* kind) {
  if (kind) *kind = RejectKind::kNone;
  if (api == nullptr) return fail(kind, RejectKind::kNullTable, "plugin table is NULL");

  // The version fields must be inside the table before we read them.
  const size_t header = offsetof(moert_plugin_api, abi_minor) + sizeof(api->abi_minor);
  if (api->struct_size < header) {
    return fail(kind, RejectKind::kStructTooSmall,
                "plugin table struct_size is " + std::to_string(api->struct_size) +
                    ", too small to hold even the ABI version (" + std::to_string(header) + " bytes)");
  }
  const std::string plugin_version =
      std::to_string(api->abi_major) + "." + std::to_string(api->abi_minor);
  if (api->abi_major != MOERT_ABI_MAJOR) {
    return fail(kind, RejectKind::kAbiMajorMismatch,
                "ABI major mismatch: plugin built against moert ABI " + plugin_version +
                    ", this host speaks " + host_version() +
                    " (rebuild the plugin against plugin_api/moert/moert_plugin.h " +
                    std::to_string(MOERT_ABI_MAJOR) + ".x)");
  }
  if (!minor_in_window(api->abi_minor)) {
    const std::string window = std::to_string(MOERT_ABI_MAJOR) + "." +
                               std::to_string(MOERT_ABI_MIN_COMPATIBLE_MINOR) + " to " + host_version();
    const bool newer = api->abi_minor > MOERT_ABI_MINOR;
    return fail(kind, RejectKind::kAbiMinorOutOfWindow,
                "ABI minor outside the window: plugin built against moert ABI " + plugin_version +
                    ", this host loads " + window +
                    (newer ? " (the plugin is newer than the host: rebuild it against this host's "
                             "plugin_api/moert/moert_plugin.h, or upgrade moert)"
                           : " (the plugin is older than this host supports: rebuild it against "
                             "plugin_api/moert/moert_plugin.h " + host_version() + ")"));
  }
  const size_t need = min_table_size(api->abi_minor);
  if (api->struct_size < need) {
    return fail(kind, RejectKind::kStructTooSmall,
                "plugin table struct_size is " + std::to_string(api->struct_size) +
                    " bytes, but a table of ABI " + plugin_version + " has at least " +
                    std::to_string(need) + " bytes");
  }

  // Fields every 1.x table carries.
  if (api->name == nullptr || api->name[0] == '\0')
    return fail(kind, RejectKind::kBadTable, "plugin table has an empty name");
  const std::string who = std::string("plugin '") + api->name + "': ";
  if (api->version == nullptr) return fail(kind, RejectKind::kBadTable, who + "version is NULL");
  if (api->vendor == nullptr) return fail(kind, RejectKind::kBadTable, who + "vendor is NULL");
  switch (api->device_type) {
    case MOERT_DEVICE_CPU: case MOERT_DEVICE_CUDA: case MOERT_DEVICE_CUDA_HOST:
    case MOERT_DEVICE_ROCM: case MOERT_DEVICE_ROCM_HOST: break;
    default:
      return fail(kind, RejectKind::kBadTable,
                  who + "device_type " + std::to_string(api->device_type) +
                      " is not a DLPack device type moert knows (1, 2, 3, 10, 11)");
  }
  struct Fn { const void* p; const char* name; };
  const Fn mandatory[] = {
      {reinterpret_cast<const void*>(api->probe), "probe"},
      {reinterpret_cast<const void*>(api->initialize), "initialize"},
      {reinterpret_cast<const void*>(api->shutdown), "shutdown"},
      {reinterpret_cast<const void*>(api->error_code), "error_code"},
      {reinterpret_cast<const void*>(api->error_message), "error_message"},
      {reinterpret_cast<const void*>(api->error_destroy), "error_destroy"},
      {reinterpret_cast<const void*>(api->attributes), "attributes"},
      {reinterpret_cast<const void*>(api->device_alloc), "device_alloc"},
      {reinterpret_cast<const void*>(api->device_free), "device_free"},
      {reinterpret_cast<const void*>(api->copy_host_to_device), "copy_host_to_device"},
      {reinterpret_cast<const void*>(api->copy_device_to_host), "copy_device_to_host"},
      {reinterpret_cast<const void*>(api->stream_create), "stream_create"},
      {reinterpret_cast<const void*>(api->stream_destroy), "stream_destroy"},
      {reinterpret_cast<const void*>(api->stream_synchronize), "stream_synchronize"},
  };
  for (const Fn& f : mandatory)
    if (f.p == nullptr)
      return fail(kind, RejectKind::kBadTable, who + "mandatory function '" + f.name + "' is NULL");

  if (api->num_runners < 0 || api->num_experts < 0)
    return fail(kind, RejectKind::kBadTable, who + "negative num_runners or num_experts");
  if (api->num_runners > 0 && api->runners == nullptr)
    return fail(kind, RejectKind::kBadTable, who + "num_runners is " + std::to_string(api->num_runners) + " but runners is NULL");
  if (api->num_experts > 0 && api->experts == nullptr)
    return fail(kind, RejectKind::kBadTable, who + "num_experts is " + std::to_string(api->num_experts) + " but experts is NULL");

  std::set<std::string> names;
  for (int64_t i = 0; i < api->num_runners; ++i) {
    std::string why = check_runner(api->runners[i], i);
    if (!why.empty()) return fail(kind, RejectKind::kBadTable, who + why);
    if (!names.insert(api->runners[i]->name).second)
      return fail(kind, RejectKind::kBadTable, who + "registers runner '" + api->runners[i]->name + "' twice");
  }
  names.clear();
  for (int64_t i = 0; i < api->num_experts; ++i) {
    std::string why = check_experts(api->experts[i], i);
    if (!why.empty()) return fail(kind, RejectKind::kBadTable, who + why);
    if (!names.insert(api->experts[i]->name).second)
      return fail(kind, RejectKind::kBadTable, who + "registers experts '" + api->experts[i]->name + "' twice");
  }
  return {};
}

}  // namespace moert
