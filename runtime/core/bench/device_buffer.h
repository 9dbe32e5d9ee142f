// RAII device memory and events through a plugin's table, for the bench.
#pragma once

#include <cstddef>
#include <string>

#include "moert/error.h"
#include "moert/moert_plugin.h"

namespace moert {
namespace bench_detail {

class DeviceBuffer {
 public:
  DeviceBuffer(const moert_plugin_api* api, int32_t device, size_t bytes) : api_(api), device_(device) {
    // At least one byte, so that even a 0-token tensor has a real address.
    check(api_, api_->device_alloc(device_, bytes ? bytes : 1, &ptr_),
          "bench: device_alloc(" + std::to_string(bytes) + " bytes)");
  }
  ~DeviceBuffer() {
    if (ptr_) take_error_message(api_, api_->device_free(device_, ptr_));
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  void upload(const void* src, size_t bytes) {
    if (bytes) check(api_, api_->copy_host_to_device(device_, ptr_, src, bytes), "bench: copy_host_to_device");
  }
  void* get() const { return ptr_; }

 private:
  const moert_plugin_api* api_;
  int32_t device_;
  void* ptr_ = nullptr;
};

class DeviceEvent {
 public:
  DeviceEvent(const moert_plugin_api* api, int32_t device) : api_(api), device_(device) {
    check(api_, api_->event_create(device_, &ev_), "bench: event_create");
  }
  ~DeviceEvent() {
    if (ev_) take_error_message(api_, api_->event_destroy(device_, ev_));
  }
  DeviceEvent(const DeviceEvent&) = delete;
  DeviceEvent& operator=(const DeviceEvent&) = delete;
  void* get() const { return ev_; }

 private:
  const moert_plugin_api* api_;
  int32_t device_;
  void* ev_ = nullptr;
};

class DeviceGraph {
 public:
  DeviceGraph(const moert_plugin_api* api, int32_t device, void* graph) : api_(api), device_(device), g_(graph) {}
  ~DeviceGraph() {
    if (g_) take_error_message(api_, api_->graph_destroy(device_, g_));
  }
  DeviceGraph(const DeviceGraph&) = delete;
  DeviceGraph& operator=(const DeviceGraph&) = delete;
  void* get() const { return g_; }

 private:
  const moert_plugin_api* api_;
  int32_t device_;
  void* g_;
};

}  // namespace bench_detail
}  // namespace moert
