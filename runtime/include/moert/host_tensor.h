// A host tensor that owns its bytes, and dtype helpers. Used by the CLI,
// the core reference and the tests; hands out borrowed moert_tensor views.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "moert/moert_plugin.h"

namespace moert {

// Common dtypes.
constexpr moert_dtype kF32{MOERT_DTYPE_FLOAT, 32, 1};
constexpr moert_dtype kF16{MOERT_DTYPE_FLOAT, 16, 1};
constexpr moert_dtype kBF16{MOERT_DTYPE_BFLOAT, 16, 1};
constexpr moert_dtype kF64{MOERT_DTYPE_FLOAT, 64, 1};
constexpr moert_dtype kI32{MOERT_DTYPE_INT, 32, 1};
constexpr moert_dtype kI64{MOERT_DTYPE_INT, 64, 1};
constexpr moert_dtype kU8{MOERT_DTYPE_UINT, 8, 1};
constexpr moert_dtype kFP8E4M3{MOERT_DTYPE_FLOAT8_E4M3FN, 8, 1};
constexpr moert_dtype kE8M0{MOERT_DTYPE_FLOAT8_E8M0FNU, 8, 1};
constexpr moert_dtype kFP4E2M1{MOERT_DTYPE_FLOAT4_E2M1FN, 4, 1};

inline bool operator==(moert_dtype a, moert_dtype b) {
  return a.code == b.code && a.bits == b.bits && a.lanes == b.lanes;
}
inline bool operator!=(moert_dtype a, moert_dtype b) { return !(a == b); }

// "f32", "bf16", "f16", "fp8_e4m3", "e8m0", "fp4_e2m1", "i32", ...
std::string dtype_name(moert_dtype d);
// Inverse of dtype_name; throws moert::Error naming the accepted spellings.
moert_dtype dtype_from_name(const std::string& name);
// "[2, 3, 4]"
std::string shape_string(const std::vector<int64_t>& shape);

class HostTensor {
 public:
  HostTensor() = default;
  HostTensor(moert_dtype dtype, std::vector<int64_t> shape);  // zero-filled

  bool empty() const { return bytes_.empty() && shape_.empty(); }
  moert_dtype dtype() const { return dtype_; }
  const std::vector<int64_t>& shape() const { return shape_; }
  int64_t numel() const;
  size_t nbytes() const { return bytes_.size(); }
  void* data() { return bytes_.data(); }
  const void* data() const { return bytes_.data(); }
  template <class T> T* as() { return reinterpret_cast<T*>(bytes_.data()); }
  template <class T> const T* as() const { return reinterpret_cast<const T*>(bytes_.data()); }

  // A borrowed view; valid while this HostTensor lives and is not resized.
  // The view's shape pointer points into this object.
  moert_tensor view() const;

 private:
  moert_dtype dtype_{kF32};
  std::vector<int64_t> shape_;
  std::vector<unsigned char> bytes_;
};

// An absent optional tensor (data == NULL).
moert_tensor absent_tensor();

}  // namespace moert
