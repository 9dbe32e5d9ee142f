// A minimal host for one plugin file through the C ABI only (dlopen, entry,
// probe, initialize), used by the rocm GPU tests and the rocm benchmark so
// that they depend on nothing but moert_plugin.h.
#pragma once

#include <dlfcn.h>

#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include "moert/moert_plugin.h"

namespace rocm_test {

struct Plugin {
  void* lib = nullptr;
  const moert_plugin_api* api = nullptr;
  std::string path, unusable;  // unusable: why it cannot run here ("" = usable)

  // Throws std::runtime_error when the file cannot be loaded at all.
  explicit Plugin(const std::string& file) : path(file) {
    lib = dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!lib) throw std::runtime_error("dlopen " + file + ": " + dlerror());
    auto entry = reinterpret_cast<moert_plugin_entry_fn>(dlsym(lib, MOERT_PLUGIN_ENTRY_SYMBOL));
    if (!entry) throw std::runtime_error(file + ": no " MOERT_PLUGIN_ENTRY_SYMBOL);
    api = entry(MOERT_ABI_MAJOR, MOERT_ABI_MINOR, nullptr);
    if (!api) throw std::runtime_error(file + ": entry returned NULL");
    char reason[512] = {0};
    if (!api->probe(reason, sizeof reason)) {
      unusable = reason;
      return;
    }
    check(api->initialize(nullptr), "initialize");
  }
  ~Plugin() {
    if (api && unusable.empty()) {
      if (moert_error* e = api->shutdown()) api->error_destroy(e);
    }
    // The library stays mapped on purpose (see docs/abi.md, "Lifecycle").
  }
  // Throws with the plugin's message when err is not NULL.
  void check(moert_error* err, const std::string& what) const {
    if (!err) return;
    std::string msg = what + ": " + api->error_message(err);
    api->error_destroy(err);
    throw std::runtime_error(msg);
  }
  // Returns "" or the error's message (and frees it); *code gets the status.
  std::string message(moert_error* err, int* code = nullptr) const {
    if (code) *code = err ? api->error_code(err) : 0;
    if (!err) return "";
    std::string m = api->error_message(err);
    api->error_destroy(err);
    return m;
  }
  const moert_runner_ops* runner(const std::string& name) const {
    for (int64_t i = 0; i < api->num_runners; ++i)
      if (name == api->runners[i]->name) return api->runners[i];
    return nullptr;
  }
  const moert_experts_ops* experts(const std::string& name) const {
    for (int64_t i = 0; i < api->num_experts; ++i)
      if (name == api->experts[i]->name) return api->experts[i];
    return nullptr;
  }
};

// Device buffer owned through the plugin's memory calls.
struct DeviceBuffer {
  const Plugin* p = nullptr;
  void* ptr = nullptr;
  size_t bytes = 0;
  DeviceBuffer(const Plugin& pl, size_t n) : p(&pl), bytes(n) { p->check(p->api->device_alloc(0, n, &ptr), "device_alloc"); }
  ~DeviceBuffer() { if (ptr) p->message(p->api->device_free(0, ptr)); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  void upload(const void* src, size_t n) const { p->check(p->api->copy_host_to_device(0, ptr, src, n), "h2d"); }
  void download(void* dst, size_t n) const { p->check(p->api->copy_device_to_host(0, dst, ptr, n), "d2h"); }
};

// A tensor view (shape kept alive inside).
struct View {
  std::vector<int64_t> shape;
  moert_tensor t{};
  View() = default;
  View(void* data, moert_device dev, moert_dtype dt, std::vector<int64_t> s) : shape(std::move(s)) {
    t.data = data;
    t.device = dev;
    t.ndim = static_cast<int32_t>(shape.size());
    t.dtype = dt;
    t.shape = shape.data();
  }
  View(const View& o) : shape(o.shape), t(o.t) { t.shape = shape.data(); }
  View& operator=(const View& o) { shape = o.shape; t = o.t; t.shape = shape.data(); return *this; }
};

constexpr moert_dtype kBf16{MOERT_DTYPE_BFLOAT, 16, 1};
constexpr moert_dtype kF32{MOERT_DTYPE_FLOAT, 32, 1};
constexpr moert_dtype kI32{MOERT_DTYPE_INT, 32, 1};
constexpr moert_dtype kU8{MOERT_DTYPE_UINT, 8, 1};
constexpr moert_dtype kFp4{MOERT_DTYPE_FLOAT4_E2M1FN, 4, 1};
constexpr moert_dtype kE8m0{MOERT_DTYPE_FLOAT8_E8M0FNU, 8, 1};
constexpr moert_dtype kFp8{MOERT_DTYPE_FLOAT8_E4M3FN, 8, 1};

// Plugin file: $MOERT_ROCM_PLUGIN, else the first of `defaults` that exists.
inline std::string find_plugin(const std::vector<std::string>& defaults) {
  if (const char* env = std::getenv("MOERT_ROCM_PLUGIN")) return env;
  for (const auto& d : defaults) {
    void* h = dlopen(d.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD);
    if (h) return d;
    if (FILE* f = std::fopen(d.c_str(), "rb")) { std::fclose(f); return d; }
  }
  return "";
}

}  // namespace rocm_test
