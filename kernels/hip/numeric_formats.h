// numeric_formats.h -- bit-exact conversions for the formats the HIP kernels
// touch: bf16, fp8 e4m3fn (OCP), e8m0 and fp4 e2m1 (OCP MX). Written on raw
// bits so that the same code runs on the host (tests, weight preparation),
// on AMD and on NVIDIA, without depending on either vendor's bf16/fp8 types.
#pragma once

#include <stdint.h>
#include <string.h>

#if defined(__CUDACC__) || defined(__HIPCC__)
#include "hip_portability.h"  // __host__ / __device__ on either toolchain
#define MOERT_HD __host__ __device__ __forceinline__
#else
#define MOERT_HD inline
#endif

namespace moert_hip {

MOERT_HD float bits_to_f32(uint32_t b) {
  float f;
  __builtin_memcpy(&f, &b, 4);
  return f;
}
MOERT_HD uint32_t f32_to_bits(float f) {
  uint32_t b;
  __builtin_memcpy(&b, &f, 4);
  return b;
}

// bf16 <-> f32. Round to nearest even; NaN stays NaN.
MOERT_HD float bf16_to_f32(uint16_t h) { return bits_to_f32(static_cast<uint32_t>(h) << 16); }
MOERT_HD uint16_t f32_to_bf16(float f) {
  uint32_t b = f32_to_bits(f);
  if ((b & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((b >> 16) | 0x40);
  b += 0x7fffu + ((b >> 16) & 1u);
  return static_cast<uint16_t>(b >> 16);
}

// IEEE f16 -> f32 (exact).
MOERT_HD float f16_to_f32(uint16_t h) {
  const uint32_t s = (h & 0x8000u) << 16, e = (h >> 10) & 31u, m = h & 1023u;
  if (e == 31) return bits_to_f32(s | 0x7f800000u | (m << 13));
  if (e == 0) {
    float v = static_cast<float>(m) * (1.0f / 16777216.0f);  // m * 2^-24
    return s ? -v : v;
  }
  return bits_to_f32(s | ((e + 112u) << 23) | (m << 13));
}

// e8m0: 2^(byte - 127); 0xFF is NaN (OCP MX 1.0, section 5.4).
MOERT_HD float e8m0_to_f32(uint8_t s) {
  if (s == 0xff) return bits_to_f32(0x7fc00000u);
  if (s == 0) return bits_to_f32(0x00400000u);  // 2^-127 is an f32 subnormal
  return bits_to_f32(static_cast<uint32_t>(s) << 23);
}

// fp4 e2m1: nibble bit 3 = sign, magnitudes {0, .5, 1, 1.5, 2, 3, 4, 6}.
MOERT_HD float e2m1_to_f32(uint8_t nibble) {
  const uint32_t mag = nibble & 7u;
  // value = mag<2 ? mag*0.5 : (1 + (mag&1)/2) * 2^((mag>>1)-1)
  float v = (mag < 2) ? 0.5f * static_cast<float>(mag)
                      : (1.0f + 0.5f * static_cast<float>(mag & 1u)) *
                            static_cast<float>(1u << ((mag >> 1) - 1));
  return (nibble & 8u) ? -v : v;
}

// Nearest e2m1 nibble (ties to even mantissa), saturating at +-6.
MOERT_HD uint8_t f32_to_e2m1(float x) {
  uint8_t sign = (x < 0.0f || (x == 0.0f && (f32_to_bits(x) >> 31))) ? 8 : 0;
  float a = x < 0.0f ? -x : x;
  uint8_t m;
  if (!(a == a)) m = 7;                // NaN: no NaN in e2m1, saturate
  else if (a <= 0.25f) m = 0;
  else if (a < 0.75f) m = 1;
  else if (a <= 1.25f) m = 2;
  else if (a < 1.75f) m = 3;
  else if (a <= 2.5f) m = 4;
  else if (a < 3.5f) m = 5;
  else if (a <= 5.0f) m = 6;
  else m = 7;
  return static_cast<uint8_t>(sign | m);
}

// fp8 e4m3fn (bias 7, no inf, 0x7f/0xff NaN, max 448).
MOERT_HD float e4m3_to_f32(uint8_t v) {
  const uint32_t s = v >> 7, e = (v >> 3) & 15u, m = v & 7u;
  float r;
  if (e == 15 && m == 7) return bits_to_f32(0x7fc00000u);
  if (e == 0) r = static_cast<float>(m) * (1.0f / 512.0f);  // m * 2^-9
  else r = bits_to_f32(((e + 120u) << 23) | (m << 20));
  return s ? -r : r;
}

// Round to nearest even, saturating to +-448 (what GPU "satfinite" does).
MOERT_HD uint8_t f32_to_e4m3(float x) {
  uint32_t b = f32_to_bits(x);
  const uint8_t sign = static_cast<uint8_t>((b >> 24) & 0x80u);
  b &= 0x7fffffffu;
  if (b > 0x7f800000u) return static_cast<uint8_t>(sign | 0x7f);
  float a = bits_to_f32(b);
  if (a >= 464.0f) return static_cast<uint8_t>(sign | 0x7e);  // saturate to 448
  if (a < 0.015625f) {  // below 2^-6: subnormal grid of step 2^-9
    float q = a * 512.0f;
    uint32_t qi = static_cast<uint32_t>(q);
    float rem = q - static_cast<float>(qi);
    if (rem > 0.5f || (rem == 0.5f && (qi & 1u))) ++qi;
    return static_cast<uint8_t>(sign | qi);  // qi == 8 is the smallest normal
  }
  uint32_t exp = (b >> 23) - 120u;  // e4m3 exponent field
  uint32_t mant = b & 0x7fffffu;
  uint32_t keep = mant >> 20, rest = mant & 0xfffffu;
  if (rest > 0x80000u || (rest == 0x80000u && (keep & 1u))) ++keep;
  if (keep == 8) { keep = 0; ++exp; }
  if (exp > 15 || (exp == 15 && keep == 7)) return static_cast<uint8_t>(sign | 0x7e);
  return static_cast<uint8_t>(sign | (exp << 3) | keep);
}

}  // namespace moert_hip
