// See cuda_test_support.h.
#include "cuda_test_support.h"

#include <dlfcn.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <numeric>
#include <random>
#include <stdexcept>

#ifndef MOERT_CUDA_PLUGIN_PATH
#define MOERT_CUDA_PLUGIN_PATH "libmoert-cuda.so"
#endif

namespace cudatest {

// ------------------------------------------------------------ plugin

const Plugin& plugin() {
  static Plugin p = [] {
    Plugin r;
    const char* env = std::getenv("MOERT_CUDA_PLUGIN");
    const std::string path = env && *env ? env : MOERT_CUDA_PLUGIN_PATH;
    void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!h) { r.reason = std::string("cannot load ") + path + ": " + dlerror(); return r; }
    auto entry = reinterpret_cast<moert_plugin_entry_fn>(dlsym(h, MOERT_PLUGIN_ENTRY_SYMBOL));
    if (!entry) { r.reason = path + " has no " MOERT_PLUGIN_ENTRY_SYMBOL; return r; }
    r.api = entry(MOERT_ABI_MAJOR, MOERT_ABI_MINOR, nullptr);
    if (!r.api) { r.reason = "entry returned NULL"; return r; }
    char why[512] = {0};
    if (!r.api->probe(why, sizeof why)) { r.reason = why; return r; }
    moert_error* e = r.api->initialize(nullptr);
    if (e) { r.reason = r.api->error_message(e); r.api->error_destroy(e); return r; }
    r.usable = true;
    return r;
  }();
  return p;
}

void ok(moert_error* err, const char* what) {
  if (!err) return;
  const std::string m = std::string(what) + ": " + plugin().api->error_message(err);
  plugin().api->error_destroy(err);
  throw std::runtime_error(m);
}

// ------------------------------------------------------------ dtypes

