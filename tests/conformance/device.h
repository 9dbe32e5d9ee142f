// Device memory, streams and errors of a plugin, driven only through its
// table (the suite links no CUDA/HIP: a GPU plugin's own calls serve it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "moert/host_tensor.h"
#include "moert/moert_plugin.h"

namespace moert_conformance {

// A failed plugin call, as "<what>: <STATUS>: <plugin message>".
struct CallError : std::runtime_error {
  CallError(const std::string& what, int32_t code_)
      : std::runtime_error(what), code(code_) {}
  int32_t code;
};

// Takes `err` (may be NULL): reads code and message, destroys it. Returns
// "" for NULL, else "<STATUS>: <message>". `code` receives the code.
std::string take_error(const moert_plugin_api* api, moert_error* err, int32_t* code = nullptr);
// Throws CallError("<what>: <STATUS>: <message>") when err is not NULL.
void check_call(const moert_plugin_api* api, moert_error* err, const std::string& what);

// One device allocation, freed on destruction.
class DeviceBuffer {
 public:
  DeviceBuffer(const moert_plugin_api* api, size_t bytes);
  ~DeviceBuffer();
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  void* get() const { return ptr_; }
  size_t bytes() const { return bytes_; }
  void upload(const void* src, size_t n);
  void download(void* dst, size_t n) const;

 private:
  const moert_plugin_api* api_;
  void* ptr_ = nullptr;
  size_t bytes_;
};

// A device tensor: a buffer plus the shape/dtype a moert_tensor points to.
// The buffer may be larger than the tensor (guard rows, bad-shape tests).
struct DeviceTensor {
  DeviceTensor(const moert_plugin_api* api, moert_dtype dtype, std::vector<int64_t> shape,
               size_t min_bytes = 0);
  // Uploads a host tensor (same bytes) into a new buffer.
  DeviceTensor(const moert_plugin_api* api, const moert::HostTensor& host);
  moert_tensor view() const;
  moert_dtype dtype;
  std::vector<int64_t> shape;
  DeviceBuffer buffer;
  int32_t device_type;
};

// A stream of the plugin, destroyed on destruction.
class Stream {
 public:
  explicit Stream(const moert_plugin_api* api);
  ~Stream();
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  moert_stream get() const { return s_; }
  void synchronize();

 private:
  const moert_plugin_api* api_;
  moert_stream s_ = nullptr;
};

size_t tensor_bytes(moert_dtype dtype, const std::vector<int64_t>& shape);

}  // namespace moert_conformance
