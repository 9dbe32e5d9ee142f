// Activations: known values and random rows against ref64.h, both gate/up layouts.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "moert/reference.h"
#include "ref64.h"

namespace {

TEST(Activations, KnownValues) {
  EXPECT_FLOAT_EQ(moert::silu(0.0f), 0.0f);
  EXPECT_NEAR(moert::silu(1.0f), 0.7310586f, 1e-6);
  EXPECT_NEAR(moert::gelu_erf(1.0f), 0.8413447f, 1e-6);
  EXPECT_NEAR(moert::gelu_tanh(1.0f), 0.8411920f, 1e-6);
  float h[2] = {-1.0f, 3.0f}, out[2];
  moert::apply_activation(MOERT_ACT_RELU2, 0, 0, 0, h, 2, out);
  EXPECT_EQ(out[0], 0.0f);
  EXPECT_EQ(out[1], 9.0f);
}

TEST(Activations, SwigluoaiClampsGateAndUp) {
  // interleaved: [g0, u0, g1, u1]
  float h[4] = {10.0f, -10.0f, 0.5f, 20.0f}, out[2];
  moert::apply_activation(MOERT_ACT_SWIGLUOAI, MOERT_GATE_UP_INTERLEAVED, 1.702f, 7.0f, h, 2, out);
  const double g = 7.0, u = -7.0;
  EXPECT_NEAR(out[0], g / (1 + std::exp(-1.702 * g)) * (u + 1), 1e-5);
  EXPECT_NEAR(out[1], 0.5 / (1 + std::exp(-1.702 * 0.5)) * (7.0 + 1), 1e-5);
  // Gate is clamped only from above: a very negative gate passes through.
  float h2[2] = {-20.0f, 1.0f}, o2[1];
  moert::apply_activation(MOERT_ACT_SWIGLUOAI, MOERT_GATE_UP_CONCAT, 1.702f, 7.0f, h2, 1, o2);
  EXPECT_NEAR(o2[0], -20.0 / (1 + std::exp(1.702 * 20.0)) * 2.0, 1e-9);
}

TEST(Activations, RandomRowsMatchFloat64) {
  std::mt19937 rng(5);
  std::normal_distribution<double> n(0.0, 3.0);
  const int64_t I = 97;
  for (int act = 0; act <= MOERT_ACT_RELU2; ++act)
    for (int layout = 0; layout < 2; ++layout) {
      const int64_t R = ref64::gated(act) ? 2 * I : I;
      std::vector<float> h(R), out(I);
      std::vector<double> hd(R);
      for (int64_t i = 0; i < R; ++i) hd[i] = h[i] = static_cast<float>(n(rng));
      moert::apply_activation(act, layout, 1.702f, 7.0f, h.data(), I, out.data());
      const std::vector<double> want = ref64::activate(act, layout == 1, 1.702f, 7.0f, hd, I);
      for (int64_t i = 0; i < I; ++i)
        EXPECT_NEAR(out[i], want[i], 1e-6 * (1 + std::fabs(want[i]))) << "act " << act << " layout " << layout << " i " << i;
    }
}

}  // namespace
