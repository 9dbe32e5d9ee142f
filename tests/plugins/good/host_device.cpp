// Host memory as the "device": the memory and stream calls of a CPU plugin
// (blocking copies, the NULL stream). Shared by the test-good and
// test-broken plugins.
#include "host_device.h"

#include <cstdlib>
#include <cstring>

namespace moert_test_good {
namespace {

using moert::plugin::make_error;

moert_error* bad_device(const char* call, int32_t device_id) {
  return make_error(MOERT_STATUS_INVALID_ARGUMENT, "host memory %s: device_id %d, the host CPU is device 0",
                    call, device_id);
}

moert_error* device_alloc(int32_t device_id, size_t bytes, void** out) {
  if (device_id != 0) return bad_device("device_alloc", device_id);
  if (out == nullptr) return make_error(MOERT_STATUS_INVALID_ARGUMENT, "host memory device_alloc: out is NULL");
  // 64-byte alignment like a device allocator; at least one byte so that a
  // zero-byte request still gives a unique, freeable pointer.
  const size_t rounded = ((bytes ? bytes : 1) + 63) / 64 * 64;
  *out = std::aligned_alloc(64, rounded);
  if (*out == nullptr)
    return make_error(MOERT_STATUS_OUT_OF_MEMORY, "host memory device_alloc: %zu bytes", bytes);
  return nullptr;
}

moert_error* device_free(int32_t device_id, void* p) {
  if (device_id != 0) return bad_device("device_free", device_id);
  std::free(p);
  return nullptr;
}

moert_error* copy_h2d(int32_t device_id, void* dst, const void* src, size_t bytes) {
  if (device_id != 0) return bad_device("copy_host_to_device", device_id);
  if (bytes && (dst == nullptr || src == nullptr))
    return make_error(MOERT_STATUS_INVALID_ARGUMENT, "host memory copy_host_to_device: NULL pointer");
  if (bytes) std::memcpy(dst, src, bytes);
  return nullptr;
}

moert_error* copy_d2h(int32_t device_id, void* dst, const void* src, size_t bytes) {
  if (device_id != 0) return bad_device("copy_device_to_host", device_id);
  if (bytes && (dst == nullptr || src == nullptr))
    return make_error(MOERT_STATUS_INVALID_ARGUMENT, "host memory copy_device_to_host: NULL pointer");
  if (bytes) std::memcpy(dst, src, bytes);
  return nullptr;
}

moert_error* stream_create(int32_t device_id, moert_stream* out) {
  if (device_id != 0) return bad_device("stream_create", device_id);
  if (out == nullptr) return make_error(MOERT_STATUS_INVALID_ARGUMENT, "host memory stream_create: out is NULL");
  *out = nullptr;  // CPU work is synchronous: the NULL stream
  return nullptr;
}

moert_error* stream_destroy(int32_t device_id, moert_stream) {
  return device_id != 0 ? bad_device("stream_destroy", device_id) : nullptr;
}

moert_error* stream_synchronize(int32_t device_id, moert_stream) {
  return device_id != 0 ? bad_device("stream_synchronize", device_id) : nullptr;
}

}  // namespace

void fill_host_device_calls(moert_plugin_api* t) {
  t->device_alloc = device_alloc;
  t->device_free = device_free;
  t->copy_host_to_device = copy_h2d;
  t->copy_device_to_host = copy_d2h;
  t->stream_create = stream_create;
  t->stream_destroy = stream_destroy;
  t->stream_synchronize = stream_synchronize;
}

}  // namespace moert_test_good
