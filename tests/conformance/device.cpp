#include "device.h"

#include "moert/error.h"

namespace moert_conformance {

std::string take_error(const moert_plugin_api* api, moert_error* err, int32_t* code) {
  if (code) *code = MOERT_STATUS_OK;
  if (err == nullptr) return "";
  const int32_t c = api->error_code(err);
  const char* m = api->error_message(err);
  std::string text = std::string(moert::status_name(c)) + ": " +
                     ((m && *m) ? m : "(error without a message)");
  api->error_destroy(err);
  if (code) *code = c;
  return text;
}

void check_call(const moert_plugin_api* api, moert_error* err, const std::string& what) {
  if (err == nullptr) return;
  int32_t code = 0;
  std::string text = take_error(api, err, &code);
  throw CallError(what + ": " + text, code);
}

size_t tensor_bytes(moert_dtype dtype, const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return static_cast<size_t>((n * dtype.bits + 7) / 8);
}

DeviceBuffer::DeviceBuffer(const moert_plugin_api* api, size_t bytes) : api_(api), bytes_(bytes) {
  check_call(api_, api_->device_alloc(0, bytes ? bytes : 1, &ptr_),
             "device_alloc(" + std::to_string(bytes) + " bytes)");
  if (ptr_ == nullptr)
    throw CallError("device_alloc(" + std::to_string(bytes) + " bytes) succeeded but gave NULL", 0);
}

DeviceBuffer::~DeviceBuffer() {
  if (ptr_) take_error(api_, api_->device_free(0, ptr_));
}

void DeviceBuffer::upload(const void* src, size_t n) {
  check_call(api_, api_->copy_host_to_device(0, ptr_, src, n), "copy_host_to_device");
}

void DeviceBuffer::download(void* dst, size_t n) const {
  check_call(api_, api_->copy_device_to_host(0, dst, ptr_, n), "copy_device_to_host");
}

DeviceTensor::DeviceTensor(const moert_plugin_api* api, moert_dtype dtype_,
                           std::vector<int64_t> shape_, size_t min_bytes)
    : dtype(dtype_),
      shape(std::move(shape_)),
      buffer(api, std::max(min_bytes, tensor_bytes(dtype, shape))),
      device_type(api->device_type) {}

DeviceTensor::DeviceTensor(const moert_plugin_api* api, const moert::HostTensor& host)
    : DeviceTensor(api, host.dtype(), host.shape()) {
  if (host.nbytes()) buffer.upload(host.data(), host.nbytes());
}

moert_tensor DeviceTensor::view() const {
  moert_tensor t{};
  t.data = buffer.get();
  t.device = moert_device{device_type, 0};
  t.ndim = static_cast<int32_t>(shape.size());
  t.dtype = dtype;
  t.shape = const_cast<int64_t*>(shape.data());
  return t;
}

Stream::Stream(const moert_plugin_api* api) : api_(api) {
  check_call(api_, api_->stream_create(0, &s_), "stream_create");
}

Stream::~Stream() { take_error(api_, api_->stream_destroy(0, s_)); }

void Stream::synchronize() {
  check_call(api_, api_->stream_synchronize(0, s_), "stream_synchronize");
}

}  // namespace moert_conformance
