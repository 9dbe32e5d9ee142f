// moert_plugin.hpp -- optional header-only C++ helpers for plugin authors.
//
// Nothing here crosses the ABI: it only makes the C contract of
// moert_plugin.h easier to honour from C++ inside one plugin .so.
//   - moert::plugin::make_error / the three error-protocol functions give a
//     plugin its error objects (each .so gets its own hidden copy);
//   - guard() turns a C++ exception into an error object, so that no
//     exception ever leaves a plugin;
//   - small tensor helpers (element counts, byte sizes, dtype checks).
#ifndef MOERT_PLUGIN_HPP_
#define MOERT_PLUGIN_HPP_

#include <cstdarg>
#include <cstdio>
#include <exception>
#include <new>
#include <string>

#include "moert/moert_plugin.h"

// The plugin-side definition of the opaque error object.
struct moert_error {
  int32_t code;
  std::string message;
};

namespace moert {
namespace plugin {

// Allocates an error; the host frees it through error_destroy.
inline moert_error* make_error(moert_status code, const char* fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

inline moert_error* make_error(moert_status code, const char* fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  try {
    return new moert_error{static_cast<int32_t>(code), buf};
  } catch (...) {
    // Out of memory while reporting: a static error object would be freed by
    // the host, so return NULL-safe fallback through a leaked-on-purpose one.
    static moert_error oom{MOERT_STATUS_OUT_OF_MEMORY, "out of memory creating an error"};
    return new (std::nothrow) moert_error(oom);
  }
}

// The error-object protocol, to be put into the plugin table as is.
inline int32_t error_code(const moert_error* e) { return e ? e->code : MOERT_STATUS_OK; }
inline const char* error_message(const moert_error* e) { return e ? e->message.c_str() : ""; }
inline void error_destroy(moert_error* e) { delete e; }

// Runs fn (returning moert_error*) and converts any exception into an error.
template <class Fn>
moert_error* guard(const char* where, Fn&& fn) noexcept {
  try {
    return fn();
  } catch (const std::bad_alloc&) {
    return make_error(MOERT_STATUS_OUT_OF_MEMORY, "%s: out of memory", where);
  } catch (const std::exception& ex) {
    return make_error(MOERT_STATUS_INTERNAL, "%s: %s", where, ex.what());
  } catch (...) {
    return make_error(MOERT_STATUS_INTERNAL, "%s: unknown C++ exception", where);
  }
}

// ---- tensors ----
inline int64_t numel(const moert_tensor& t) {
  int64_t n = 1;
  for (int32_t i = 0; i < t.ndim; ++i) n *= t.shape[i];
  return n;
}
inline size_t nbytes(const moert_tensor& t) {
  return static_cast<size_t>((numel(t) * t.dtype.bits + 7) / 8);
}
inline bool present(const moert_tensor& t) { return t.data != nullptr; }
inline bool same_dtype(moert_dtype a, moert_dtype b) {
  return a.code == b.code && a.bits == b.bits && a.lanes == b.lanes;
}
inline void* data_ptr(const moert_tensor& t) {
  return static_cast<char*>(t.data) + t.byte_offset;
}

}  // namespace plugin
}  // namespace moert

#endif  // MOERT_PLUGIN_HPP_
