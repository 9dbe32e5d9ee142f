// OCP MX FP4 (E2M1) values and their two-per-byte packing.
#include <cmath>

#include "moert/quant.h"

namespace moert {

namespace {
constexpr float kE2M1Magnitudes[8] = {0.0f, 0.5f, 1.0f, 1.5f, 2.0f, 3.0f, 4.0f, 6.0f};
}

float e2m1_to_f32(uint8_t nibble) {
  const float v = kE2M1Magnitudes[nibble & 0x7u];
  return (nibble & 0x8u) ? -v : v;
}

uint8_t f32_to_e2m1(float value) {
  if (std::isnan(value)) return 0;
  const uint8_t sign = std::signbit(value) ? 0x8u : 0x0u;
  const float a = std::fabs(value);
  // Nearest magnitude; on a tie the even code (even mantissa bit) wins.
  int best = 0;
  float best_err = a;
  for (int c = 1; c < 8; ++c) {
    const float err = std::fabs(a - kE2M1Magnitudes[c]);
    if (err < best_err || (err == best_err && (c % 2) == 0)) {
      best = c;
      best_err = err;
    }
  }
  return static_cast<uint8_t>(sign | best);
}

void mxfp4_pack(const uint8_t* nibbles, int64_t n, uint8_t* packed) {
  for (int64_t i = 0; i + 1 < n; i += 2)
    packed[i / 2] = static_cast<uint8_t>((nibbles[i] & 0xF) | ((nibbles[i + 1] & 0xF) << 4));
  if (n % 2) packed[n / 2] = static_cast<uint8_t>(nibbles[n - 1] & 0xF);
}

void mxfp4_unpack(const uint8_t* packed, int64_t n, uint8_t* nibbles) {
  for (int64_t i = 0; i < n; ++i) nibbles[i] = mxfp4_nibble(packed, i);
}

void mxfp4_dequantize(const uint8_t* packed, const uint8_t* scales_e8m0, int64_t n, float* out) {
  // Signed LUT over the whole nibble; one scale per 32-element block.
  static const float kSigned[16] = {0.0f,  0.5f,  1.0f,  1.5f,  2.0f,  3.0f,  4.0f,  6.0f,
                                    -0.0f, -0.5f, -1.0f, -1.5f, -2.0f, -3.0f, -4.0f, -6.0f};
  for (int64_t b = 0; b < n; b += 32) {
    const float s = e8m0_to_f32(scales_e8m0[b / 32]);
    const int64_t end = b + 32 < n ? b + 32 : n;
    for (int64_t i = b; i < end; ++i) out[i] = kSigned[mxfp4_nibble(packed, i)] * s;
  }
}

}  // namespace moert
