// Synthetic weights and inputs: shapes and dtypes per the ABI table, seeded
// determinism, the EP property, and that every encoded format dequantizes to
// the same underlying f32 draw within the format's precision.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "moert/error.h"
#include "moert/quant.h"
#include "moert/synthetic.h"
#include "moert/weight_layout.h"

using namespace moert;

namespace {

LayerSpec small_layer(int32_t quant, moert_dtype wdtype) {
  LayerSpec l;
  l.name = "tiny";
  l.desc.num_experts = 4;
  l.desc.num_local_experts = 4;
  l.desc.top_k = 2;
  l.desc.hidden_size = 160;        // not a multiple of 128: partial fp8 blocks
  l.desc.intermediate_size = 96;
  l.desc.quant_scheme = quant;
  l.desc.weight_dtype = wdtype;
  l.desc.activation_dtype = kF32;
  return l;
}

bool same_bytes(const HostTensor& a, const HostTensor& b) {
  return a.nbytes() == b.nbytes() && std::memcmp(a.data(), b.data(), a.nbytes()) == 0;
}

// Dequantizes expert e of a [E, rows, cols] weight tensor into f32.
std::vector<float> dequant(const LayerSpec& l, const HostTensor& w, const HostTensor& s, int64_t e) {
  const int64_t rows = w.shape()[1], cols = w.shape()[2], n = rows * cols;
  std::vector<float> out(static_cast<size_t>(n));
  switch (l.desc.quant_scheme) {
    case MOERT_QUANT_NONE:
      convert_to_f32(static_cast<const char*>(w.data()) + e * n * (w.dtype().bits / 8), w.dtype(), n, out.data());
      break;
    case MOERT_QUANT_FP8_PER_TENSOR:
      for (int64_t i = 0; i < n; ++i) out[i] = fp8_e4m3_to_f32(w.as<uint8_t>()[e * n + i]) * s.as<float>()[e];
      break;
    case MOERT_QUANT_FP8_PER_CHANNEL:
      for (int64_t i = 0; i < n; ++i)
        out[i] = fp8_e4m3_to_f32(w.as<uint8_t>()[e * n + i]) * s.as<float>()[e * rows + i / cols];
      break;
    case MOERT_QUANT_FP8_BLOCK_128: {
      const int64_t br = s.shape()[1], bc = s.shape()[2];
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < cols; ++c)
          out[r * cols + c] = fp8_e4m3_to_f32(w.as<uint8_t>()[e * n + r * cols + c]) *
                              s.as<float>()[(e * br + r / 128) * bc + c / 128];
      break;
    }
    case MOERT_QUANT_MXFP4:
      mxfp4_dequantize(w.as<uint8_t>() + e * n / 2, s.as<uint8_t>() + e * n / 32, n, out.data());
      break;
  }
  return out;
}

double rel_err(const std::vector<float>& a, const std::vector<float>& ref) {
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    num += (double(a[i]) - ref[i]) * (double(a[i]) - ref[i]);
    den += double(ref[i]) * ref[i];
  }
  return std::sqrt(num / den);
}

struct Scheme {
  int32_t quant;
  moert_dtype dtype;
  double tol;  // relative error of the dequantized weights vs the f32 draw
};

}  // namespace

