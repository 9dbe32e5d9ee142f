// MXFP4 / fp8 / bf16 bit formats against values from the OCP MX 1.0 spec
// (e2m1 table 5.3.3, e8m0 5.4) and the OCP 8-bit float spec (e4m3fn).
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "numeric_formats.h"

using namespace moert_hip;

TEST(Mxfp4Formats, E2M1TableMatchesOcpSpec) {
  const float expect[16] = {0, 0.5f, 1, 1.5f, 2, 3, 4, 6, -0.0f, -0.5f, -1, -1.5f, -2, -3, -4, -6};
  for (int n = 0; n < 16; ++n) {
    EXPECT_EQ(e2m1_to_f32(static_cast<uint8_t>(n)), expect[n]) << "nibble " << n;
    EXPECT_EQ(std::signbit(e2m1_to_f32(static_cast<uint8_t>(n))), n >= 8) << "sign of nibble " << n;
  }
}

TEST(Mxfp4Formats, E2M1RoundsToNearestEvenAndSaturates) {
  struct { float x; uint8_t code; } cases[] = {
      {0.25f, 0}, {0.26f, 1}, {0.75f, 2}, {1.25f, 2}, {1.75f, 4}, {2.5f, 4}, {3.5f, 6}, {5.0f, 6},
      {5.01f, 7}, {100.0f, 7}, {-0.6f, 9}, {-3.2f, 13}, {-6.0f, 15}};
  for (auto c : cases) EXPECT_EQ(f32_to_e2m1(c.x), c.code) << c.x;
  for (int n = 0; n < 16; ++n) {  // every representable value maps to itself (-0 keeps its sign)
    EXPECT_EQ(f32_to_e2m1(e2m1_to_f32(static_cast<uint8_t>(n))), n) << n;
  }
}

TEST(Mxfp4Formats, E8M0IsPowerOfTwoWithNaN) {
  EXPECT_EQ(e8m0_to_f32(127), 1.0f);
  EXPECT_EQ(e8m0_to_f32(128), 2.0f);
  EXPECT_EQ(e8m0_to_f32(120), 1.0f / 128);
  EXPECT_EQ(e8m0_to_f32(254), std::ldexp(1.0f, 127));
  EXPECT_EQ(e8m0_to_f32(1), std::ldexp(1.0f, -126));
  EXPECT_EQ(e8m0_to_f32(0), std::ldexp(1.0f, -127));  // subnormal in f32, still exact
  EXPECT_TRUE(std::isnan(e8m0_to_f32(255)));
}

// A 32-element MX block: low nibble = even element, value = e2m1 * 2^(s-127).
TEST(Mxfp4Formats, BlockPackUnpackLowNibbleIsEvenElement) {
  const float vals[32] = {0, 0.5f, 1, 1.5f, 2, 3, 4, 6, -0.5f, -1, -1.5f, -2, -3, -4, -6, 0,
                          6, 4, 3, 2, 1.5f, 1, 0.5f, 0, -6, -4, -3, -2, -1.5f, -1, -0.5f, 0};
  uint8_t packed[16];
  for (int i = 0; i < 16; ++i)
    packed[i] = static_cast<uint8_t>(f32_to_e2m1(vals[2 * i]) | (f32_to_e2m1(vals[2 * i + 1]) << 4));
  EXPECT_EQ(packed[0], 0x10);  // 0 (low) and 0.5 (high)
  EXPECT_EQ(packed[2], 0x54);  // 2 (low, 0x4) and 3 (high, 0x5)
  EXPECT_EQ(packed[3], 0x76);  // 4 (low, 0x6) and 6 (high, 0x7)
  EXPECT_EQ(packed[4], 0xA9);  // -0.5 (low, 0x9) and -1 (high, 0xA)
  const uint8_t scale = 127 - 3;  // 2^-3
  for (int i = 0; i < 32; ++i) {
    const uint8_t nib = (i & 1) ? packed[i / 2] >> 4 : packed[i / 2] & 15;
    EXPECT_EQ(e2m1_to_f32(nib) * e8m0_to_f32(scale), vals[i] / 8) << i;
  }
}

TEST(Mxfp4Formats, E4M3FnMatchesOcpFp8Spec) {
  EXPECT_EQ(e4m3_to_f32(0x7e), 448.0f);           // max normal
  EXPECT_EQ(e4m3_to_f32(0x08), std::ldexp(1.0f, -6));  // min normal
  EXPECT_EQ(e4m3_to_f32(0x01), std::ldexp(1.0f, -9));  // min subnormal
  EXPECT_EQ(e4m3_to_f32(0x38), 1.0f);
  EXPECT_EQ(e4m3_to_f32(0xc0), -2.0f);
  EXPECT_TRUE(std::isnan(e4m3_to_f32(0x7f)));
  EXPECT_TRUE(std::isnan(e4m3_to_f32(0xff)));
  for (int c = 0; c < 256; ++c) {  // every finite code round-trips
    if ((c & 0x7f) == 0x7f) continue;
    const float v = e4m3_to_f32(static_cast<uint8_t>(c));
    if (v == 0.0f) continue;
    EXPECT_EQ(f32_to_e4m3(v), c) << c;
  }
  EXPECT_EQ(f32_to_e4m3(1000.0f), 0x7e);  // saturates
  EXPECT_EQ(f32_to_e4m3(-1000.0f), 0xfe);
  EXPECT_EQ(f32_to_e4m3(1.0625f), 0x38);  // tie between 1 and 1.125 -> even (1)
  EXPECT_EQ(f32_to_e4m3(1.1875f), 0x3a);  // tie between 1.125 and 1.25 -> even (1.25)
}

TEST(Mxfp4Formats, Bf16RoundsToNearestEven) {
  EXPECT_EQ(f32_to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(f32_to_bf16(bits_to_f32(0x3f808000u)), 0x3f80);  // tie -> even
  EXPECT_EQ(f32_to_bf16(bits_to_f32(0x3f818000u)), 0x3f82);  // tie -> even (up)
  EXPECT_EQ(f32_to_bf16(bits_to_f32(0x3f808001u)), 0x3f81);
  EXPECT_EQ(bf16_to_f32(0xc040), -3.0f);
  EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(std::nanf("")))));
  EXPECT_EQ(f16_to_f32(0x3c00), 1.0f);
  EXPECT_EQ(f16_to_f32(0xc000), -2.0f);
  EXPECT_EQ(f16_to_f32(0x0001), std::ldexp(1.0f, -24));
}
