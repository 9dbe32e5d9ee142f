// OCP FP8 E4M3FN and E8M0: exact decode, RNE saturating encode.
#include <cmath>

#include "moert/quant.h"

namespace moert {

float fp8_e4m3_to_f32(uint8_t bits) {
  const bool neg = bits & 0x80u;
  const int exp = (bits >> 3) & 0xF;
  const int mant = bits & 0x7;
  float v;
  if (exp == 0xF && mant == 0x7) return std::nanf("");
  if (exp == 0)
    v = std::ldexp(static_cast<float>(mant), -9);  // subnormal: m * 2^-9
  else
    v = std::ldexp(static_cast<float>(8 + mant), exp - 7 - 3);  // (1 + m/8) * 2^(e-7)
  return neg ? -v : v;
}

uint8_t f32_to_fp8_e4m3(float value) {
  const uint8_t sign = std::signbit(value) ? 0x80u : 0x00u;
  if (std::isnan(value)) return static_cast<uint8_t>(sign | 0x7Fu);
  const float a = std::fabs(value);
  if (a >= kFp8E4M3Max) return static_cast<uint8_t>(sign | 0x7Eu);
  if (a < 0.015625f) {
    // Below the smallest normal 2^-6 the quantum is 2^-9; q == 8 is 2^-6 itself.
    const int q = static_cast<int>(std::nearbyint(std::ldexp(a, 9)));
    return static_cast<uint8_t>(sign | q);
  }
  int e2;
  std::frexp(a, &e2);  // a = f * 2^e2, f in [0.5, 1)
  int e = e2 - 1;      // a in [2^e, 2^(e+1))
  int m = static_cast<int>(std::nearbyint(std::ldexp(a, 3 - e)));  // in [8, 16]
  if (m == 16) {
    m = 8;
    ++e;
  }
  int code = ((e + 7) << 3) | (m - 8);
  if (code > 0x7E) code = 0x7E;  // 464..480 would round onto the NaN code: saturate
  return static_cast<uint8_t>(sign | code);
}

float e8m0_to_f32(uint8_t bits) {
  if (bits == 0xFFu) return std::nanf("");
  return std::ldexp(1.0f, static_cast<int>(bits) - 127);
}

uint8_t e8m0_from_exponent(int exponent) {
  if (exponent < -127) exponent = -127;
  if (exponent > 127) exponent = 127;
  return static_cast<uint8_t>(exponent + 127);
}

}  // namespace moert
