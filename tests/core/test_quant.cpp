// Number formats: fp8 e4m3fn, e8m0, e2m1/MXFP4, bf16, f16 against the OCP MX
// spec / e4m3fn table values and the independent decoders of ref64.h.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "moert/quant.h"
#include "ref64.h"

namespace {

TEST(Fp8E4M3, SpecValues) {
  EXPECT_EQ(moert::fp8_e4m3_to_f32(0x7E), 448.0f);                  // max normal
  EXPECT_EQ(moert::fp8_e4m3_to_f32(0xFE), -448.0f);
  EXPECT_EQ(moert::fp8_e4m3_to_f32(0x01), std::ldexp(1.0f, -9));    // min subnormal
  EXPECT_EQ(moert::fp8_e4m3_to_f32(0x07), 7 * std::ldexp(1.0f, -9)); // max subnormal
  EXPECT_EQ(moert::fp8_e4m3_to_f32(0x08), std::ldexp(1.0f, -6));    // min normal
  EXPECT_EQ(moert::fp8_e4m3_to_f32(0x38), 1.0f);
  EXPECT_EQ(moert::fp8_e4m3_to_f32(0x3C), 1.5f);
  EXPECT_EQ(moert::fp8_e4m3_to_f32(0x00), 0.0f);
  EXPECT_TRUE(std::signbit(moert::fp8_e4m3_to_f32(0x80)));
  EXPECT_TRUE(std::isnan(moert::fp8_e4m3_to_f32(0x7F)));
  EXPECT_TRUE(std::isnan(moert::fp8_e4m3_to_f32(0xFF)));
}

TEST(Fp8E4M3, EveryCodeDecodesAndRoundTrips) {
  for (int c = 0; c < 256; ++c) {
    const double want = ref64::e4m3(static_cast<uint8_t>(c));
    const float got = moert::fp8_e4m3_to_f32(static_cast<uint8_t>(c));
    if (std::isnan(want)) {
      EXPECT_TRUE(std::isnan(got)) << c;
      continue;
    }
    EXPECT_EQ(static_cast<double>(got), want) << "code " << c;
    EXPECT_EQ(moert::f32_to_fp8_e4m3(got), c) << "code " << c;
  }
}

TEST(Fp8E4M3, EncodeRoundsToNearestEvenAndSaturates) {
  EXPECT_EQ(moert::f32_to_fp8_e4m3(1.0625f), 0x38);  // tie 1.0 / 1.125 -> even mantissa (1.0)
  EXPECT_EQ(moert::f32_to_fp8_e4m3(1.1875f), 0x3A);  // tie 1.125 / 1.25 -> 1.25
  EXPECT_EQ(moert::f32_to_fp8_e4m3(std::ldexp(1.0f, -10)), 0x00);      // tie 0 / 2^-9 -> 0
  EXPECT_EQ(moert::f32_to_fp8_e4m3(3 * std::ldexp(1.0f, -10)), 0x02);  // tie 2^-9 / 2^-8 -> 2^-8
  EXPECT_EQ(moert::f32_to_fp8_e4m3(1000.0f), 0x7E);
  EXPECT_EQ(moert::f32_to_fp8_e4m3(470.0f), 0x7E);
  EXPECT_EQ(moert::f32_to_fp8_e4m3(-INFINITY), 0xFE);
  EXPECT_EQ(moert::f32_to_fp8_e4m3(INFINITY), 0x7E);
  EXPECT_EQ(moert::f32_to_fp8_e4m3(NAN) & 0x7F, 0x7F);
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u(-500.0f, 500.0f);
  for (int i = 0; i < 20000; ++i) {
    const float v = u(rng) * std::ldexp(1.0f, -static_cast<int>(rng() % 14));
    EXPECT_EQ(static_cast<double>(moert::fp8_e4m3_to_f32(moert::f32_to_fp8_e4m3(v))), ref64::round_e4m3(v)) << v;
  }
}

TEST(E8M0, SpecValues) {
  EXPECT_EQ(moert::e8m0_to_f32(0x7F), 1.0f);
  EXPECT_EQ(moert::e8m0_to_f32(0x80), 2.0f);
  EXPECT_EQ(moert::e8m0_to_f32(0x7E), 0.5f);
  EXPECT_EQ(moert::e8m0_to_f32(0x00), std::ldexp(1.0f, -127));
  EXPECT_EQ(moert::e8m0_to_f32(0xFE), std::ldexp(1.0f, 127));
  EXPECT_TRUE(std::isnan(moert::e8m0_to_f32(0xFF)));
  EXPECT_EQ(moert::e8m0_from_exponent(0), 0x7F);
  EXPECT_EQ(moert::e8m0_from_exponent(-3), 0x7C);
}

TEST(E2M1, NibbleValues) {
  const float pos[8] = {0.0f, 0.5f, 1.0f, 1.5f, 2.0f, 3.0f, 4.0f, 6.0f};
  for (int n = 0; n < 16; ++n) {
    const float want = (n & 8) ? -pos[n & 7] : pos[n & 7];
    EXPECT_EQ(moert::e2m1_to_f32(static_cast<uint8_t>(n)), want) << n;
    EXPECT_EQ(static_cast<double>(moert::e2m1_to_f32(static_cast<uint8_t>(n))), ref64::e2m1(static_cast<uint8_t>(n)));
    if (n != 8) EXPECT_EQ(moert::f32_to_e2m1(want), n);  // -0 encodes as 0x8 too; skip it
  }
  EXPECT_EQ(moert::e2m1_to_f32(0x7), 6.0f);
  EXPECT_EQ(moert::e2m1_to_f32(0xF), -6.0f);
  EXPECT_EQ(moert::e2m1_to_f32(0x9), -0.5f);
}

TEST(E2M1, EncodeTiesToEvenAndSaturates) {
  EXPECT_EQ(moert::f32_to_e2m1(0.25f), 0x0);
  EXPECT_EQ(moert::f32_to_e2m1(0.75f), 0x2);  // 1.0
  EXPECT_EQ(moert::f32_to_e2m1(1.25f), 0x2);  // 1.0
  EXPECT_EQ(moert::f32_to_e2m1(1.75f), 0x4);  // 2.0
  EXPECT_EQ(moert::f32_to_e2m1(2.5f), 0x4);   // 2.0
  EXPECT_EQ(moert::f32_to_e2m1(3.5f), 0x6);   // 4.0
  EXPECT_EQ(moert::f32_to_e2m1(5.0f), 0x6);   // 4.0
  EXPECT_EQ(moert::f32_to_e2m1(7.0f), 0x7);   // saturate 6
  EXPECT_EQ(moert::f32_to_e2m1(-100.0f), 0xF);
}

TEST(Mxfp4, PackLowNibbleFirstAndDequantize) {
  const uint8_t nib[4] = {0x1, 0x2, 0xF, 0x7};
  uint8_t packed[2];
  moert::mxfp4_pack(nib, 4, packed);
  EXPECT_EQ(packed[0], 0x21);  // element 0 in the low nibble
  EXPECT_EQ(packed[1], 0x7F);
  uint8_t back[4];
  moert::mxfp4_unpack(packed, 4, back);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(back[i], nib[i]);
  // 64 elements, two blocks with scales 2^1 and 2^-2.
  uint8_t nibbles[64], data[32];
  for (int i = 0; i < 64; ++i) nibbles[i] = static_cast<uint8_t>((i * 5) & 0xF);
  moert::mxfp4_pack(nibbles, 64, data);
  const uint8_t scales[2] = {0x80, 0x7D};
  float out[64];
  moert::mxfp4_dequantize(data, scales, 64, out);
  for (int i = 0; i < 64; ++i)
    EXPECT_EQ(static_cast<double>(out[i]), ref64::e2m1(nibbles[i]) * (i < 32 ? 2.0 : 0.25)) << i;
}

TEST(Bf16, RoundToNearestEven) {
  EXPECT_EQ(moert::f32_to_bf16(1.0f), 0x3F80);
  EXPECT_EQ(moert::f32_to_bf16(1.0f + std::ldexp(1.0f, -8)), 0x3F80);      // tie -> even
  EXPECT_EQ(moert::f32_to_bf16(1.0f + 3 * std::ldexp(1.0f, -8)), 0x3F82);  // tie -> even
  EXPECT_EQ(moert::bf16_to_f32(0xC000), -2.0f);
  EXPECT_TRUE(std::isnan(moert::bf16_to_f32(moert::f32_to_bf16(NAN))));
  std::mt19937 rng(2);
  std::normal_distribution<float> n(0.0f, 10.0f);
  for (int i = 0; i < 20000; ++i) {
    const float v = n(rng);
    EXPECT_EQ(static_cast<double>(moert::bf16_to_f32(moert::f32_to_bf16(v))), ref64::round_bf16(v)) << v;
  }
}

TEST(F16, EveryCodeAndRounding) {
  for (int c = 0; c < 65536; ++c) {
    const double want = ref64::f16(static_cast<uint16_t>(c));
    const float got = moert::f16_to_f32(static_cast<uint16_t>(c));
    if (std::isnan(want)) {
      EXPECT_TRUE(std::isnan(got));
      continue;
    }
    ASSERT_EQ(static_cast<double>(got), want) << c;
    ASSERT_EQ(moert::f32_to_f16(got), c) << c;
  }
  EXPECT_EQ(moert::f32_to_f16(65504.0f), 0x7BFF);
  EXPECT_EQ(moert::f32_to_f16(65519.0f), 0x7BFF);
  EXPECT_EQ(moert::f32_to_f16(65520.0f), 0x7C00);
  EXPECT_EQ(moert::f32_to_f16(std::ldexp(1.0f, -24)), 0x0001);
  EXPECT_EQ(moert::f32_to_f16(std::ldexp(1.0f, -25)), 0x0000);  // tie -> even (0)
  std::mt19937 rng(3);
  std::normal_distribution<float> n(0.0f, 1.0f);
  for (int i = 0; i < 20000; ++i) {
    const float v = n(rng) * std::ldexp(1.0f, static_cast<int>(rng() % 40) - 25);
    if (std::fabs(v) >= 65504.0f) continue;
    EXPECT_EQ(static_cast<double>(moert::f16_to_f32(moert::f32_to_f16(v))), ref64::round_f16(v)) << v;
  }
}

}  // namespace
