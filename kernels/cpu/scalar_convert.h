// Scalar conversions between the element types moert passes around (bf16,
// f16, fp8 e4m3, fp4 e2m1, e8m0). Everything is `static inline` on purpose:
// ISA-specific translation units include this header too, and internal
// linkage keeps an AVX-512 copy from replacing the baseline copy at link time.
#pragma once

#include <stdint.h>
#include <string.h>
#include <math.h>

static inline float moert_cpu_bits_to_f32(uint32_t u) {
  float f;
  memcpy(&f, &u, 4);
  return f;
}
static inline uint32_t moert_cpu_f32_to_bits(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  return u;
}

// bf16 -> f32 is exact: the bf16 bits are the top half of the f32 bits.
static inline float moert_cpu_bf16_to_f32(uint16_t h) { return moert_cpu_bits_to_f32((uint32_t)h << 16); }

// f32 -> bf16, round to nearest even (NaN kept quiet).
static inline uint16_t moert_cpu_f32_to_bf16(float f) {
  uint32_t u = moert_cpu_f32_to_bits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40);
  u += 0x7fffu + ((u >> 16) & 1u);
  return (uint16_t)(u >> 16);
}

// IEEE half -> f32 (exact), portable (no F16C needed).
static inline float moert_cpu_f16_to_f32(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t man = h & 0x3ffu;
  if (exp == 0x1f) return moert_cpu_bits_to_f32(sign | 0x7f800000u | (man << 13));
  if (exp == 0) {
    float v = ldexpf((float)man, -24);
    return sign ? -v : v;
  }
  return moert_cpu_bits_to_f32(sign | ((exp + 112u) << 23) | (man << 13));
}

// f32 -> IEEE half, round to nearest even.
static inline uint16_t moert_cpu_f32_to_f16(float f) {
  uint32_t u = moert_cpu_f32_to_bits(f);
  uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
  float a = fabsf(f);
  if (!(a == a)) return (uint16_t)(sign | 0x7e00u);
  if (a >= 65520.0f) return (uint16_t)(sign | 0x7c00u);
  if (a < 6.103515625e-05f) {  // subnormal half: multiples of 2^-24
    float q = nearbyintf(a * 16777216.0f);
    return (uint16_t)(sign | (uint16_t)q);
  }
  uint32_t au = moert_cpu_f32_to_bits(a);
  au += 0xfffu + ((au >> 13) & 1u);
  return (uint16_t)(sign | (uint16_t)(((au >> 13) - (112u << 10)) & 0x7fffu));
}

// fp8 e4m3fn -> f32 (exact). 0x7f/0xff are NaN.
static inline float moert_cpu_e4m3_to_f32(uint8_t b) {
  uint32_t exp = (b >> 3) & 0xfu, man = b & 7u;
  float v;
  if ((b & 0x7f) == 0x7f) return NAN;
  if (exp == 0) v = ldexpf((float)man, -9);
  else v = ldexpf((float)(8u + man), (int)exp - 10);
  return (b & 0x80) ? -v : v;
}

// f32 -> fp8 e4m3fn, round to nearest even, saturating at +-448.
static inline uint8_t moert_cpu_f32_to_e4m3(float f) {
  uint8_t sign = (moert_cpu_f32_to_bits(f) >> 24) & 0x80u;
  float a = fabsf(f);
  if (!(a == a)) return 0x7f;
  if (a >= 448.0f) return (uint8_t)(sign | 0x7e);
  int e;
  frexpf(a, &e);  // a = m * 2^e, m in [0.5, 1)
  // Spacing of representable values near a: normals have 3 mantissa bits
  // (ulp 2^(e-4)); below 2^-6 the spacing is fixed at 2^-9.
  int ulp_exp = e - 4 < -9 ? -9 : e - 4;
  float q = nearbyintf(ldexpf(a, -ulp_exp));  // rint = ties to even
  float v = ldexpf(q, ulp_exp);
  // Re-encode v exactly.
  if (v == 0.0f) return sign;
  int ve;
  float vm = frexpf(v, &ve);  // v = vm * 2^ve
  int exp = ve - 1 + 7;       // biased
  if (exp <= 0) return (uint8_t)(sign | (uint8_t)ldexpf(v, 9));  // subnormal
  uint8_t man = (uint8_t)((vm * 2.0f - 1.0f) * 8.0f);
  return (uint8_t)(sign | (exp << 3) | man);
}

// e2m1 nibble -> f32 (bit 3 = sign).
static inline float moert_cpu_e2m1_to_f32(uint8_t nib) {
  static const float lut[8] = {0.f, 0.5f, 1.f, 1.5f, 2.f, 3.f, 4.f, 6.f};
  float v = lut[nib & 7];
  return (nib & 8) ? -v : v;
}

// e8m0 scale byte -> 2^(b-127); 0xff is NaN.
static inline float moert_cpu_e8m0_to_f32(uint8_t b) {
  if (b == 0xff) return NAN;
  if (b == 0) return moert_cpu_bits_to_f32(0x00400000u);  // 2^-127, subnormal
  return moert_cpu_bits_to_f32((uint32_t)b << 23);
}
