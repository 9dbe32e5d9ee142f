// Exact number formats used by moert: bf16, f16, fp8 e4m3fn, e8m0, e2m1 and
// the MXFP4 packing. Host code; used by the CPU reference, the synthetic
// weights, the tests and any plugin that wants a host-side decoder.
//
// Decoders are exact (every code maps to the float it denotes). Encoders round
// to nearest, ties to even, and saturate where the format has no infinity.
#pragma once

#include <cstdint>

#include "moert/moert_plugin.h"

namespace moert {

// ---- 16-bit floats ----
float bf16_to_f32(uint16_t bits);
uint16_t f32_to_bf16(float value);  // RNE; NaN stays a (quiet) NaN
float f16_to_f32(uint16_t bits);
uint16_t f32_to_f16(float value);   // RNE; |x| >= 65520 becomes +-inf

// ---- OCP FP8 E4M3FN: bias 7, no infinity, 0x7F/0xFF = NaN, max 448 ----
float fp8_e4m3_to_f32(uint8_t bits);
// RNE, saturating: |x| > 448 (and +-inf) becomes +-448; NaN becomes 0x7F.
uint8_t f32_to_fp8_e4m3(float value);
constexpr float kFp8E4M3Max = 448.0f;

// ---- OCP E8M0 (MX block scale): 2^(bits-127); 0xFF = NaN, no zero ----
float e8m0_to_f32(uint8_t bits);
// The E8M0 code of 2^exponent, exponent clamped to [-127, 127].
uint8_t e8m0_from_exponent(int exponent);

// ---- OCP FP4 E2M1: nibble bits 0..2 index {0,.5,1,1.5,2,3,4,6}, bit 3 sign ----
float e2m1_to_f32(uint8_t nibble);  // only the low 4 bits are read
uint8_t f32_to_e2m1(float value);   // RNE, saturating to +-6; NaN becomes 0

// ---- MXFP4 packing: two nibbles per byte, low nibble = even element ----
// Element i of a packed row (n must be even for whole bytes).
inline uint8_t mxfp4_nibble(const uint8_t* packed, int64_t i) {
  const uint8_t b = packed[i >> 1];
  return (i & 1) ? static_cast<uint8_t>(b >> 4) : static_cast<uint8_t>(b & 0x0F);
}
// nibbles[n] (low 4 bits each) -> packed[n/2].
void mxfp4_pack(const uint8_t* nibbles, int64_t n, uint8_t* packed);
// packed[n/2] -> nibbles[n].
void mxfp4_unpack(const uint8_t* packed, int64_t n, uint8_t* nibbles);
// Dequantizes n (multiple of 32) MXFP4 values: e2m1(nibble) * 2^(scale-127),
// one e8m0 scale per 32 consecutive elements.
void mxfp4_dequantize(const uint8_t* packed, const uint8_t* scales_e8m0, int64_t n, float* out);

// ---- generic element access for the float dtypes the core handles ----
// Supported: f32, f64, bf16, f16, fp8_e4m3, e8m0. Throws moert::Error otherwise.
bool is_float_dtype(moert_dtype d);  // f32, bf16, f16
float load_as_f32(const void* base, moert_dtype dtype, int64_t index);
void store_from_f32(void* base, moert_dtype dtype, int64_t index, float value);
void convert_to_f32(const void* src, moert_dtype dtype, int64_t n, float* dst);
void convert_from_f32(const float* src, int64_t n, moert_dtype dtype, void* dst);
// value rounded to `dtype` (f32, bf16, f16) and back: what storing it costs.
float round_to_dtype(float value, moert_dtype dtype);

}  // namespace moert
