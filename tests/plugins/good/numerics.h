// Scalar conversions and activation functions of the test-good CPU plugin.
// Written independently of the core (runtime/core) on purpose: the
// conformance suite compares this plugin against the core's reference, so
// the two must not share code.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

namespace moert_test_good {

inline float bf16_to_f32(uint16_t v) {
  uint32_t u = static_cast<uint32_t>(v) << 16;
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

// Round to nearest even, NaN stays NaN.
inline uint16_t f32_to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40u);
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}

inline float f16_to_f32(uint16_t h) {
  const uint32_t sign = (h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu;
  const uint32_t man = h & 0x3ffu;
  float mag;
  if (exp == 0)
    mag = std::ldexp(static_cast<float>(man), -24);  // zero or subnormal
  else if (exp == 31)
    mag = man ? NAN : INFINITY;
  else
    mag = std::ldexp(static_cast<float>(man | 0x400u), static_cast<int>(exp) - 25);
  uint32_t u;
  std::memcpy(&u, &mag, sizeof u);
  u |= sign;
  std::memcpy(&mag, &u, sizeof u);
  return mag;
}

inline float silu(float x) { return x / (1.0f + std::exp(-x)); }
inline float gelu_erf(float x) { return 0.5f * x * (1.0f + std::erf(x * 0.70710678118654752f)); }
inline float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

}  // namespace moert_test_good
