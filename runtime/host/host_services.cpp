// The host services handed to every plugin: logging to stderr, filtered by
// the MOERT_LOG_LEVEL environment variable (debug, info, warning, error or
// 0..3; default warning).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "moert/loader.h"

namespace moert {

namespace {

int32_t threshold_from_env() {
  const char* v = std::getenv("MOERT_LOG_LEVEL");
  if (v == nullptr || *v == '\0') return MOERT_LOG_WARNING;
  if (!std::strcmp(v, "debug") || !std::strcmp(v, "0")) return MOERT_LOG_DEBUG;
  if (!std::strcmp(v, "info") || !std::strcmp(v, "1")) return MOERT_LOG_INFO;
  if (!std::strcmp(v, "warning") || !std::strcmp(v, "2")) return MOERT_LOG_WARNING;
  if (!std::strcmp(v, "error") || !std::strcmp(v, "3")) return MOERT_LOG_ERROR;
  std::fprintf(stderr, "moert: MOERT_LOG_LEVEL='%s' not understood (expected debug, info, warning, "
                       "error or 0..3); using warning\n", v);
  return MOERT_LOG_WARNING;
}

const char* level_name(int32_t level) {
  switch (level) {
    case MOERT_LOG_DEBUG: return "debug";
    case MOERT_LOG_INFO: return "info";
    case MOERT_LOG_WARNING: return "warning";
    case MOERT_LOG_ERROR: return "error";
    default: return "log";
  }
}

// Borrowed strings, thread-safe (one line at a time).
void log_to_stderr(void* /*host_context*/, int32_t level, const char* plugin_name, const char* message) {
  static const int32_t threshold = threshold_from_env();
  if (level < threshold) return;
  static std::mutex* mutex = new std::mutex;  // never destroyed: plugins may log late
  std::lock_guard<std::mutex> lock(*mutex);
  std::fprintf(stderr, "[moert:%s] %s: %s\n", plugin_name ? plugin_name : "?", level_name(level),
               message ? message : "");
}

}  // namespace

const moert_host_services* default_host_services() {
  static const moert_host_services services = {
      sizeof(moert_host_services), MOERT_ABI_MAJOR, MOERT_ABI_MINOR, nullptr, &log_to_stderr};
  return &services;
}

}  // namespace moert
