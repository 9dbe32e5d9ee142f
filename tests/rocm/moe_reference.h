// Synthetic MXFP4 MoE layers and a float64 host reference of the team's
// forward semantics (briefing "Semantics of a forward"), for the rocm tests.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <random>
#include <vector>

#include "aiter_layout.h"
#include "moert/moert_plugin.h"
#include "numeric_formats.h"

namespace rocm_test {

struct Shape {
  int E = 8, k = 2;
  int64_t H = 128, I = 192;
  int act = MOERT_ACT_SWIGLUOAI;
  int gate_up = MOERT_GATE_UP_INTERLEAVED;
  bool bias = true, sigmoid = false, renorm = true, fp8 = false;
  float scaling = 1.0f, alpha = 1.702f, limit = 7.0f;
  std::vector<int32_t> map;  // empty: all local
  int num_local() const { return map.empty() ? E : static_cast<int>(std::count_if(map.begin(), map.end(), [](int v) { return v >= 0; })); }
};

// The moert_layer_desc of shape s (bf16 activations, MXFP4 weights, plain
// top-k routing); its options and expert map are borrowed from opts and s.
inline moert_layer_desc layer_desc(const Shape& s, int64_t max_tokens, std::vector<moert_kv>* opts) {
  moert_layer_desc d;
  std::memset(&d, 0, sizeof d);
  d.struct_size = sizeof d;
  d.num_experts = s.E;
  d.top_k = s.k;
  d.hidden_size = s.H;
  d.intermediate_size = s.I;
  d.activation = s.act;
  d.gate_up_layout = s.gate_up;
  d.has_bias = s.bias;
  d.swiglu_alpha = s.alpha;
  d.swiglu_limit = s.limit;
  d.routing_method = MOERT_ROUTING_TOPK;
  d.scoring = s.sigmoid ? MOERT_SCORING_SIGMOID : MOERT_SCORING_SOFTMAX;
  d.renormalize = s.renorm;
  d.routed_scaling_factor = s.scaling;
  d.activation_dtype = moert_dtype{MOERT_DTYPE_BFLOAT, 16, 1};
  d.weight_dtype = moert_dtype{MOERT_DTYPE_FLOAT4_E2M1FN, 4, 1};
  d.quant_scheme = MOERT_QUANT_MXFP4;
  d.activation_quant = s.fp8 ? MOERT_ACT_QUANT_FP8_PER_TOKEN : MOERT_ACT_QUANT_NONE;
  d.max_num_tokens = max_tokens;
  d.ep_size = 1;
  d.num_local_experts = s.num_local();
  d.expert_map = s.map.empty() ? nullptr : s.map.data();
  d.options = opts->empty() ? nullptr : opts->data();
  d.num_options = static_cast<int64_t>(opts->size());
  return d;
}

// Checkpoint-layout weights (moert ABI): w13 [El, 2I, H] fp4, scales [El, 2I, H/32], ...
struct Weights {
  std::vector<uint8_t> w13, w2, s13, s2;
  std::vector<float> b13, b2;
};

inline Weights make_weights(const Shape& s, uint32_t seed) {
  std::mt19937 rng(seed);
  const int64_t El = s.num_local(), R = 2 * s.I;
  Weights w;
  auto bytes = [&](size_t n) { std::vector<uint8_t> v(n); for (auto& b : v) b = static_cast<uint8_t>(rng()); return v; };
  // Scales 2^-6..2^-4 keep h = W x of order 1 for H, I in the hundreds/thousands.
  auto scales = [&](size_t n, int lo, int hi) { std::vector<uint8_t> v(n); for (auto& b : v) b = static_cast<uint8_t>(127 + lo + rng() % (hi - lo + 1)); return v; };
  w.w13 = bytes(El * R * s.H / 2);
  w.w2 = bytes(El * s.H * s.I / 2);
  const int shift = s.H >= 1024 ? -7 : -5;
  w.s13 = scales(El * R * s.H / 32, shift - 1, shift);
  w.s2 = scales(El * s.H * s.I / 32, shift - 1, shift);
  std::uniform_real_distribution<float> u(-0.5f, 0.5f);
  if (s.bias) {
    w.b13.resize(El * R);
    w.b2.resize(El * s.H);
    for (auto& v : w.b13) v = u(rng);
    for (auto& v : w.b2) v = u(rng);
  }
  return w;
}

inline std::vector<uint16_t> make_hidden(int64_t T, int64_t H, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<uint16_t> x(T * H);
  for (auto& v : x) v = moert_hip::f32_to_bf16(u(rng));
  return x;
}
inline std::vector<float> make_logits(int64_t T, int E, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> n(0.0f, 2.0f);
  std::vector<float> l(T * E);
  for (auto& v : l) v = n(rng);
  return l;
}

// Team semantics: f32 scores, top-k (ties -> lower id), renormalize, scaling.
inline void reference_routing(const Shape& s, const std::vector<float>& logits, int64_t T,
                              std::vector<int32_t>* ids, std::vector<float>* w) {
  ids->resize(T * s.k);
  w->resize(T * s.k);
  for (int64_t t = 0; t < T; ++t) {
    std::vector<float> sc(s.E);
    const float* l = &logits[t * s.E];
    if (s.sigmoid) {
      for (int e = 0; e < s.E; ++e) sc[e] = 1.0f / (1.0f + std::exp(-l[e]));
    } else {
      float mx = *std::max_element(l, l + s.E), sum = 0;
      for (int e = 0; e < s.E; ++e) sum += (sc[e] = std::exp(l[e] - mx));
      for (auto& v : sc) v /= sum;
    }
    std::vector<int> order(s.E);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return sc[a] > sc[b]; });
    float sum = 0;
    for (int j = 0; j < s.k; ++j) sum += sc[order[j]];
    for (int j = 0; j < s.k; ++j) {
      (*ids)[t * s.k + j] = order[j];
      (*w)[t * s.k + j] = (s.renorm ? sc[order[j]] / sum : sc[order[j]]) * s.scaling;
    }
  }
}

