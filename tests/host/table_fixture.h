// In-process plugin tables for the loader and registry tests. Each test
// starts from a complete, valid table and breaks one rule, so a rejection
// has exactly one cause. The runner here only answers can_implement (f32
// layers only, otherwise UNIMPLEMENTED with a reason) and refuses create: the
// tests that use it exercise selection, not forwards (those run on the real
// test plugins and the core's default runner).
#pragma once

#include <cstring>
#include <string>

#include "moert/moert_plugin.hpp"

namespace moert {
namespace testing {

using moert::plugin::make_error;

inline int32_t probe_ok(char* reason, size_t cap) {
  if (cap) reason[0] = '\0';
  return 1;
}
inline int32_t probe_no(char* reason, size_t cap) {
  std::snprintf(reason, cap, "no BarAccelerator found");
  return 0;
}
inline int g_initialized = 0, g_shutdowns = 0;
inline moert_error* init_ok(const moert_host_services*) { ++g_initialized; return nullptr; }
inline moert_error* init_fail(const moert_host_services*) {
  return make_error(MOERT_STATUS_UNAVAILABLE, "driver version 1 too old");
}
inline moert_error* shutdown_count() { ++g_shutdowns; return nullptr; }
inline const moert_kv* attrs(size_t* n) {
  static const moert_kv kv[] = {{"dtypes", "f32"}};
  *n = 1;
  return kv;
}
inline moert_error* unimpl_alloc(int32_t, size_t, void**) { return make_error(MOERT_STATUS_UNIMPLEMENTED, "no memory here"); }
inline moert_error* unimpl_free(int32_t, void*) { return make_error(MOERT_STATUS_UNIMPLEMENTED, "no memory here"); }
inline moert_error* unimpl_copy(int32_t, void*, const void*, size_t) { return make_error(MOERT_STATUS_UNIMPLEMENTED, "no memory here"); }
inline moert_error* unimpl_stream_create(int32_t, moert_stream*) { return make_error(MOERT_STATUS_UNIMPLEMENTED, "no streams here"); }
inline moert_error* unimpl_stream(int32_t, moert_stream) { return make_error(MOERT_STATUS_UNIMPLEMENTED, "no streams here"); }

inline moert_error* f32_only(const moert_layer_desc* l) {
  if (l->activation_dtype.code == MOERT_DTYPE_FLOAT && l->activation_dtype.bits == 32) return nullptr;
  return make_error(MOERT_STATUS_UNIMPLEMENTED, "fixture runner supports only f32 activations");
}
inline moert_error* refuse_create(const moert_layer_desc*, int32_t, moert_runner**) {
  return make_error(MOERT_STATUS_UNIMPLEMENTED, "fixture runner cannot create instances");
}
inline void destroy_nothing(moert_runner*) {}
inline moert_error* ws(moert_runner*, int64_t, size_t* b) { *b = 0; return nullptr; }
inline moert_error* sw(moert_runner*, const moert_expert_weights*) { return make_error(MOERT_STATUS_UNIMPLEMENTED, "no"); }
inline moert_error* fw(moert_runner*, const moert_forward_args*) { return make_error(MOERT_STATUS_UNIMPLEMENTED, "no"); }

inline moert_runner_ops runner_ops(const char* name) {
  return moert_runner_ops{sizeof(moert_runner_ops), name, f32_only, refuse_create, destroy_nothing, ws, sw, fw};
}

// A valid ABI 1.1 table named `name` with the given runners.
inline moert_plugin_api valid_table(const char* name, const moert_runner_ops* const* runners = nullptr,
                                    int64_t num_runners = 0) {
  moert_plugin_api t;
  std::memset(&t, 0, sizeof t);
  t.struct_size = sizeof t;
  t.abi_major = MOERT_ABI_MAJOR;
  t.abi_minor = MOERT_ABI_MINOR;
  t.name = name;
  t.version = "9.9";
  t.vendor = "tests";
  t.device_type = MOERT_DEVICE_CPU;
  t.probe = probe_ok;
  t.initialize = init_ok;
  t.shutdown = shutdown_count;
  t.error_code = moert::plugin::error_code;
  t.error_message = moert::plugin::error_message;
  t.error_destroy = moert::plugin::error_destroy;
  t.attributes = attrs;
  t.device_alloc = unimpl_alloc;
  t.device_free = unimpl_free;
  t.copy_host_to_device = unimpl_copy;
  t.copy_device_to_host = unimpl_copy;
  t.stream_create = unimpl_stream_create;
  t.stream_destroy = unimpl_stream;
  t.stream_synchronize = unimpl_stream;
  t.num_runners = num_runners;
  t.runners = runners;
  return t;
}

}  // namespace testing
}  // namespace moert
