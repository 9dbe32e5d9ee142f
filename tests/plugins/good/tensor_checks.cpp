#include "tensor_checks.h"

#include <sstream>

namespace moert_test_good {

using moert::plugin::make_error;

std::string dtype_str(moert_dtype d) {
  if (moert::plugin::same_dtype(d, kF32)) return "f32";
  if (moert::plugin::same_dtype(d, kF16)) return "f16";
  if (moert::plugin::same_dtype(d, kBF16)) return "bf16";
  if (moert::plugin::same_dtype(d, kI32)) return "i32";
  if (moert::plugin::same_dtype(d, kU8)) return "u8";
  std::ostringstream os;
  os << "dtype(code=" << int(d.code) << ",bits=" << int(d.bits) << ",lanes=" << d.lanes << ")";
  return os.str();
}

std::string shape_str(const moert_tensor& t) {
  if (t.ndim < 0 || (t.ndim > 0 && t.shape == nullptr)) return "<no shape>";
  std::ostringstream os;
  os << "[";
  for (int32_t i = 0; i < t.ndim; ++i) os << (i ? ", " : "") << t.shape[i];
  os << "]";
  return os.str();
}

std::string shape_str(std::initializer_list<int64_t> shape) {
  std::ostringstream os;
  os << "[";
  size_t i = 0;
  for (int64_t d : shape) os << (i++ ? ", " : "") << d;
  os << "]";
  return os.str();
}

moert_error* expect_tensor(const char* call, const char* name, const moert_tensor& t,
                           moert_dtype dtype, std::initializer_list<int64_t> shape) {
  if (t.device.device_type != MOERT_DEVICE_CPU)
    return make_error(MOERT_STATUS_INVALID_ARGUMENT,
                      "%s: %s is on device type %d, expected host memory (MOERT_DEVICE_CPU=1)",
                      call, name, t.device.device_type);
  if (!moert::plugin::same_dtype(t.dtype, dtype))
    return make_error(MOERT_STATUS_INVALID_ARGUMENT, "%s: %s has dtype %s, expected %s", call,
                      name, dtype_str(t.dtype).c_str(), dtype_str(dtype).c_str());
  bool shape_ok = t.ndim == static_cast<int32_t>(shape.size()) && (t.ndim == 0 || t.shape);
  int64_t numel = 1;
  if (shape_ok) {
    int32_t i = 0;
    for (int64_t d : shape) {
      if (t.shape[i++] != d) shape_ok = false;
      numel *= d;
    }
  }
  if (!shape_ok)
    return make_error(MOERT_STATUS_INVALID_ARGUMENT, "%s: %s has shape %s, expected %s", call,
                      name, shape_str(t).c_str(), shape_str(shape).c_str());
  if (t.strides != nullptr) {
    int64_t expect = 1;
    for (int32_t i = t.ndim - 1; i >= 0; --i) {
      if (t.shape[i] > 1 && t.strides[i] != expect)
        return make_error(MOERT_STATUS_INVALID_ARGUMENT, "%s: %s is not compact row-major", call,
                          name);
      expect *= t.shape[i];
    }
  }
  if (numel > 0 && t.data == nullptr)
    return make_error(MOERT_STATUS_INVALID_ARGUMENT, "%s: %s has no data (NULL) but shape %s",
                      call, name, shape_str(t).c_str());
  return nullptr;
}

moert_error* expect_workspace(const char* call, const moert_tensor& t, size_t bytes) {
  if (bytes == 0) return nullptr;
  if (t.data == nullptr)
    return make_error(MOERT_STATUS_INVALID_ARGUMENT,
                      "%s: workspace is absent (NULL data), expected %zu bytes from workspace_size",
                      call, bytes);
  if (t.device.device_type != MOERT_DEVICE_CPU || t.ndim != 1 || t.shape == nullptr ||
      !moert::plugin::same_dtype(t.dtype, kU8))
    return make_error(MOERT_STATUS_INVALID_ARGUMENT,
                      "%s: workspace must be a 1-D u8 host tensor, got %s %s on device type %d",
                      call, dtype_str(t.dtype).c_str(), shape_str(t).c_str(),
                      t.device.device_type);
  if (t.shape[0] < static_cast<int64_t>(bytes))
    return make_error(MOERT_STATUS_INVALID_ARGUMENT,
                      "%s: workspace has %lld bytes, expected at least %zu", call,
                      static_cast<long long>(t.shape[0]), bytes);
  return nullptr;
}

}  // namespace moert_test_good
