#include "routing.h"

#include <cmath>

namespace moert_cpu {

int64_t routing_scratch_floats(const RoutingParams& p) {
  // scores, biased scores, group mask
  return 3 * static_cast<int64_t>(p.num_experts) + p.num_expert_group + 1;
}

// Index of the largest value among the allowed entries; ties -> lower index.
static int32_t argmax_allowed(const float* v, const float* allowed, int32_t n) {
  int32_t best = -1;
  for (int32_t i = 0; i < n; ++i)
    if (allowed[i] != 0.f && (best < 0 || v[i] > v[best])) best = i;
  return best;
}

static void route_one(const RoutingParams& p, const float* logits, int32_t* ids, float* w,
                      float* scratch) {
  const int32_t E = p.num_experts;
  float* scores = scratch;
  float* select = scratch + E;   // what top-k ranks (biased in grouped top-k)
  float* allowed = scratch + 2 * E;
  if (p.sigmoid) {
    for (int32_t e = 0; e < E; ++e) scores[e] = 1.f / (1.f + std::exp(-logits[e]));
  } else {
    float mx = logits[0];
    for (int32_t e = 1; e < E; ++e) mx = logits[e] > mx ? logits[e] : mx;
    float sum = 0.f;
    for (int32_t e = 0; e < E; ++e) sum += (scores[e] = std::exp(logits[e] - mx));
    for (int32_t e = 0; e < E; ++e) scores[e] /= sum;
  }
  for (int32_t e = 0; e < E; ++e) {
    select[e] = scores[e] + (p.grouped && p.correction_bias ? p.correction_bias[e] : 0.f);
    allowed[e] = 1.f;
  }
  if (p.grouped) {
    // Groups are ranked by the sum of their top-2 selection scores (by their
    // max when there is no bias, as vLLM does); only topk_group survive.
    const int32_t G = p.num_expert_group, per = E / G;
    float* gscore = scratch + 3 * E;
    for (int32_t g = 0; g < G; ++g) {
      const float* s = select + g * per;
      if (!p.correction_bias) {
        float m = s[0];
        for (int32_t i = 1; i < per; ++i) m = s[i] > m ? s[i] : m;
        gscore[g] = m;
      } else {
        float a = -INFINITY, b = -INFINITY;
        for (int32_t i = 0; i < per; ++i) {
          if (s[i] > a) { b = a; a = s[i]; } else if (s[i] > b) { b = s[i]; }
        }
        gscore[g] = a + (per > 1 ? b : 0.f);
      }
    }
    for (int32_t e = 0; e < E; ++e) allowed[e] = 0.f;
    for (int32_t k = 0; k < p.topk_group; ++k) {
      int32_t best = 0;
      for (int32_t g = 1; g < G; ++g) if (gscore[g] > gscore[best]) best = g;
      for (int32_t i = 0; i < per; ++i) allowed[best * per + i] = 1.f;
      gscore[best] = -INFINITY;
    }
  }
  float sum = 0.f;
  for (int32_t k = 0; k < p.top_k; ++k) {
    int32_t e = argmax_allowed(select, allowed, E);
    allowed[e] = 0.f;
    ids[k] = e;
    w[k] = scores[e];  // unbiased score
    sum += w[k];
  }
  for (int32_t k = 0; k < p.top_k; ++k) {
    if (p.renormalize) w[k] /= sum;
    w[k] *= p.routed_scaling_factor;
  }
}

void route_tokens(const RoutingParams& p, const float* logits, int64_t T, int32_t* ids,
                  float* weights, float* scratch) {
  for (int64_t t = 0; t < T; ++t)
    route_one(p, logits + t * p.num_experts, ids + t * p.top_k, weights + t * p.top_k, scratch);
}

}  // namespace moert_cpu
