// ref64.h -- an independent, straightforward float64 reference of one MoE
// layer, for the tests. It shares no code with moert_core on purpose: number
// formats are decoded from their definitions, routing and the expert MLP are
// written out plainly in double.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <vector>

namespace ref64 {

// ---------- number formats, from their definitions ----------
inline double bf16(uint16_t b) {
  const uint32_t u = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
inline double f16(uint16_t h) {
  const int s = h >> 15, e = (h >> 10) & 31, m = h & 1023;
  double v = e == 0 ? std::ldexp(m, -24) : e == 31 ? (m ? NAN : INFINITY) : std::ldexp(1024 + m, e - 25);
  return s ? -v : v;
}
// OCP E4M3FN: sign, 4 exponent bits (bias 7), 3 mantissa bits; S.1111.111 = NaN.
inline double e4m3(uint8_t b) {
  const int s = b >> 7, e = (b >> 3) & 15, m = b & 7;
  if (e == 15 && m == 7) return NAN;
  double v = e == 0 ? m / 8.0 * std::ldexp(1.0, -6) : (1.0 + m / 8.0) * std::ldexp(1.0, e - 7);
  return s ? -v : v;
}
inline double e8m0(uint8_t b) { return b == 255 ? NAN : std::ldexp(1.0, b - 127); }
// OCP E2M1: sign bit 3, exponent bits 2..1 (bias 1), mantissa bit 0.
inline double e2m1(uint8_t n) {
  const int s = (n >> 3) & 1, e = (n >> 1) & 3, m = n & 1;
  double v = e == 0 ? m * 0.5 : (1.0 + m / 2.0) * std::ldexp(1.0, e - 1);
  return s ? -v : v;
}

// Round v to a binary float with `precision` significant bits and smallest
// normal exponent emin (subnormals below it), ties to even.
inline double round_float(double v, int precision, int emin) {
  if (v == 0 || !std::isfinite(v)) return v;
  int ex;
  std::frexp(v, &ex);
  int e = std::max(ex - 1, emin);
  const double q = std::ldexp(1.0, e - (precision - 1));
  return std::nearbyint(v / q) * q;
}
inline double round_bf16(double v) { return round_float(v, 8, -126); }
inline double round_f16(double v) { return round_float(v, 11, -14); }
// E4M3FN value nearest to v (ties to even), saturating at +-448.
inline double round_e4m3(double v) {
  const double r = round_float(v, 4, -6);
  return std::max(-448.0, std::min(448.0, r));
}

enum Dtype { F32, BF16, F16 };
inline double round_to(double v, Dtype d) {
  return d == BF16 ? round_bf16(v) : d == F16 ? round_f16(v) : static_cast<double>(static_cast<float>(v));
}

// ---------- activations ----------
inline double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }
inline double silu(double x) { return x * sigmoid(x); }
inline double gelu(double x) { return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0))); }
inline double gelu_tanh(double x) {
  return 0.5 * x * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
}
// act ids follow moert_activation: 0 silu_and_mul, 1 gelu_and_mul,
// 2 gelu_tanh_and_mul, 3 swigluoai, 4 silu, 5 gelu, 6 relu2.
inline bool gated(int act) { return act <= 3; }
inline std::vector<double> activate(int act, bool interleaved, double alpha, double limit,
                                    const std::vector<double>& h, int64_t I) {
  std::vector<double> a(static_cast<size_t>(I));
  for (int64_t i = 0; i < I; ++i) {
    if (!gated(act)) {
      const double x = h[i];
      a[i] = act == 4 ? silu(x) : act == 5 ? gelu(x) : (x > 0 ? x * x : 0.0);
      continue;
    }
    double g = interleaved ? h[2 * i] : h[i];
    double u = interleaved ? h[2 * i + 1] : h[I + i];
    if (act == 0) a[i] = silu(g) * u;
    else if (act == 1) a[i] = gelu(g) * u;
    else if (act == 2) a[i] = gelu_tanh(g) * u;
    else {
      g = std::min(g, limit);
      u = std::min(std::max(u, -limit), limit);
      a[i] = g * sigmoid(alpha * g) * (u + 1.0);
    }
  }
  return a;
}

// ---------- routing ----------
struct Routing {
  int E = 0, K = 0;
  bool sigmoid_scoring = false, renormalize = false, grouped = false;
  int groups = 1, topk_group = 1;
  std::vector<double> bias;  // grouped: selection bias (empty = none)
  double scaling = 1.0;
};

// The k largest (ties -> lower index).
inline std::vector<int> topk(const std::vector<double>& v, int k) {
  std::vector<int> idx(v.size());
  for (size_t i = 0; i < v.size(); ++i) idx[i] = static_cast<int>(i);
  std::stable_sort(idx.begin(), idx.end(), [&](int a, int b) { return v[a] > v[b]; });
  idx.resize(static_cast<size_t>(k));
  return idx;
}

