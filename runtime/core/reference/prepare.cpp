// prepare: the activations the experts see (optionally fp8 per-token quantized).
#include <algorithm>
#include <cmath>

#include "moert/quant.h"
#include "moert/reference.h"

namespace moert {

void prepare_activations(const LayerConfig& L, const void* hidden, int64_t T, float* x, uint8_t* xq,
                         float* scales) {
  const int64_t H = L.hidden_size;
  convert_to_f32(hidden, L.activation_dtype, T * H, x);
  if (L.activation_quant != MOERT_ACT_QUANT_FP8_PER_TOKEN) return;
  for (int64_t t = 0; t < T; ++t) {
    float* row = x + t * H;
    float amax = 0.0f;
    for (int64_t j = 0; j < H; ++j) amax = std::max(amax, std::fabs(row[j]));
    // A zero row keeps scale 1 so that x / s stays defined.
    const float s = amax > 0.0f ? amax / kFp8E4M3Max : 1.0f;
    if (scales) scales[t] = s;
    for (int64_t j = 0; j < H; ++j) {
      const uint8_t q = f32_to_fp8_e4m3(row[j] / s);
      if (xq) xq[t * H + j] = q;
      row[j] = fp8_e4m3_to_f32(q) * s;
    }
  }
}

}  // namespace moert