uint16_t f32_to_bf16(float v) {
  uint32_t u;
  std::memcpy(&u, &v, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return 0x7fc0;
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}
float bf16_to_f32(uint16_t b) {
  uint32_t u = static_cast<uint32_t>(b) << 16;
  float v;
  std::memcpy(&v, &u, 4);
  return v;
}
uint16_t f32_to_f16(float v) {
  // Round to nearest even through double arithmetic on the magnitude.
  uint32_t u;
  std::memcpy(&u, &v, 4);
  const uint16_t sign = (u >> 16) & 0x8000u;
  double a = std::fabs(static_cast<double>(v));
  if (std::isnan(v)) return 0x7e00;
  if (a >= 65520.0) return sign | 0x7c00;
  if (a < std::ldexp(1.0, -14)) {  // subnormal: multiples of 2^-24
    double q = std::nearbyint(a / std::ldexp(1.0, -24));
    return sign | static_cast<uint16_t>(q);
  }
  int e;
  double m = std::frexp(a, &e);  // a = m * 2^e, m in [0.5, 1)
  double q = std::nearbyint(m * 2048.0);  // 11 significant bits
  if (q >= 2048.0) { q /= 2; ++e; }
  const int exp = e - 1 + 15;
  if (exp >= 31) return sign | 0x7c00;
  return sign | static_cast<uint16_t>((exp << 10) | (static_cast<int>(q) - 1024));
}
float f16_to_f32(uint16_t h) {
  const int s = h >> 15, e = (h >> 10) & 31, m = h & 1023;
  double v;
  if (e == 0) v = std::ldexp(m, -24);
  else if (e == 31) v = m ? NAN : INFINITY;
  else v = std::ldexp(1024 + m, e - 25);
  return static_cast<float>(s ? -v : v);
}
float e4m3_to_f32(uint8_t b) {
  const int s = b >> 7, e = (b >> 3) & 15, m = b & 7;
  double v;
  if (e == 15 && m == 7) v = NAN;
  else if (e == 0) v = std::ldexp(m, -9);
  else v = std::ldexp(8 + m, e - 10);
  return static_cast<float>(s ? -v : v);
}
uint8_t f32_to_e4m3(float v) {
  const uint8_t sign = std::signbit(v) ? 0x80 : 0;
  const double a = std::min(std::fabs(static_cast<double>(v)), 448.0);
  // Nearest of the 127 non-negative finite codes, ties to the even code.
  int best = 0;
  double bd = 1e300;
  for (int c = 0; c <= 126; ++c) {
    const double d = std::fabs(e4m3_to_f32(static_cast<uint8_t>(c)) - a);
    if (d < bd || (d == bd && (c & 1) == 0)) { bd = d; best = c; }
  }
  return sign | static_cast<uint8_t>(best);
}
float e2m1_to_f32(uint8_t n) {
  static const float lut[8] = {0.f, 0.5f, 1.f, 1.5f, 2.f, 3.f, 4.f, 6.f};
  const float v = lut[n & 7];
  return (n & 8) ? -v : v;
}

// ------------------------------------------------------------ random layers

namespace {
bool gated(int act) { return act <= MOERT_ACT_SWIGLUOAI; }
int physical(const Case& c) { return c.E + c.redundant; }
int local_count(const Case& c) { return c.num_local >= 0 ? c.num_local : physical(c); }
uint16_t enc(const Case& c, float v) { return c.bf16 ? f32_to_bf16(v) : f32_to_f16(v); }
double dec(const Case& c, uint16_t v) { return c.bf16 ? bf16_to_f32(v) : f16_to_f32(v); }
double round_act(const Case& c, double v) { return dec(c, enc(c, static_cast<float>(v))); }
}  // namespace

moert_dtype weight_dtype(const Case& c) {
  switch (c.quant) {
    case MOERT_QUANT_NONE: return c.bf16 ? moert_dtype{MOERT_DTYPE_BFLOAT, 16, 1} : moert_dtype{MOERT_DTYPE_FLOAT, 16, 1};
    case MOERT_QUANT_MXFP4: return {MOERT_DTYPE_FLOAT4_E2M1FN, 4, 1};
    default: return {MOERT_DTYPE_FLOAT8_E4M3FN, 8, 1};
  }
}

moert_layer_desc make_desc(const Case& c) {
  moert_layer_desc d;
  std::memset(&d, 0, sizeof d);
  d.struct_size = sizeof d;
  d.num_experts = c.E;
  d.top_k = c.K;
  d.hidden_size = c.H;
  d.intermediate_size = c.I;
  d.activation = c.act;
  d.gate_up_layout = c.layout;
  d.has_bias = c.bias;
  d.swiglu_alpha = c.alpha;
  d.swiglu_limit = c.limit;
  d.routing_method = c.routing;
  d.scoring = c.scoring;
  d.renormalize = c.renorm;
  d.num_expert_group = c.groups;
  d.topk_group = c.topk_group;
  d.has_score_correction_bias = c.corr_bias;
  d.routed_scaling_factor = c.scaling;
  d.activation_dtype = c.bf16 ? moert_dtype{MOERT_DTYPE_BFLOAT, 16, 1} : moert_dtype{MOERT_DTYPE_FLOAT, 16, 1};
  d.weight_dtype = weight_dtype(c);
  d.quant_scheme = c.quant;
  d.activation_quant = c.act_quant;
  d.max_num_tokens = c.max_tokens;
  d.ep_rank = 0;
  d.ep_size = 1;
  d.num_local_experts = local_count(c);
  d.expert_map = c.expert_map.empty() ? nullptr : c.expert_map.data();
  d.num_redundant_experts = c.redundant;
  d.options = c.options.empty() ? nullptr : c.options.data();
  d.num_options = static_cast<int64_t>(c.options.size());
  return d;
}

// One [E, rows, K] matrix in the case's weight format, values ~ U(-1,1)*amp.
static void make_matrix(const Case& c, std::mt19937_64& g, int64_t E, int64_t rows, int64_t K, float amp,
                        std::vector<uint8_t>& w, std::vector<uint8_t>& scale, std::vector<int64_t>& shp) {
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  const int64_t n = E * rows * K;
  shp = {E, rows, K};
  switch (c.quant) {
    case MOERT_QUANT_NONE: {
      w.resize(n * 2);
      auto* p = reinterpret_cast<uint16_t*>(w.data());
      for (int64_t i = 0; i < n; ++i) p[i] = enc(c, u(g) * amp);
      break;
    }
    case MOERT_QUANT_MXFP4: {
      w.resize(n / 2);
      for (auto& b : w) b = static_cast<uint8_t>(g() & 0xff);
      scale.resize(E * rows * (K / 32));
      const int base = 127 + static_cast<int>(std::lround(std::log2(amp / 3.0)));
      for (auto& s : scale) s = static_cast<uint8_t>(base + static_cast<int>(g() % 3) - 1);
      break;
    }
    default: {
      w.resize(n);
      for (auto& b : w) b = f32_to_e4m3(u(g) * 400.f);
      std::vector<float> s;
      if (c.quant == MOERT_QUANT_FP8_PER_TENSOR) s.resize(E);
      else if (c.quant == MOERT_QUANT_FP8_PER_CHANNEL) s.resize(E * rows);
      else s.resize(E * ((rows + 127) / 128) * ((K + 127) / 128));
      for (auto& v : s) v = amp / 400.f * (0.5f + 0.5f * (u(g) + 1.f));
      scale.resize(s.size() * 4);
      std::memcpy(scale.data(), s.data(), scale.size());
    }
  }
}

HostWeights make_weights(const Case& c, uint64_t seed) {
  std::mt19937_64 g(seed);
  HostWeights w;
  const int64_t El = local_count(c), R = gated(c.act) ? 2 * c.I : c.I;
  make_matrix(c, g, El, R, c.H, 2.f / std::sqrt((float)c.H), w.w13, w.w13_scale, w.shp13);
  make_matrix(c, g, El, c.H, c.I, 2.f / std::sqrt((float)c.I), w.w2, w.w2_scale, w.shp2);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  if (c.bias) {
    w.b13.resize(El * R);
    w.b2.resize(El * c.H);
    for (auto& v : w.b13) v = 0.2f * u(g);
    for (auto& v : w.b2) v = 0.2f * u(g);
  }
  if (c.corr_bias) {
    w.corr.resize(c.E);
    for (auto& v : w.corr) v = 0.1f * u(g);
  }
  if (c.shared) {
    const int64_t Rs = gated(c.shared_act) ? 2 * c.shared_I : c.shared_I;
    w.sw13.resize(Rs * c.H);
    w.sw2.resize(c.H * c.shared_I);
    for (auto& v : w.sw13) v = enc(c, u(g) * 2.f / std::sqrt((float)c.H));
    for (auto& v : w.sw2) v = enc(c, u(g) * 2.f / std::sqrt((float)c.shared_I));
    w.shps13 = {Rs, c.H};
    w.shps2 = {c.H, c.shared_I};
    if (c.shared_gate) {
      w.sgate.resize(c.H);
      for (auto& v : w.sgate) v = enc(c, u(g) / std::sqrt((float)c.H));
    }
  }
  return w;
}

std::vector<uint16_t> random_act(const Case& c, int64_t n, uint64_t seed, float amp) {
  std::mt19937_64 g(seed);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  std::vector<uint16_t> v(n);
  for (auto& x : v) x = enc(c, u(g) * amp);
  return v;
}
std::vector<float> random_logits(int64_t n, uint64_t seed) {
  std::mt19937_64 g(seed);
  std::normal_distribution<float> d(0.f, 1.f);
  std::vector<float> v(n);
  for (auto& x : v) x = d(g);
  return v;
}

// ------------------------------------------------------------ reference

namespace {

// Dequantized weight element (expert e, row r, column k) of a [E, rows, K] matrix.
double wval(const Case& c, const std::vector<uint8_t>& w, const std::vector<uint8_t>& sc, int64_t rows, int64_t K,
            int64_t e, int64_t r, int64_t k) {
  const int64_t i = (e * rows + r) * K + k;
  switch (c.quant) {
    case MOERT_QUANT_NONE: return dec(c, reinterpret_cast<const uint16_t*>(w.data())[i]);
    case MOERT_QUANT_MXFP4: {
      const uint8_t byte = w[i / 2];
      const double v = e2m1_to_f32((i & 1) ? (byte >> 4) : (byte & 15));
      return v * std::ldexp(1.0, static_cast<int>(sc[(e * rows + r) * (K / 32) + k / 32]) - 127);
    }
    default: {
      const float* s = reinterpret_cast<const float*>(sc.data());
      double scale;
      if (c.quant == MOERT_QUANT_FP8_PER_TENSOR) scale = s[e];
      else if (c.quant == MOERT_QUANT_FP8_PER_CHANNEL) scale = s[e * rows + r];
      else scale = s[(e * ((rows + 127) / 128) + r / 128) * ((K + 127) / 128) + k / 128];
      return e4m3_to_f32(w[i]) * scale;
    }
  }
}

double act_gated(const Case& c, int act, double g, double u) {
  switch (act) {
    case MOERT_ACT_SILU_AND_MUL: return g / (1 + std::exp(-g)) * u;
    case MOERT_ACT_GELU_AND_MUL: return 0.5 * g * (1 + std::erf(g / std::sqrt(2.0))) * u;
    case MOERT_ACT_GELU_TANH_AND_MUL:
      return 0.5 * g * (1 + std::tanh(std::sqrt(2.0 / M_PI) * (g + 0.044715 * g * g * g))) * u;
    default: {
      g = std::min(g, (double)c.limit);
      u = std::min(std::max(u, -(double)c.limit), (double)c.limit);
      return g / (1 + std::exp(-c.alpha * g)) * (u + 1);
    }
  }
}
double act_single(int act, double x) {
  switch (act) {
    case MOERT_ACT_SILU: return x / (1 + std::exp(-x));
    case MOERT_ACT_GELU: return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0)));
    default: { double r = std::max(x, 0.0); return r * r; }
  }
}

