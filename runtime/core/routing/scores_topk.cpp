// Router scores (softmax / sigmoid) and the top-k selection primitive.
#include <cmath>
#include <limits>

#include "moert/routing.h"

namespace moert {

void compute_scores(const float* logits, int32_t n, int32_t scoring, float* scores) {
  if (scoring == MOERT_SCORING_SIGMOID) {
    for (int32_t e = 0; e < n; ++e) scores[e] = 1.0f / (1.0f + std::exp(-logits[e]));
    return;
  }
  float mx = logits[0];
  for (int32_t e = 1; e < n; ++e) mx = std::fmax(mx, logits[e]);
  double sum = 0.0;  // f64 sum: the normaliser is then exact to f32 rounding
  for (int32_t e = 0; e < n; ++e) {
    scores[e] = std::exp(logits[e] - mx);
    sum += scores[e];
  }
  const float inv = static_cast<float>(1.0 / sum);
  for (int32_t e = 0; e < n; ++e) scores[e] *= inv;
}

void top_k_indices(const float* values, int32_t n, int32_t k, int32_t* out, char* taken) {
  for (int32_t i = 0; i < n; ++i) taken[i] = 0;
  for (int32_t j = 0; j < k; ++j) {
    int32_t best = -1;
    for (int32_t i = 0; i < n; ++i) {
      if (taken[i]) continue;
      // Strictly greater: on a tie the lower index stays.
      if (best < 0 || values[i] > values[best]) best = i;
    }
    taken[best] = 1;
    out[j] = best;
  }
}

}  // namespace moert