TEST(Synthetic, ShapesAndDtypesFollowTheAbiTable) {
  const Scheme schemes[] = {{MOERT_QUANT_NONE, kF32, 0},           {MOERT_QUANT_NONE, kBF16, 0},
                            {MOERT_QUANT_NONE, kF16, 0},           {MOERT_QUANT_FP8_PER_TENSOR, kFP8E4M3, 0},
                            {MOERT_QUANT_FP8_PER_CHANNEL, kFP8E4M3, 0}, {MOERT_QUANT_FP8_BLOCK_128, kFP8E4M3, 0},
                            {MOERT_QUANT_MXFP4, kFP4E2M1, 0}};
  for (const auto& sc : schemes) {
    LayerSpec l = small_layer(sc.quant, sc.dtype);
    l.desc.has_bias = 1;
    l.desc.has_score_correction_bias = 1;
    const WeightSet w = make_random_weights(l, 7);
    SCOPED_TRACE(quant_scheme_name(sc.quant) + std::string(" ") + dtype_name(sc.dtype));
    EXPECT_EQ(dtype_name(w.w13.dtype()), dtype_name(sc.dtype));
    EXPECT_EQ(w.w13.shape(), (std::vector<int64_t>{4, 192, 160}));
    EXPECT_EQ(w.w2.shape(), (std::vector<int64_t>{4, 160, 96}));
    EXPECT_EQ(w.w13_bias.shape(), (std::vector<int64_t>{4, 192}));
    EXPECT_EQ(w.w2_bias.shape(), (std::vector<int64_t>{4, 160}));
    EXPECT_EQ(w.score_correction_bias.shape(), (std::vector<int64_t>{4}));
    switch (sc.quant) {
      case MOERT_QUANT_NONE:
        EXPECT_TRUE(w.w13_scale.empty());
        EXPECT_TRUE(w.w2_scale.empty());
        break;
      case MOERT_QUANT_FP8_PER_TENSOR:
        EXPECT_EQ(w.w13_scale.shape(), (std::vector<int64_t>{4}));
        EXPECT_EQ(w.w2_scale.shape(), (std::vector<int64_t>{4}));
        break;
      case MOERT_QUANT_FP8_PER_CHANNEL:
        EXPECT_EQ(w.w13_scale.shape(), (std::vector<int64_t>{4, 192}));
        EXPECT_EQ(w.w2_scale.shape(), (std::vector<int64_t>{4, 160}));
        break;
      case MOERT_QUANT_FP8_BLOCK_128:
        EXPECT_EQ(w.w13_scale.shape(), (std::vector<int64_t>{4, 2, 2}));
        EXPECT_EQ(w.w2_scale.shape(), (std::vector<int64_t>{4, 2, 1}));
        break;
      case MOERT_QUANT_MXFP4:
        EXPECT_EQ(dtype_name(w.w13_scale.dtype()), dtype_name(kE8M0));
        EXPECT_EQ(w.w13_scale.shape(), (std::vector<int64_t>{4, 192, 5}));
        EXPECT_EQ(w.w2_scale.shape(), (std::vector<int64_t>{4, 160, 3}));
        EXPECT_EQ(w.w13.nbytes(), size_t(4 * 192 * 160 / 2));
        break;
    }
    // The C view borrows exactly these tensors; absent ones have data NULL.
    const moert_expert_weights v = w.view();
    EXPECT_EQ(v.struct_size, sizeof(moert_expert_weights));
    EXPECT_EQ(v.w13.data, w.w13.data());
    EXPECT_EQ(v.w13_scale.data == nullptr, w.w13_scale.empty());
  }
}

TEST(Synthetic, OptionalTensorsAbsentUnlessRequested) {
  const WeightSet w = make_random_weights(small_layer(MOERT_QUANT_NONE, kBF16), 1);
  EXPECT_TRUE(w.w13_bias.empty());
  EXPECT_TRUE(w.score_correction_bias.empty());
  EXPECT_EQ(w.view().w13_bias.data, nullptr);
}

TEST(Synthetic, NonGatedActivationHasIRows) {
  LayerSpec l = small_layer(MOERT_QUANT_NONE, kBF16);
  l.desc.activation = MOERT_ACT_RELU2;
  EXPECT_EQ(make_random_weights(l, 1).w13.shape(), (std::vector<int64_t>{4, 96, 160}));
}

TEST(Synthetic, SeededAndDeterministic) {
  LayerSpec l = small_layer(MOERT_QUANT_FP8_BLOCK_128, kFP8E4M3);
  l.desc.has_bias = 1;
  const WeightSet a = make_random_weights(l, 42), b = make_random_weights(l, 42), c = make_random_weights(l, 43);
  EXPECT_TRUE(same_bytes(a.w13, b.w13));
  EXPECT_TRUE(same_bytes(a.w2_scale, b.w2_scale));
  EXPECT_TRUE(same_bytes(a.w2_bias, b.w2_bias));
  EXPECT_FALSE(same_bytes(a.w13, c.w13));
  EXPECT_TRUE(same_bytes(make_random_hidden(l, 5, 3), make_random_hidden(l, 5, 3)));
  EXPECT_FALSE(same_bytes(make_random_hidden(l, 5, 3), make_random_hidden(l, 5, 4)));
}