inline void route(const Routing& r, const std::vector<double>& logits, std::vector<int>& ids, std::vector<double>& w) {
  std::vector<double> s(static_cast<size_t>(r.E));
  if (r.sigmoid_scoring) {
    for (int e = 0; e < r.E; ++e) s[e] = sigmoid(logits[e]);
  } else {
    const double mx = *std::max_element(logits.begin(), logits.end());
    double z = 0;
    for (int e = 0; e < r.E; ++e) z += std::exp(logits[e] - mx);
    for (int e = 0; e < r.E; ++e) s[e] = std::exp(logits[e] - mx) / z;
  }
  if (!r.grouped) {
    ids = topk(s, r.K);
  } else {
    std::vector<double> b = s;
    if (!r.bias.empty())
      for (int e = 0; e < r.E; ++e) b[e] += r.bias[e];
    const int per = r.E / r.groups;
    std::vector<double> gs(static_cast<size_t>(r.groups));
    for (int g = 0; g < r.groups; ++g) {
      std::vector<double> part(b.begin() + g * per, b.begin() + (g + 1) * per);
      std::sort(part.rbegin(), part.rend());
      gs[g] = r.bias.empty() ? part[0] : (per >= 2 ? part[0] + part[1] : part[0]);
    }
    std::vector<int> keep = topk(gs, r.topk_group);
    std::vector<double> masked(static_cast<size_t>(r.E), -std::numeric_limits<double>::infinity());
    for (int g : keep)
      for (int i = 0; i < per; ++i) masked[g * per + i] = b[g * per + i];
    ids = topk(masked, r.K);
  }
  w.assign(static_cast<size_t>(r.K), 0.0);
  double sum = 0;
  for (int k = 0; k < r.K; ++k) sum += (w[k] = s[ids[k]]);
  for (int k = 0; k < r.K; ++k) w[k] = (r.renormalize ? w[k] / sum : w[k]) * r.scaling;
}

// ---------- the layer ----------
struct Layer {
  int E = 0, K = 0;
  int64_t H = 0, I = 0;
  int act = 0;
  bool interleaved = false;
  double alpha = 1.702, limit = 7.0;
  Dtype dtype = F32;        // activation dtype
  bool fp8_per_token = false;
  // Dequantized weights per LOCAL expert: w13[e] is [R*H], w2[e] is [H*I].
  std::vector<std::vector<double>> w13, w2, b13, b2;
  std::vector<int> expert_map;  // physical -> local or -1; empty = identity
  // Shared expert (empty = none): w13s [Rs*H], w2s [H*Is], gate [H] (may be empty).
  std::vector<double> w13s, w2s, gate;
  int shared_act = 0;
  int64_t Is = 0;

  int64_t R() const { return gated(act) ? 2 * I : I; }

  std::vector<double> quantize_row(const double* x) const {
    std::vector<double> q(x, x + H);
    if (!fp8_per_token) return q;
    double amax = 0;
    for (int64_t j = 0; j < H; ++j) amax = std::max(amax, std::fabs(x[j]));
    const double s = amax > 0 ? static_cast<double>(static_cast<float>(amax) / 448.0f) : 1.0;
    for (int64_t j = 0; j < H; ++j) q[j] = round_e4m3(x[j] / s) * s;
    return q;
  }

  // y = w2 @ round(act(w13 @ x + b13)) + b2 for local expert e.
  std::vector<double> expert(int e, const std::vector<double>& x) const {
    std::vector<double> h(static_cast<size_t>(R()));
    for (int64_t r = 0; r < R(); ++r) {
      double s = b13.empty() ? 0.0 : b13[e][r];
      for (int64_t j = 0; j < H; ++j) s += w13[e][r * H + j] * x[j];
      h[r] = s;
    }
    std::vector<double> a = activate(act, interleaved, alpha, limit, h, I);
    for (auto& v : a) v = round_to(v, dtype);
    std::vector<double> y(static_cast<size_t>(H));
    for (int64_t o = 0; o < H; ++o) {
      double s = b2.empty() ? 0.0 : b2[e][o];
      for (int64_t j = 0; j < I; ++j) s += w2[e][o * I + j] * a[j];
      y[o] = s;
    }
    return y;
  }

  // out [T*H] from x [T*H] (activation-dtype values), physical ids and weights [T*K].
  std::vector<double> forward_routed(const std::vector<double>& x, int64_t T, const std::vector<int>& ids,
                                     const std::vector<double>& w) const {
    std::vector<double> out(static_cast<size_t>(T * H), 0.0);
    for (int64_t t = 0; t < T; ++t) {
      std::vector<double> xq = quantize_row(&x[t * H]);
      for (int k = 0; k < K; ++k) {
        const int p = ids[t * K + k];
        const int local = expert_map.empty() ? p : expert_map[p];
        if (local < 0) continue;
        std::vector<double> y = expert(local, xq);
        for (int64_t o = 0; o < H; ++o) out[t * H + o] += w[t * K + k] * y[o];
      }
      if (!w13s.empty()) {
        const bool g = gated(shared_act);
        const int64_t Rs = g ? 2 * Is : Is;
        std::vector<double> h(static_cast<size_t>(Rs));
        for (int64_t r = 0; r < Rs; ++r) {
          double s = 0;
          for (int64_t j = 0; j < H; ++j) s += w13s[r * H + j] * x[t * H + j];
          h[r] = s;
        }
        std::vector<double> a = activate(shared_act, false, 0, 0, h, Is);
        for (auto& v : a) v = round_to(v, dtype);
        double gs = 1.0;
        if (!gate.empty()) {
          double z = 0;
          for (int64_t j = 0; j < H; ++j) z += gate[j] * x[t * H + j];
          gs = sigmoid(z);
        }
        for (int64_t o = 0; o < H; ++o) {
          double s = 0;
          for (int64_t j = 0; j < Is; ++j) s += w2s[o * Is + j] * a[j];
          out[t * H + o] += gs * s;
        }
      }
    }
    return out;
  }
};

// ||a - b|| / ||b||
inline double rel_error(const std::vector<double>& a, const std::vector<double>& b) {
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    num += (a[i] - b[i]) * (a[i] - b[i]);
    den += b[i] * b[i];
  }
  return std::sqrt(num) / std::sqrt(den > 0 ? den : 1.0);
}

}  // namespace ref64