// Per-token fp8 quantization, dequantized back (q * s).
void fp8_token_quant(std::vector<double>& v) {
  double amax = 0;
  for (double x : v) amax = std::max(amax, std::fabs(x));
  const float s = amax > 0 ? static_cast<float>(amax) / 448.f : 1.f;
  for (double& x : v) x = static_cast<double>(e4m3_to_f32(f32_to_e4m3(static_cast<float>(x) / s))) * s;
}

// One expert-like MLP on input xin; weights given by accessors.
template <class W13, class W2>
std::vector<double> mlp(const Case& c, int act, int layout, int64_t I, const std::vector<double>& xin, W13 w13,
                        W2 w2, const float* b13, const float* b2, bool round_h) {
  const bool gt = gated(act);
  const int64_t R = gt ? 2 * I : I;
  std::vector<double> h(R);
  for (int64_t r = 0; r < R; ++r) {
    double s = 0;
    for (int64_t k = 0; k < c.H; ++k) s += w13(r, k) * xin[k];
    if (b13) s += b13[r];
    h[r] = round_h ? round_act(c, s) : s;
  }
  std::vector<double> a(I);
  for (int64_t i = 0; i < I; ++i) {
    double v;
    if (gt) {
      const bool il = layout == MOERT_GATE_UP_INTERLEAVED;
      const double gg = il ? h[2 * i] : h[i], uu = il ? h[2 * i + 1] : h[I + i];
      v = act_gated(c, act, gg, uu);
    } else {
      v = act_single(act, h[i]);
    }
    a[i] = round_act(c, v);
  }
  std::vector<double> y(c.H);
  for (int64_t n = 0; n < c.H; ++n) {
    double s = 0;
    for (int64_t i = 0; i < I; ++i) s += w2(n, i) * a[i];
    if (b2) s += b2[n];
    y[n] = s;
  }
  return y;
}

}  // namespace