TEST(Synthetic, KnownValuesPinTheGenerator) {
  // The generator is our own (no std:: distributions), so its values are the
  // same on every compiler and library. Pin a few: a change of the stream
  // layout would silently change every golden file made from synthetic data.
  LayerSpec l = small_layer(MOERT_QUANT_NONE, kF32);
  const WeightSet a = make_random_weights(l, 0);
  EXPECT_FLOAT_EQ(a.w13.as<float>()[0], 0.0714181885f);
  EXPECT_FLOAT_EQ(a.w13.as<float>()[1], 0.0233094003f);
  EXPECT_FLOAT_EQ(a.w2.as<float>()[5], -0.149249986f);
  EXPECT_FLOAT_EQ(make_random_hidden(l, 2, 0).as<float>()[0], -0.519780576f);
  // Values lie in [-sqrt(3), sqrt(3)) / sqrt(fan_in).
  const float bound13 = std::sqrt(3.0f / 160.0f), bound2 = std::sqrt(3.0f / 96.0f);
  for (int64_t i = 0; i < a.w13.numel(); ++i) ASSERT_LE(std::fabs(a.w13.as<float>()[i]), bound13);
  for (int64_t i = 0; i < a.w2.numel(); ++i) ASSERT_LE(std::fabs(a.w2.as<float>()[i]), bound2);
}

TEST(Synthetic, EveryFormatEncodesTheSameDrawWithinItsPrecision) {
  // All formats draw the same f32 values for the same seed; the f32 layer is
  // therefore the exact reference for the encoded ones.
  const LayerSpec ref_layer = small_layer(MOERT_QUANT_NONE, kF32);
  const WeightSet ref = make_random_weights(ref_layer, 11);
  const Scheme schemes[] = {{MOERT_QUANT_NONE, kBF16, 4e-3},
                            {MOERT_QUANT_NONE, kF16, 5e-4},
                            {MOERT_QUANT_FP8_PER_TENSOR, kFP8E4M3, 3.5e-2},
                            {MOERT_QUANT_FP8_PER_CHANNEL, kFP8E4M3, 3.5e-2},
                            {MOERT_QUANT_FP8_BLOCK_128, kFP8E4M3, 3.5e-2},
                            {MOERT_QUANT_MXFP4, kFP4E2M1, 0.15}};
  for (const auto& sc : schemes) {
    const LayerSpec l = small_layer(sc.quant, sc.dtype);
    const WeightSet w = make_random_weights(l, 11);
    for (int64_t e = 0; e < 4; ++e) {
      SCOPED_TRACE(quant_scheme_name(sc.quant) + std::string(" ") + dtype_name(sc.dtype) + " expert " +
                   std::to_string(e));
      const auto w13 = dequant(l, w.w13, w.w13_scale, e), w2 = dequant(l, w.w2, w.w2_scale, e);
      const auto r13 = dequant(ref_layer, ref.w13, ref.w13_scale, e), r2 = dequant(ref_layer, ref.w2, ref.w2_scale, e);
      const double e13 = rel_err(w13, r13), e2 = rel_err(w2, r2);
      EXPECT_LT(e13, sc.tol);
      EXPECT_LT(e2, sc.tol);
      EXPECT_GT(e13, 0.0);  // really encoded, not a copy
    }
  }
}

TEST(Synthetic, WeightsAreScaledByFanIn) {
  LayerSpec l = small_layer(MOERT_QUANT_NONE, kF32);
  l.desc.hidden_size = 1024;
  l.desc.intermediate_size = 256;
  const WeightSet w = make_random_weights(l, 5);
  auto rms = [](const HostTensor& t) {
    double s = 0;
    for (int64_t i = 0; i < t.numel(); ++i) s += double(t.as<float>()[i]) * t.as<float>()[i];
    return std::sqrt(s / t.numel());
  };
  EXPECT_NEAR(rms(w.w13), 1.0 / std::sqrt(1024.0), 0.02 / std::sqrt(1024.0));
  EXPECT_NEAR(rms(w.w2), 1.0 / std::sqrt(256.0), 0.02 / std::sqrt(256.0));
}

