// HostTensor and dtype names.
#include "moert/host_tensor.h"

#include <sstream>

#include "moert/error.h"

namespace moert {

namespace {
struct DtypeName {
  moert_dtype dtype;
  const char* name;
};
constexpr DtypeName kDtypeNames[] = {
    {kF32, "f32"},   {kF16, "f16"},  {kBF16, "bf16"},         {kF64, "f64"},
    {kI32, "i32"},   {kI64, "i64"},  {kU8, "u8"},             {kFP8E4M3, "fp8_e4m3"},
    {kE8M0, "e8m0"}, {kFP4E2M1, "fp4_e2m1"},
};
}  // namespace

std::string dtype_name(moert_dtype d) {
  for (const auto& n : kDtypeNames)
    if (n.dtype == d) return n.name;
  std::ostringstream os;
  os << "dtype(code=" << int(d.code) << ",bits=" << int(d.bits) << ",lanes=" << d.lanes << ")";
  return os.str();
}

moert_dtype dtype_from_name(const std::string& name) {
  for (const auto& n : kDtypeNames)
    if (name == n.name) return n.dtype;
  std::string all;
  for (const auto& n : kDtypeNames) all += std::string(all.empty() ? "" : ", ") + n.name;
  throw Error("unknown dtype '" + name + "' (expected one of: " + all + ")");
}

std::string shape_string(const std::vector<int64_t>& shape) {
  std::ostringstream os;
  os << "[";
  for (size_t i = 0; i < shape.size(); ++i) os << (i ? ", " : "") << shape[i];
  os << "]";
  return os.str();
}

HostTensor::HostTensor(moert_dtype dtype, std::vector<int64_t> shape)
    : dtype_(dtype), shape_(std::move(shape)) {
  for (int64_t d : shape_)
    if (d < 0) throw Error("HostTensor: negative dimension in shape " + shape_string(shape_));
  bytes_.assign(static_cast<size_t>((numel() * dtype_.bits + 7) / 8), 0);
}

int64_t HostTensor::numel() const {
  int64_t n = 1;
  for (int64_t d : shape_) n *= d;
  return n;
}

moert_tensor HostTensor::view() const {
  moert_tensor t{};
  t.data = const_cast<unsigned char*>(bytes_.data());
  if (t.data == nullptr && !shape_.empty()) {
    // An empty (0-element) tensor must still be "present": give it a valid,
    // never-dereferenced address so that data != NULL.
    static unsigned char empty_anchor;
    t.data = &empty_anchor;
  }
  t.device = moert_device{MOERT_DEVICE_CPU, 0};
  t.ndim = static_cast<int32_t>(shape_.size());
  t.dtype = dtype_;
  t.shape = const_cast<int64_t*>(shape_.data());
  t.strides = nullptr;
  t.byte_offset = 0;
  return t;
}

moert_tensor absent_tensor() {
  moert_tensor t{};
  t.device = moert_device{MOERT_DEVICE_CPU, 0};
  return t;
}

}  // namespace moert