std::vector<double> reference(const Case& c, const HostWeights& w, const std::vector<uint16_t>& x,
                              const std::vector<float>& logits, int64_t T, const EplbHost* eplb,
                              std::vector<int64_t>* load, const std::vector<int32_t>* custom_ids,
                              const std::vector<float>* custom_w) {
  const int64_t H = c.H, R = gated(c.act) ? 2 * c.I : c.I;
  std::vector<double> out(T * H, 0.0);
  if (load) load->assign(physical(c), 0);
  const bool aq = c.act_quant == MOERT_ACT_QUANT_FP8_PER_TOKEN;
  for (int64_t t = 0; t < T; ++t) {
    std::vector<double> xt(H);
    for (int64_t k = 0; k < H; ++k) xt[k] = dec(c, x[t * H + k]);
    std::vector<double> xin = xt;
    if (aq) fp8_token_quant(xin);
    // ---- routing
    std::vector<int> ids(c.K);
    std::vector<double> wts(c.K);
    if (custom_ids) {
      for (int k = 0; k < c.K; ++k) {
        ids[k] = (*custom_ids)[t * c.K + k];
        wts[k] = (*custom_w)[t * c.K + k] * c.scaling;  // only the routed scaling applies
      }
    } else {
      std::vector<double> s(c.E), sel(c.E);
      const float* lg = &logits[t * c.E];
      if (c.scoring == MOERT_SCORING_SOFTMAX) {
        double mx = -1e300, sum = 0;
        for (int e = 0; e < c.E; ++e) mx = std::max(mx, (double)lg[e]);
        for (int e = 0; e < c.E; ++e) sum += (s[e] = std::exp(lg[e] - mx));
        for (int e = 0; e < c.E; ++e) s[e] /= sum;
      } else {
        for (int e = 0; e < c.E; ++e) s[e] = 1 / (1 + std::exp(-(double)lg[e]));
      }
      for (int e = 0; e < c.E; ++e) sel[e] = s[e] + (c.corr_bias ? w.corr[e] : 0.0);
      if (c.routing == MOERT_ROUTING_GROUPED_TOPK) {
        const int per = c.E / c.groups;
        std::vector<double> gs(c.groups);
        for (int gi = 0; gi < c.groups; ++gi) {
          std::vector<double> v(sel.begin() + gi * per, sel.begin() + (gi + 1) * per);
          std::sort(v.rbegin(), v.rend());
          gs[gi] = c.corr_bias ? v[0] + v[1] : v[0];
        }
        std::vector<int> order(c.groups);
        std::iota(order.begin(), order.end(), 0);
        std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return gs[a] > gs[b]; });
        std::vector<bool> keep(c.groups, false);
        for (int i = 0; i < c.topk_group; ++i) keep[order[i]] = true;
        for (int e = 0; e < c.E; ++e)
          if (!keep[e / per]) sel[e] = -1e300;
      }
      std::vector<int> order(c.E);
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return sel[a] > sel[b]; });
      double sum = 0;
      for (int k = 0; k < c.K; ++k) { ids[k] = order[k]; wts[k] = s[order[k]]; sum += wts[k]; }
      for (int k = 0; k < c.K; ++k) {
        if (c.renorm) wts[k] /= sum;
        wts[k] *= c.scaling;
      }
    }
    // ---- experts
    for (int k = 0; k < c.K; ++k) {
      const int64_t slot = t * c.K + k;
      int phys = ids[k];
      if (eplb) phys = eplb->l2p[ids[k] * eplb->R + slot % eplb->count[ids[k]]];
      if (load) (*load)[phys]++;
      const int local = c.expert_map.empty() ? phys : c.expert_map[phys];
      if (local < 0) continue;
      auto w13 = [&](int64_t r, int64_t kk) { return wval(c, w.w13, w.w13_scale, R, H, local, r, kk); };
      auto w2 = [&](int64_t n, int64_t i) { return wval(c, w.w2, w.w2_scale, H, c.I, local, n, i); };
      const std::vector<double> y =
          mlp(c, c.act, c.layout, c.I, xin, w13, w2, c.bias ? &w.b13[local * R] : nullptr,
              c.bias ? &w.b2[local * H] : nullptr, false);
      for (int64_t n = 0; n < H; ++n) out[t * H + n] += wts[k] * y[n];
    }
    if (c.shared) {
      auto w13 = [&](int64_t r, int64_t kk) { return dec(c, w.sw13[r * H + kk]); };
      auto w2 = [&](int64_t n, int64_t i) { return dec(c, w.sw2[n * c.shared_I + i]); };
      const std::vector<double> y =
          mlp(c, c.shared_act, MOERT_GATE_UP_CONCAT, c.shared_I, xt, w13, w2, nullptr, nullptr, false);
      double gate = 1;
      if (c.shared_gate) {
        double d = 0;
        for (int64_t k = 0; k < H; ++k) d += xt[k] * dec(c, w.sgate[k]);
        gate = 1 / (1 + std::exp(-d));
      }
      for (int64_t n = 0; n < H; ++n) out[t * H + n] += gate * y[n];
    }
  }
  return out;
}

double rel_err(const std::vector<double>& ref, const std::vector<float>& got) {
  double num = 0, den = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    if (!std::isfinite(got[i])) return INFINITY;
    num += (got[i] - ref[i]) * (got[i] - ref[i]);
    den += ref[i] * ref[i];
  }
  return den > 0 ? std::sqrt(num / den) : std::sqrt(num);
}

}  // namespace cudatest
