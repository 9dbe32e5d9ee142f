// Activation functions of the expert MLP (f64 internally, f32 out).
#include <algorithm>
#include <cmath>

#include "moert/reference.h"

namespace moert {

namespace {
double silu_d(double x) { return x / (1.0 + std::exp(-x)); }
double gelu_erf_d(double x) { return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0))); }
double gelu_tanh_d(double x) {
  const double k = std::sqrt(2.0 / M_PI);
  return 0.5 * x * (1.0 + std::tanh(k * (x + 0.044715 * x * x * x)));
}
}  // namespace

float silu(float x) { return static_cast<float>(silu_d(x)); }
float gelu_erf(float x) { return static_cast<float>(gelu_erf_d(x)); }
float gelu_tanh(float x) { return static_cast<float>(gelu_tanh_d(x)); }

void apply_activation(int32_t activation, int32_t layout, float alpha, float limit, const float* h,
                      int64_t I, float* out) {
  if (!activation_is_gated(activation)) {
    for (int64_t i = 0; i < I; ++i) {
      const double x = h[i];
      double y;
      switch (activation) {
        case MOERT_ACT_SILU: y = silu_d(x); break;
        case MOERT_ACT_GELU: y = gelu_erf_d(x); break;
        default: y = x > 0.0 ? x * x : 0.0; break;  // relu2
      }
      out[i] = static_cast<float>(y);
    }
    return;
  }
  const bool interleaved = layout == MOERT_GATE_UP_INTERLEAVED;
  for (int64_t i = 0; i < I; ++i) {
    double g = interleaved ? h[2 * i] : h[i];
    double u = interleaved ? h[2 * i + 1] : h[I + i];
    double y;
    switch (activation) {
      case MOERT_ACT_SILU_AND_MUL: y = silu_d(g) * u; break;
      case MOERT_ACT_GELU_AND_MUL: y = gelu_erf_d(g) * u; break;
      case MOERT_ACT_GELU_TANH_AND_MUL: y = gelu_tanh_d(g) * u; break;
      default: {  // swigluoai (gpt-oss)
        g = std::min<double>(g, limit);
        u = std::max<double>(std::min<double>(u, limit), -static_cast<double>(limit));
        y = g / (1.0 + std::exp(-static_cast<double>(alpha) * g)) * (u + 1.0);
        break;
      }
    }
    out[i] = static_cast<float>(y);
  }
}

}  // namespace moert
