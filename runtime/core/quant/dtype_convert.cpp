// Element access for the float dtypes of moert tensors.
#include <cstring>

#include "moert/error.h"
#include "moert/host_tensor.h"
#include "moert/quant.h"

namespace moert {

bool is_float_dtype(moert_dtype d) { return d == kF32 || d == kBF16 || d == kF16; }

float load_as_f32(const void* base, moert_dtype d, int64_t i) {
  if (d == kF32) return static_cast<const float*>(base)[i];
  if (d == kBF16) return bf16_to_f32(static_cast<const uint16_t*>(base)[i]);
  if (d == kF16) return f16_to_f32(static_cast<const uint16_t*>(base)[i]);
  if (d == kFP8E4M3) return fp8_e4m3_to_f32(static_cast<const uint8_t*>(base)[i]);
  if (d == kE8M0) return e8m0_to_f32(static_cast<const uint8_t*>(base)[i]);
  if (d == kF64) return static_cast<float>(static_cast<const double*>(base)[i]);
  throw Error("load_as_f32: dtype " + dtype_name(d) + " is not a float dtype the core reads");
}

void store_from_f32(void* base, moert_dtype d, int64_t i, float v) {
  if (d == kF32)
    static_cast<float*>(base)[i] = v;
  else if (d == kBF16)
    static_cast<uint16_t*>(base)[i] = f32_to_bf16(v);
  else if (d == kF16)
    static_cast<uint16_t*>(base)[i] = f32_to_f16(v);
  else if (d == kFP8E4M3)
    static_cast<uint8_t*>(base)[i] = f32_to_fp8_e4m3(v);
  else if (d == kF64)
    static_cast<double*>(base)[i] = v;
  else
    throw Error("store_from_f32: dtype " + dtype_name(d) + " is not a float dtype the core writes");
}

void convert_to_f32(const void* src, moert_dtype d, int64_t n, float* dst) {
  if (d == kF32) {
    std::memcpy(dst, src, static_cast<size_t>(n) * 4);
    return;
  }
  if (d == kBF16) {
    const auto* s = static_cast<const uint16_t*>(src);
    for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(s[i]);
    return;
  }
  for (int64_t i = 0; i < n; ++i) dst[i] = load_as_f32(src, d, i);
}

void convert_from_f32(const float* src, int64_t n, moert_dtype d, void* dst) {
  if (d == kF32) {
    std::memcpy(dst, src, static_cast<size_t>(n) * 4);
    return;
  }
  for (int64_t i = 0; i < n; ++i) store_from_f32(dst, d, i, src[i]);
}

float round_to_dtype(float v, moert_dtype d) {
  if (d == kBF16) return bf16_to_f32(f32_to_bf16(v));
  if (d == kF16) return f16_to_f32(f32_to_f16(v));
  return v;
}

}  // namespace moert
