#include "activation.h"

#include <cmath>

#include "moert/moert_plugin.h"
#include "scalar_convert.h"

namespace moert_cpu {

bool activation_is_gated(int32_t a) {
  return a == MOERT_ACT_SILU_AND_MUL || a == MOERT_ACT_GELU_AND_MUL ||
         a == MOERT_ACT_GELU_TANH_AND_MUL || a == MOERT_ACT_SWIGLUOAI;
}

static inline float silu(float x) { return x / (1.f + std::exp(-x)); }
static inline float gelu_erf(float x) { return 0.5f * x * (1.f + std::erf(x * 0.70710678118654752f)); }
static inline float gelu_tanh(float x) {
  return 0.5f * x * (1.f + std::tanh(0.7978845608028654f * (x + 0.044715f * x * x * x)));
}

void apply_activation(const ActivationParams& p, const float* h, int64_t ldh, const float* bias,
                      int64_t M, int64_t i0, int64_t i1, float* a, int64_t lda) {
  if (p.activation == MOERT_ACT_SILU_AND_MUL && !p.interleaved) {
    silu_and_mul_avx2(h, ldh, p.inter, bias, M, i0, i1, a, lda, p.round_bf16);
    return;
  }
  const bool gated = activation_is_gated(p.activation);
  for (int64_t m = 0; m < M; ++m) {
    const float* hr = h + m * ldh;
    float* ar = a + m * lda;
    for (int64_t i = i0; i < i1; ++i) {
      int64_t gi = gated && p.interleaved ? 2 * i : i;
      int64_t ui = gated ? (p.interleaved ? 2 * i + 1 : i + p.inter) : i;
      float g = hr[gi] + (bias ? bias[gi] : 0.f);
      float u = gated ? hr[ui] + (bias ? bias[ui] : 0.f) : 0.f;
      float v;
      switch (p.activation) {
        case MOERT_ACT_SILU_AND_MUL: v = silu(g) * u; break;
        case MOERT_ACT_GELU_AND_MUL: v = gelu_erf(g) * u; break;
        case MOERT_ACT_GELU_TANH_AND_MUL: v = gelu_tanh(g) * u; break;
        case MOERT_ACT_SWIGLUOAI: {
          float gc = std::fmin(g, p.swiglu_limit);
          float uc = std::fmax(std::fmin(u, p.swiglu_limit), -p.swiglu_limit);
          v = gc / (1.f + std::exp(-p.swiglu_alpha * gc)) * (uc + 1.f);
          break;
        }
        case MOERT_ACT_SILU: v = silu(g); break;
        case MOERT_ACT_GELU: v = gelu_erf(g); break;
        default: {  // MOERT_ACT_RELU2
          float r = g > 0.f ? g : 0.f;
          v = r * r;
        }
      }
      ar[i] = p.round_bf16 ? moert_cpu_bf16_to_f32(moert_cpu_f32_to_bf16(v)) : v;
    }
  }
}

}  // namespace moert_cpu