inline double dq(const std::vector<uint8_t>& w, const std::vector<uint8_t>& sc, int64_t row, int64_t K, int64_t k) {
  const uint8_t byte = w[row * (K / 2) + k / 2];
  const uint8_t nib = (k & 1) ? byte >> 4 : byte & 15;
  return static_cast<double>(moert_hip::e2m1_to_f32(nib)) * moert_hip::e8m0_to_f32(sc[row * (K / 32) + k / 32]);
}

// out [T, H] f64 given routing (global ids, weights). x is bf16; with fp8 the
// reference quantizes it per token exactly as the semantics say.
inline std::vector<double> reference_moe(const Shape& s, const Weights& W, const std::vector<uint16_t>& x, int64_t T,
                                         const std::vector<int32_t>& ids, const std::vector<float>& tw,
                                         bool weight_output = true) {
  const int64_t H = s.H, I = s.I, R = 2 * I;
  std::vector<double> out(T * H, 0.0), xt(H), h(R), a(I);
  for (int64_t t = 0; t < T; ++t) {
    float amax = 0;
    for (int64_t i = 0; i < H; ++i) amax = std::max(amax, std::fabs(moert_hip::bf16_to_f32(x[t * H + i])));
    const float sc = amax > 0 ? amax / 448.0f : 1.0f;
    for (int64_t i = 0; i < H; ++i) {
      const float v = moert_hip::bf16_to_f32(x[t * H + i]);
      xt[i] = s.fp8 ? static_cast<double>(moert_hip::e4m3_to_f32(moert_hip::f32_to_e4m3(v * (1.0f / sc)))) * sc : v;
    }
    for (int j = 0; j < s.k; ++j) {
      const int32_t g = ids[t * s.k + j];
      const int32_t e = s.map.empty() ? g : s.map[g];
      if (e < 0) continue;  // another EP rank's expert: contributes 0 here
      for (int64_t r = 0; r < R; ++r) {
        double acc = s.bias ? W.b13[e * R + r] : 0.0;
        for (int64_t k = 0; k < H; ++k) acc += dq(W.w13, W.s13, e * R + r, H, k) * xt[k];
        h[r] = acc;
      }
      for (int64_t i = 0; i < I; ++i) {
        const bool inter = s.gate_up == MOERT_GATE_UP_INTERLEAVED;
        double gt = h[inter ? 2 * i : i], up = h[inter ? 2 * i + 1 : I + i], v;
        if (s.act == MOERT_ACT_SWIGLUOAI) {
          gt = std::min(gt, static_cast<double>(s.limit));
          up = std::min(std::max(up, -static_cast<double>(s.limit)), static_cast<double>(s.limit));
          v = gt / (1.0 + std::exp(-s.alpha * gt)) * (up + 1.0);
        } else {
          v = gt / (1.0 + std::exp(-gt)) * up;
        }
        a[i] = moert_hip::bf16_to_f32(moert_hip::f32_to_bf16(static_cast<float>(v)));  // rounded as on the GPU
      }
      const double wk = weight_output ? tw[t * s.k + j] : 1.0;
      for (int64_t o = 0; o < H; ++o) {
        double acc = s.bias ? W.b2[e * H + o] : 0.0;
        for (int64_t i = 0; i < I; ++i) acc += dq(W.w2, W.s2, e * H + o, I, i) * a[i];
        out[t * H + o] += wk * acc;
      }
    }
  }
  return out;
}

}  // namespace rocm_test