TEST(Synthetic, ExpertMapGivesLocalExpertsOfTheGlobalLayer) {
  LayerSpec full = small_layer(MOERT_QUANT_FP8_PER_CHANNEL, kFP8E4M3);
  full.desc.has_bias = 1;
  LayerSpec rank = full;
  rank.expert_map = {-1, 1, -1, 0};  // global 3 -> local 0, global 1 -> local 1
  rank.desc.num_local_experts = 2;
  const WeightSet g = make_random_weights(full, 9), r = make_random_weights(rank, 9);
  ASSERT_EQ(r.w13.shape(), (std::vector<int64_t>{2, 192, 160}));
  const size_t per13 = 192 * 160, per_scale = 192;
  EXPECT_EQ(0, std::memcmp(r.w13.as<uint8_t>(), g.w13.as<uint8_t>() + 3 * per13, per13));
  EXPECT_EQ(0, std::memcmp(r.w13.as<uint8_t>() + per13, g.w13.as<uint8_t>() + 1 * per13, per13));
  EXPECT_EQ(0, std::memcmp(r.w13_scale.as<float>(), g.w13_scale.as<float>() + 3 * per_scale, per_scale * 4));
  EXPECT_EQ(0, std::memcmp(r.w2_bias.as<float>() + 160, g.w2_bias.as<float>() + 160, 160 * 4));
}

TEST(Synthetic, InvalidLayersAreRefusedWithTheReason) {
  LayerSpec l = small_layer(MOERT_QUANT_MXFP4, kFP4E2M1);
  l.desc.hidden_size = 100;
  try {
    make_random_weights(l, 1);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("divisible by 32"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("H=100"), std::string::npos) << e.what();
  }
  LayerSpec f = small_layer(MOERT_QUANT_FP8_PER_TENSOR, kBF16);
  try {
    make_random_weights(f, 1);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("needs weight_dtype fp8_e4m3, got bf16"), std::string::npos) << e.what();
  }
  LayerSpec m = small_layer(MOERT_QUANT_NONE, kBF16);
  m.expert_map = {0, -1, -1, -1};
  m.desc.num_local_experts = 2;  // local 1 has no global id
  EXPECT_THROW(make_random_weights(m, 1), Error);
  EXPECT_THROW(make_random_hidden(m, -1, 0), Error);
}

TEST(Synthetic, InputsHaveTheLayerShapesAndUnitScale) {
  LayerSpec l = small_layer(MOERT_QUANT_NONE, kBF16);
  l.desc.activation_dtype = kBF16;
  const HostTensor x = make_random_hidden(l, 64, 1);
  EXPECT_EQ(dtype_name(x.dtype()), dtype_name(kBF16));
  EXPECT_EQ(x.shape(), (std::vector<int64_t>{64, 160}));
  double s = 0, m = 0;
  for (int64_t i = 0; i < x.numel(); ++i) {
    const double v = bf16_to_f32(x.as<uint16_t>()[i]);
    m += v;
    s += v * v;
  }
  EXPECT_NEAR(m / x.numel(), 0.0, 0.05);
  EXPECT_NEAR(s / x.numel(), 1.0, 0.05);
  // Rows are drawn in order: fewer tokens give a prefix.
  const HostTensor x8 = make_random_hidden(l, 8, 1);
  EXPECT_EQ(0, std::memcmp(x.data(), x8.data(), x8.nbytes()));
  const HostTensor logits = make_random_logits(l, 3, 1);
  EXPECT_EQ(dtype_name(logits.dtype()), dtype_name(kF32));
  EXPECT_EQ(logits.shape(), (std::vector<int64_t>{3, 4}));
  EXPECT_EQ(make_random_hidden(l, 0, 1).shape(), (std::vector<int64_t>{0, 160}));
}
