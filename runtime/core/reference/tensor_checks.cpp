#include "reference/tensor_checks.h"

#include "moert/error.h"
#include "moert/host_tensor.h"

namespace moert {
namespace checks {

std::vector<int64_t> shape_of(const moert_tensor& t) {
  std::vector<int64_t> s;
  if (t.shape == nullptr) return s;
  for (int32_t i = 0; i < t.ndim; ++i) s.push_back(t.shape[i]);
  return s;
}

void expect_shape(const moert_tensor& t, const std::string& name, const std::vector<int64_t>& shape,
                  const std::string& expected_desc) {
  if (t.data == nullptr) throw Error(name + " is absent (data is NULL); expected shape " + expected_desc);
  if (t.ndim < 0 || (t.ndim > 0 && t.shape == nullptr))
    throw Error(name + " has ndim=" + std::to_string(t.ndim) + " but no shape array");
  const std::vector<int64_t> got = shape_of(t);
  if (got != shape)
    throw Error(name + " shape " + shape_string(got) + " does not match " + expected_desc);
  if (t.strides != nullptr) {
    int64_t expect_stride = 1;
    for (int32_t i = t.ndim - 1; i >= 0; --i) {
      if (t.shape[i] > 1 && t.strides[i] != expect_stride)
        throw Error(name + " is not compact row-major (strides given); moert passes compact tensors");
      expect_stride *= t.shape[i];
    }
  }
}

void expect_dtype(const moert_tensor& t, const std::string& name, std::initializer_list<moert_dtype> allowed) {
  std::string names;
  for (const auto& d : allowed) {
    if (t.dtype == d) return;
    names += (names.empty() ? "" : " or ") + dtype_name(d);
  }
  throw Error(name + " dtype " + dtype_name(t.dtype) + " is not " + names);
}

void expect_host(const moert_tensor& t, const std::string& name) {
  const int32_t dt = t.device.device_type;
  if (dt != MOERT_DEVICE_CPU && dt != MOERT_DEVICE_CUDA_HOST && dt != MOERT_DEVICE_ROCM_HOST)
    throw Error(name + " lives on device type " + std::to_string(dt) +
                "; the core reference reads host memory (CPU=1, CUDA_HOST=3, ROCM_HOST=11)");
}

void expect(const moert_tensor& t, const std::string& name, std::initializer_list<moert_dtype> allowed,
            const std::vector<int64_t>& shape, const std::string& expected_desc) {
  expect_shape(t, name, shape, expected_desc);
  expect_dtype(t, name, allowed);
  expect_host(t, name);
}

std::string dim(const char* name, int64_t value) { return std::string(name) + "=" + std::to_string(value); }

}  // namespace checks
}  // namespace moert
