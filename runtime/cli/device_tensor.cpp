// DeviceTensor: plugin-allocated device memory with a host copy in and out.
#include "device_tensor.h"

#include <iostream>

#include "moert/error.h"

namespace moert {
namespace cli {

DeviceTensor::DeviceTensor(const moert_plugin_api* api, int32_t device_id, const HostTensor& host)
    : api_(api), device_id_(device_id), dtype_(host.dtype()), shape_(host.shape()), bytes_(host.nbytes()) {
  // Allocate at least one byte so that even an empty tensor has a non-NULL
  // ("present") address.
  check(api_, api_->device_alloc(device_id_, bytes_ ? bytes_ : 1, &ptr_),
        "device_alloc(" + std::to_string(bytes_) + " bytes)");
  if (ptr_ == nullptr) throw Error(MOERT_STATUS_INTERNAL, "device_alloc returned NULL without an error");
  try {
    if (bytes_) check(api_, api_->copy_host_to_device(device_id_, ptr_, host.data(), bytes_), "copy_host_to_device");
  } catch (...) {
    take_error_message(api_, api_->device_free(device_id_, ptr_));
    throw;
  }
}

DeviceTensor::~DeviceTensor() {
  const std::string err = take_error_message(api_, api_->device_free(device_id_, ptr_));
  if (!err.empty()) std::cerr << "moert: warning: device_free: " << err << "\n";
}

moert_tensor DeviceTensor::view() const {
  moert_tensor t{};
  t.data = ptr_;
  t.device = moert_device{api_->device_type, device_id_};
  t.ndim = static_cast<int32_t>(shape_.size());
  t.dtype = dtype_;
  t.shape = const_cast<int64_t*>(shape_.data());
  t.strides = nullptr;
  t.byte_offset = 0;
  return t;
}

void DeviceTensor::download(HostTensor& host) const {
  if (host.nbytes() != bytes_)
    throw Error(MOERT_STATUS_INTERNAL, "download: host tensor has " + std::to_string(host.nbytes()) +
                                           " bytes, device tensor " + std::to_string(bytes_));
  if (bytes_) check(api_, api_->copy_device_to_host(device_id_, host.data(), ptr_, bytes_), "copy_device_to_host");
}

}  // namespace cli
}  // namespace moert
