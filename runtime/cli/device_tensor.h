// A tensor in a runner's device memory, allocated, filled and freed through
// the plugin's own memory calls (device_api()), so the CLI drives any plugin
// without linking its device runtime.
#pragma once

#include <cstdint>
#include <vector>

#include "moert/host_tensor.h"
#include "moert/moert_plugin.h"

namespace moert {
namespace cli {

class DeviceTensor {
 public:
  // Allocates room for `host` on (api, device_id) and copies it there.
  DeviceTensor(const moert_plugin_api* api, int32_t device_id, const HostTensor& host);
  ~DeviceTensor();
  DeviceTensor(const DeviceTensor&) = delete;
  DeviceTensor& operator=(const DeviceTensor&) = delete;

  // Borrowed view on the device memory; valid while this object lives.
  moert_tensor view() const;
  // Copies the device bytes back into `host` (same size).
  void download(HostTensor& host) const;

 private:
  const moert_plugin_api* api_;
  int32_t device_id_;
  moert_dtype dtype_;
  std::vector<int64_t> shape_;
  size_t bytes_;
  void* ptr_ = nullptr;
};

}  // namespace cli
}  // namespace moert
