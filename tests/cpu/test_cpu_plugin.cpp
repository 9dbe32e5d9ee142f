// Loads libmoert-cpu.so through the public C ABI (dlopen + entry symbol) and
// checks its runner and experts kernel against a float64 reference written
// here from the team's semantics, for every weight type and path it claims.
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "moert/moert_plugin.h"
#include "scalar_convert.h"

namespace {

const moert_dtype kF32{MOERT_DTYPE_FLOAT, 32, 1}, kBF16{MOERT_DTYPE_BFLOAT, 16, 1},
    kF16{MOERT_DTYPE_FLOAT, 16, 1}, kI32{MOERT_DTYPE_INT, 32, 1}, kFP8{MOERT_DTYPE_FLOAT8_E4M3FN, 8, 1},
    kFP4{MOERT_DTYPE_FLOAT4_E2M1FN, 4, 1}, kE8M0{MOERT_DTYPE_FLOAT8_E8M0FNU, 8, 1}, kU8{MOERT_DTYPE_UINT, 8, 1};

const moert_plugin_api* api() {
  static const moert_plugin_api* a = [] {
    void* h = dlopen(MOERT_CPU_PLUGIN_PATH, RTLD_NOW | RTLD_LOCAL);
    if (!h) return static_cast<const moert_plugin_api*>(nullptr);
    auto entry = reinterpret_cast<moert_plugin_entry_fn>(dlsym(h, MOERT_PLUGIN_ENTRY_SYMBOL));
    const moert_plugin_api* t = entry ? entry(MOERT_ABI_MAJOR, MOERT_ABI_MINOR, nullptr) : nullptr;
    char reason[256] = {0};
    if (t && (!t->probe(reason, sizeof reason) || t->initialize(nullptr))) return (const moert_plugin_api*)nullptr;
    return t;
  }();
  return a;
}

// Returns the message (and frees the error); "" on success.
std::string msg(moert_error* e, int32_t* code = nullptr) {
  if (!e) return "";
  if (code) *code = api()->error_code(e);
  std::string m = api()->error_message(e);
  api()->error_destroy(e);
  return m;
}

struct Buf {  // an owning tensor
  std::vector<uint8_t> bytes;
  std::vector<int64_t> shape;
  moert_dtype dt{};
  Buf() = default;
  Buf(moert_dtype d, std::vector<int64_t> s) : shape(std::move(s)), dt(d) {
    int64_t n = 1;
    for (auto v : shape) n *= v;
    bytes.assign((n * d.bits + 7) / 8, 0);
  }
  moert_tensor t() {
    if (bytes.empty() && shape.empty()) return moert_tensor{};
    return moert_tensor{bytes.data(), {MOERT_DEVICE_CPU, 0}, (int32_t)shape.size(), dt, shape.data(), nullptr, 0};
  }
  template <class T> T* as() { return reinterpret_cast<T*>(bytes.data()); }
};

bool is_gated(int a) { return a <= MOERT_ACT_SWIGLUOAI; }

struct Case {
  int E = 8, k = 2, H = 64, I = 96, T = 5;
  moert_dtype act = kF32;
  moert_dtype wdt{};        // unquantized weight dtype; unset = the activation dtype
  int quant = MOERT_QUANT_NONE;
  int activation = MOERT_ACT_SILU_AND_MUL, interleaved = 0, bias = 0;
  int routing = MOERT_ROUTING_TOPK, scoring = MOERT_SCORING_SOFTMAX, renorm = 1, groups = 1, topk_group = 1;
  int score_bias = 0;
  float scaling = 1.f;
  bool half_local = false;  // expert map: even experts local
  bool shared = false, shared_gate = false;
  std::string isa;          // "avx2" to force the baseline kernels
  std::string bf16_rows;    // layer option "bf16_rows" when set
  std::string bf16_gemm;    // layer option "bf16_gemm" when set
  std::string schedule;     // layer option "expert_schedule" when set
  std::string threads;      // layer option "num_threads" when set
  double tol = 1e-5;
};

struct Layer {
  Case c;
  moert_layer_desc d{};
  std::vector<int32_t> map;
  std::vector<moert_kv> opts;
  int E_local;
  int64_t R;
  Buf w13, w2, s13, s2, b13, b2, sbias, x, logits, sw13, sw2, sgate;
  std::vector<double> W13, W2, SW13, SW2, SG;  // dequantized, per (local) expert
  std::vector<double> X;

  explicit Layer(const Case& cc) : c(cc) {
    R = is_gated(c.activation) ? 2 * c.I : c.I;
    d.struct_size = sizeof d;
    d.num_experts = c.E; d.top_k = c.k; d.hidden_size = c.H; d.intermediate_size = c.I;
    d.activation = c.activation; d.gate_up_layout = c.interleaved; d.has_bias = c.bias;
    d.swiglu_alpha = 1.702f; d.swiglu_limit = 7.f;
    d.routing_method = c.routing; d.scoring = c.scoring; d.renormalize = c.renorm;
    d.num_expert_group = c.groups; d.topk_group = c.topk_group; d.has_score_correction_bias = c.score_bias;
    d.routed_scaling_factor = c.scaling;
    d.activation_dtype = c.act;
    d.quant_scheme = c.quant;
    d.weight_dtype = c.quant == MOERT_QUANT_NONE ? (c.wdt.bits ? c.wdt : c.act) : c.quant == MOERT_QUANT_MXFP4 ? kFP4 : kFP8;
    d.max_num_tokens = c.T;
    d.ep_size = 1;
    E_local = c.E;
    if (c.half_local) {
      for (int e = 0; e < c.E; ++e) map.push_back(e % 2 == 0 ? e / 2 : -1);
      E_local = c.E / 2;
      d.expert_map = map.data();
    }
    d.num_local_experts = E_local;
    if (!c.isa.empty()) opts.push_back({"isa", c.isa.c_str()});
    if (!c.bf16_rows.empty()) opts.push_back({"bf16_rows", c.bf16_rows.c_str()});
    if (!c.bf16_gemm.empty()) opts.push_back({"bf16_gemm", c.bf16_gemm.c_str()});
    if (!c.schedule.empty()) opts.push_back({"expert_schedule", c.schedule.c_str()});
    if (!c.threads.empty()) opts.push_back({"num_threads", c.threads.c_str()});
    d.options = opts.data(); d.num_options = (int64_t)opts.size();
    make_weights();
  }

  // Random values, stored in the layer's dtype; W keeps what they decode to.
  void fill(Buf& b, std::vector<double>& W, int64_t rows, int64_t cols, int E, Buf* scale, std::mt19937& g, float amp) {
    std::normal_distribution<float> nd(0.f, amp);
    std::uniform_int_distribution<int> ui(0, 255);
    W.assign((size_t)E * rows * cols, 0.0);
    int q = c.quant;
    int64_t rb = (rows + 127) / 128, cb = (cols + 127) / 128;
    if (q == MOERT_QUANT_FP8_PER_TENSOR) *scale = Buf(kF32, {E});
    if (q == MOERT_QUANT_FP8_PER_CHANNEL) *scale = Buf(kF32, {E, rows});
    if (q == MOERT_QUANT_FP8_BLOCK_128) *scale = Buf(kF32, {E, rb, cb});
    if (q == MOERT_QUANT_MXFP4) *scale = Buf(kE8M0, {E, rows, cols / 32});
    if (scale && q != MOERT_QUANT_NONE && q != MOERT_QUANT_MXFP4) {
      float* s = scale->as<float>();
      for (size_t i = 0; i < scale->bytes.size() / 4; ++i) s[i] = amp / 2.f * (0.5f + (ui(g) / 255.f));
    }
    if (q == MOERT_QUANT_MXFP4)
      for (auto& v : scale->bytes) v = (uint8_t)(127 - 4 + ui(g) % 3);
    b = Buf(d.weight_dtype, {E, rows, cols});
    for (int e = 0; e < E; ++e)
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t k = 0; k < cols; ++k) {
          size_t i = ((size_t)e * rows + r) * cols + k;
          double v;
          if (q == MOERT_QUANT_NONE) {
            float f = nd(g);
            if (d.weight_dtype.code == MOERT_DTYPE_BFLOAT) { b.as<uint16_t>()[i] = moert_cpu_f32_to_bf16(f); v = moert_cpu_bf16_to_f32(b.as<uint16_t>()[i]); }
            else { b.as<float>()[i] = f; v = f; }
          } else if (q == MOERT_QUANT_MXFP4) {
            uint8_t nib = (uint8_t)(ui(g) & 15);
            uint8_t& byte = b.as<uint8_t>()[i / 2];
            byte = (i & 1) ? (uint8_t)((byte & 0x0f) | (nib << 4)) : (uint8_t)((byte & 0xf0) | nib);
            v = moert_cpu_e2m1_to_f32(nib) * (double)moert_cpu_e8m0_to_f32(scale->as<uint8_t>()[((size_t)e * rows + r) * (cols / 32) + k / 32]);
          } else {
            uint8_t byte = moert_cpu_f32_to_e4m3(nd(g) / amp * 2.f);
            b.as<uint8_t>()[i] = byte;
            float s = q == MOERT_QUANT_FP8_PER_TENSOR ? scale->as<float>()[e]
                    : q == MOERT_QUANT_FP8_PER_CHANNEL ? scale->as<float>()[e * rows + r]
                    : scale->as<float>()[(e * rb + r / 128) * cb + k / 128];
            v = (double)moert_cpu_e4m3_to_f32(byte) * s;
          }
          W[i] = v;
        }
  }

  void make_weights() {
    std::mt19937 g(1234);
    fill(w13, W13, R, c.H, E_local, &s13, g, 1.f / std::sqrt((float)c.H));
    fill(w2, W2, c.H, c.I, E_local, &s2, g, 1.f / std::sqrt((float)c.I));
    std::normal_distribution<float> nd(0.f, 1.f);
    if (c.bias) {
      b13 = Buf(kF32, {E_local, R}); b2 = Buf(kF32, {E_local, c.H});
      for (int64_t i = 0; i < E_local * R; ++i) b13.as<float>()[i] = 0.1f * nd(g);
      for (int64_t i = 0; i < E_local * c.H; ++i) b2.as<float>()[i] = 0.1f * nd(g);
    }
    if (c.score_bias) {
      sbias = Buf(kF32, {c.E});
      for (int e = 0; e < c.E; ++e) sbias.as<float>()[e] = 0.2f * nd(g);
    }
    x = Buf(c.act, {c.T, c.H});
    X.resize((size_t)c.T * c.H);
    for (size_t i = 0; i < X.size(); ++i) X[i] = store(x, i, nd(g));
    logits = Buf(kF32, {c.T, c.E});
    for (int64_t i = 0; i < c.T * c.E; ++i) logits.as<float>()[i] = 2.f * nd(g);
    if (c.shared) {
      int64_t Rs = 2 * c.I;
      sw13 = Buf(c.act, {Rs, c.H}); sw2 = Buf(c.act, {c.H, c.I});
      SW13.resize(Rs * c.H); SW2.resize(c.H * c.I);
      for (size_t i = 0; i < SW13.size(); ++i) SW13[i] = store(sw13, i, nd(g) / std::sqrt((float)c.H));
      for (size_t i = 0; i < SW2.size(); ++i) SW2[i] = store(sw2, i, nd(g) / std::sqrt((float)c.I));
      if (c.shared_gate) {
        sgate = Buf(c.act, {c.H}); SG.resize(c.H);
        for (int i = 0; i < c.H; ++i) SG[i] = store(sgate, i, nd(g) / std::sqrt((float)c.H));
      }
    }
  }
  double store(Buf& b, size_t i, float f) {
    if (c.act.code == MOERT_DTYPE_BFLOAT) { b.as<uint16_t>()[i] = moert_cpu_f32_to_bf16(f); return moert_cpu_bf16_to_f32(b.as<uint16_t>()[i]); }
    b.as<float>()[i] = f; return f;
  }
  double round_act(double v) const {
    return c.act.code == MOERT_DTYPE_BFLOAT ? moert_cpu_bf16_to_f32(moert_cpu_f32_to_bf16((float)v)) : (float)v;
  }

  moert_expert_weights weights() {
    moert_expert_weights w{};
    w.struct_size = sizeof w;
    w.w13 = w13.t(); w.w2 = w2.t(); w.w13_scale = s13.t(); w.w2_scale = s2.t();
    w.w13_bias = b13.t(); w.w2_bias = b2.t(); w.score_correction_bias = sbias.t();
    return w;
  }

  // ---- float64 reference ----
  void route(int t, std::vector<int>& ids, std::vector<double>& w) const {
    const float* l = const_cast<Buf&>(logits).as<float>() + t * c.E;
    std::vector<double> s(c.E), sel(c.E);
    double mx = *std::max_element(l, l + c.E), sum = 0;
    for (int e = 0; e < c.E; ++e) s[e] = c.scoring == MOERT_SCORING_SIGMOID ? 1 / (1 + std::exp(-(double)l[e])) : std::exp(l[e] - mx);
    if (c.scoring == MOERT_SCORING_SOFTMAX) { for (int e = 0; e < c.E; ++e) sum += s[e]; for (auto& v : s) v /= sum; }
    std::vector<char> ok(c.E, 1);
    for (int e = 0; e < c.E; ++e) sel[e] = s[e] + (c.score_bias ? const_cast<Buf&>(sbias).as<float>()[e] : 0.f);
    if (c.routing == MOERT_ROUTING_GROUPED_TOPK) {
      int per = c.E / c.groups;
      std::vector<double> gs(c.groups);
      for (int gi = 0; gi < c.groups; ++gi) {
        std::vector<double> v(sel.begin() + gi * per, sel.begin() + (gi + 1) * per);
        std::sort(v.rbegin(), v.rend());
        gs[gi] = c.score_bias ? v[0] + (per > 1 ? v[1] : 0) : v[0];
      }
      std::vector<int> order(c.groups);
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return gs[a] > gs[b]; });
      std::fill(ok.begin(), ok.end(), 0);
      for (int i = 0; i < c.topk_group; ++i) for (int j = 0; j < per; ++j) ok[order[i] * per + j] = 1;
    }
    ids.clear(); w.clear();
    double ws = 0;
    for (int kk = 0; kk < c.k; ++kk) {
      int best = -1;
      for (int e = 0; e < c.E; ++e) if (ok[e] && (best < 0 || sel[e] > sel[best])) best = e;
      ok[best] = 0; ids.push_back(best); w.push_back(s[best]); ws += s[best];
    }
    for (auto& v : w) v = (c.renorm ? v / ws : v) * c.scaling;
  }
  static double act_fn(int a, double g, double u) {
    switch (a) {
      case MOERT_ACT_SILU_AND_MUL: return g / (1 + std::exp(-g)) * u;
      case MOERT_ACT_GELU_AND_MUL: return 0.5 * g * (1 + std::erf(g / std::sqrt(2.0))) * u;
      case MOERT_ACT_GELU_TANH_AND_MUL: return 0.5 * g * (1 + std::tanh(std::sqrt(2 / M_PI) * (g + 0.044715 * g * g * g))) * u;
      case MOERT_ACT_SWIGLUOAI: { double gc = std::min(g, 7.0), uc = std::max(std::min(u, 7.0), -7.0); return gc / (1 + std::exp(-1.702 * gc)) * (uc + 1); }
      case MOERT_ACT_SILU: return g / (1 + std::exp(-g));
      case MOERT_ACT_GELU: return 0.5 * g * (1 + std::erf(g / std::sqrt(2.0)));
      default: { double r = std::max(g, 0.0); return r * r; }
    }
  }
  // One expert on token t: W13 [R, H], W2 [H, I].
  std::vector<double> expert(const double* W13e, const double* W2e, const float* b13e, const float* b2e, int act,
                             int inter, bool interleaved, int t) const {
    int64_t Rr = is_gated(act) ? 2 * inter : inter;
    std::vector<double> h(Rr), a(inter), y(c.H);
    for (int64_t r = 0; r < Rr; ++r) {
      double s = 0; for (int k = 0; k < c.H; ++k) s += W13e[r * c.H + k] * X[t * c.H + k];
      h[r] = s + (b13e ? b13e[r] : 0.f);
    }
    for (int i = 0; i < inter; ++i) {
      double gv = is_gated(act) ? (interleaved ? h[2 * i] : h[i]) : h[i];
      double uv = is_gated(act) ? (interleaved ? h[2 * i + 1] : h[i + inter]) : 0;
      a[i] = round_act(act_fn(act, gv, uv));
    }
    for (int n = 0; n < c.H; ++n) {
      double s = 0; for (int i = 0; i < inter; ++i) s += W2e[(int64_t)n * inter + i] * a[i];
      y[n] = s + (b2e ? b2e[n] : 0.f);
    }
    return y;
  }
  std::vector<double> reference(bool with_routing, const std::vector<int>* ids_in = nullptr, const std::vector<float>* w_in = nullptr) {
    std::vector<double> out((size_t)c.T * c.H, 0.0);
    for (int t = 0; t < c.T; ++t) {
      std::vector<int> ids; std::vector<double> w;
      if (with_routing) route(t, ids, w);
      else for (int kk = 0; kk < c.k; ++kk) { ids.push_back((*ids_in)[t * c.k + kk]); w.push_back((*w_in)[t * c.k + kk]); }
      for (int kk = 0; kk < c.k; ++kk) {
        int le = c.half_local ? map[ids[kk]] : ids[kk];
        if (le < 0) continue;
        auto y = expert(&W13[(size_t)le * R * c.H], &W2[(size_t)le * c.H * c.I],
                        c.bias ? b13.as<float>() + le * R : nullptr, c.bias ? b2.as<float>() + le * c.H : nullptr,
                        c.activation, c.I, c.interleaved, t);
        for (int n = 0; n < c.H; ++n) out[t * c.H + n] += w[kk] * y[n];
      }
      if (c.shared) {
        auto y = expert(SW13.data(), SW2.data(), nullptr, nullptr, MOERT_ACT_SILU_AND_MUL, c.I, false, t);
        double gsc = 1;
        if (c.shared_gate) { double s = 0; for (int n = 0; n < c.H; ++n) s += X[t * c.H + n] * SG[n]; gsc = 1 / (1 + std::exp(-s)); }
        for (int n = 0; n < c.H; ++n) out[t * c.H + n] += gsc * y[n];
      }
    }
    return out;
  }
};

double rel_err(Buf& out, const std::vector<double>& ref, bool* all_finite) {
  double num = 0, den = 0;
  *all_finite = true;
  for (size_t i = 0; i < ref.size(); ++i) {
    double v = out.dt.code == MOERT_DTYPE_BFLOAT ? moert_cpu_bf16_to_f32(out.as<uint16_t>()[i]) : out.as<float>()[i];
    if (!std::isfinite(v)) *all_finite = false;
    num += (v - ref[i]) * (v - ref[i]);
    den += ref[i] * ref[i];
  }
  return std::sqrt(num / den);
}

void poison(Buf& b) { std::fill(b.bytes.begin(), b.bytes.end(), 0xff); }  // NaN in f32 and bf16

const moert_runner_ops* runner() { return api()->runners[0]; }

double run_runner(Layer& L, bool* finite) {
  const moert_runner_ops* ops = runner();
  moert_runner* r = nullptr;
  EXPECT_EQ(msg(ops->can_implement(&L.d)), "");
  EXPECT_EQ(msg(ops->create(&L.d, 0, &r)), "");
  if (!r) return 1e9;
  size_t ws = 0;
  EXPECT_EQ(msg(ops->workspace_size(r, L.c.T, &ws)), "");
  Buf work(kU8, {(int64_t)ws});
  moert_expert_weights w = L.weights();
  EXPECT_EQ(msg(ops->set_weights(r, &w)), "");
  Buf out(L.c.act, {L.c.T, L.c.H});
  poison(out);
  moert_shared_expert se{};
  se.struct_size = sizeof se; se.intermediate_size = L.c.I; se.activation = MOERT_ACT_SILU_AND_MUL;
  se.w13 = L.sw13.t(); se.w2 = L.sw2.t(); se.gate = L.sgate.t();
  moert_forward_args a{};
  a.struct_size = sizeof a;
  a.hidden_states = L.x.t(); a.router_logits = L.logits.t(); a.output = out.t(); a.workspace = work.t();
  a.shared_expert = L.c.shared ? &se : nullptr;
  EXPECT_EQ(msg(ops->forward(r, &a)), "");
  ops->destroy(r);
  return rel_err(out, L.reference(true), finite);
}

void expect_close(const Case& c) {
  ASSERT_NE(api(), nullptr) << "could not load " << MOERT_CPU_PLUGIN_PATH << ": " << dlerror();
  Layer L(c);
  bool finite = false;
  double err = run_runner(L, &finite);
  EXPECT_TRUE(finite) << "output not fully written (NaN poison left)";
  EXPECT_LT(err, c.tol);
}

Case bf16_case() { Case c; c.act = kBF16; c.tol = 1e-2; return c; }
// A bf16 layer on the AVX2 panel kernels (bf16_gemm: avx2).
Case avx2_case(int H, int I, int E, int k, int T) {
  Case c = bf16_case();
  c.H = H; c.I = I; c.E = E; c.k = k; c.T = T; c.bf16_gemm = "avx2";
  return c;
}
Case quant_case(int q, moert_dtype act) { Case c; c.act = act; c.quant = q; c.tol = act.code == MOERT_DTYPE_BFLOAT ? 3e-2 : 1e-4; c.H = 256; c.I = 160; return c; }

TEST(CpuRunner, F32SoftmaxTopk) { expect_close(Case{}); }
TEST(CpuRunner, Bf16SoftmaxTopk) { expect_close(bf16_case()); }
TEST(CpuRunner, OneTokenOneExpertIntraOpPath) { Case c; c.T = 1; c.k = 1; expect_close(c); }
TEST(CpuRunner, Fp8OneTokenIntraOpPath) { Case c = quant_case(MOERT_QUANT_FP8_BLOCK_128, kBF16); c.T = 1; c.k = 1; expect_close(c); }
TEST(CpuRunner, SmallBatchesPerRowGemvAndGemmBothIsas) {
  // 2..8 tokens per expert: up to gemv_rows (4) one oneDNN gemv per token,
  // above it the run-time-M gemm; odd H and R leave vector tails.
  for (std::string isa : {"", "avx2"})
    for (bool bf16 : {false, true}) {
      SCOPED_TRACE(isa + (bf16 ? " bf16" : " f32"));
      Case c = bf16 ? bf16_case() : Case{};
      c.T = 12; c.E = 4; c.H = 72; c.I = 40; c.isa = isa;
      expect_close(c);
    }
}
TEST(CpuRunner, Bf16SmallMVdpbf16psKernel) {
  // H, R multiples of 64: the AVX512_BF16 kernel (when the CPU has it) for
  // 1..16 tokens per expert, expert-parallel and intra-op (one expert), K
  // blocks with a tail (I = 72 -> 16-row blocks + 8); also forced off and AVX2.
  if (!__builtin_cpu_supports("avx512bf16")) GTEST_LOG_(INFO) << "no avx512_bf16: kernel not exercised";
  for (std::string isa : {"", "avx2"})
    for (std::string rows : {"", "0", "16"})
      for (int T : {1, 3, 13, 40}) {
        SCOPED_TRACE(isa + " bf16_rows=" + rows + " T=" + std::to_string(T));
        Case c = bf16_case();
        c.H = 128; c.I = 72; c.E = 4; c.k = T == 1 ? 1 : 2; c.T = T; c.isa = isa; c.bf16_rows = rows;
        expect_close(c);  // R = 144: w13 falls back to oneDNN, w2 (N = 128, K = 72) on the kernel
        c.I = 96; c.bias = 1;  // R = 192, H = 128: both GEMMs on the kernel
        expect_close(c);
      }
}
TEST(CpuRunner, Bf16SmallMVdpbf16psKernelIntraOp) {
  // One expert with 6 tokens: fewer active experts than threads, so the
  // kernel's columns are split over the team (intra-op path).
  for (int E : {1, 2}) {
    Case c = bf16_case();
    c.H = 128; c.I = 96; c.E = E; c.k = 1; c.T = 6; c.bias = 1;
    expect_close(c);
  }
}
TEST(CpuRunner, Bf16PanelAvx2Kernels) {
  // bf16 weights and activations on the panel16 AVX2 GEMM (the default on
  // CPUs without AVX512_BF16, forced here): odd K (unroll tails), N not a
  // multiple of 16 (last panel partial), 1..~20 rows per expert (strips of
  // 4 with remainders 1-3, several strips per panel), expert-parallel.
  struct Shape { int H, I; };
  for (Shape s : {Shape{67, 40}, Shape{128, 96}, Shape{48, 33}})
    for (int T : {1, 2, 3, 5, 9, 40}) {
      SCOPED_TRACE("H=" + std::to_string(s.H) + " I=" + std::to_string(s.I) + " T=" + std::to_string(T));
      Case c = avx2_case(s.H, s.I, 4, 2, T);
      c.bias = T % 2;
      expect_close(c);
    }
}
TEST(CpuRunner, Bf16PanelAvx2KernelsIntraOp) {
  // One active expert: its panels are split over the team. M = 1..6 take
  // one strip (5 and 6: the 10- and 12-accumulator strips), 7, 8 and 17
  // strips of 4 over chunks with remainders 3, 0 and 1.
  for (int T : {1, 3, 5, 6, 7, 8, 17}) {
    SCOPED_TRACE(T);
    expect_close(avx2_case(80, 56, 1, 1, T));
  }
}
TEST(CpuRunner, Bf16PanelAvx2KernelsSideBySide) {
  // 1-3 rows: panels side by side in one loop (4 streams at M = 1, 2 at
  // M = 2-3), the 1-3 panels left over in one stream. Panel counts 5-16
  // per matrix (per thread: whole experts, or one expert split over the
  // team), so the ranges leave 0-3 panels over; odd K (rows past the last
  // group of 8 in every stream); N not a multiple of 16 (the partial panel
  // in the last stream or among the leftovers).
  struct Shape { int H, I; };
  for (Shape s : {Shape{131, 72}, Shape{200, 100}, Shape{253, 117}, Shape{67, 40}})
    for (int E : {1, 4})
      for (int T : {1, 2, 3}) {
        SCOPED_TRACE("H=" + std::to_string(s.H) + " I=" + std::to_string(s.I) + " E=" + std::to_string(E) +
                     " T=" + std::to_string(T));
        Case c = avx2_case(s.H, s.I, E, E == 1 ? 1 : 2, T);
        c.bias = T == 2;
        expect_close(c);
      }
}
TEST(CpuRunner, Bf16PanelAvx2KernelsLongK) {
  // K > 2048: 1-3 rows take panels side by side over the whole K (257
  // groups of 8 rows and a tail); 5 and 6 rows stream in one strip
  // over the long panel; 9 rows take strips over several chunks
  // (accumulated into y, the next chunk prefetched), the last chunk partial.
  for (int T : {1, 3, 5, 6, 9}) {
    SCOPED_TRACE(T);
    expect_close(avx2_case(2100, 2056, 1, 1, T));
  }
}
TEST(CpuRunner, Bf16PanelAvx2OwnersSchedule) {
  // expert_schedule owners (auto picks it for big panel16 experts, mixtral
  // at 1-32 tokens): threads own whole experts from both ends of the list
  // and take column chunks of each other's (matrices of 3-8 panels: 1-2
  // panels per chunk, so owners and helpers share experts, GEMM2 waits for
  // the activation run by whoever finished GEMM1). 2 and 3 threads, 1-33
  // tokens, 4 and 8 experts, odd K, N not a multiple of 16, bias, expert map.
  struct Shape { int H, I; };
  for (const char* threads : {"2", "3"})
    for (Shape s : {Shape{67, 40}, Shape{128, 96}, Shape{48, 37}})
      for (int T : {1, 2, 5, 9, 16, 33}) {
        SCOPED_TRACE(std::string("threads=") + threads + " H=" + std::to_string(s.H) + " I=" + std::to_string(s.I) +
                     " T=" + std::to_string(T));
        Case c = avx2_case(s.H, s.I, T % 3 == 0 ? 4 : 8, 2, T);
        c.bias = T % 2;
        c.schedule = "owners"; c.threads = threads;
        c.half_local = T == 9;
        expect_close(c);
      }
}
TEST(CpuRunner, SiluAndMulAvx2EpilogueTails) {
  // The AVX2 silu-and-mul epilogue in f32 (no rounding, tight bound) and
  // bf16: I with 0-7 columns past the last group of 8, bias on and off.
  for (int I : {8, 13, 37, 3})
    for (int bias : {0, 1}) {
      SCOPED_TRACE("I=" + std::to_string(I) + " bias=" + std::to_string(bias));
      Case c; c.I = I; c.bias = bias; c.T = 6;
      expect_close(c);
      Case b = bf16_case(); b.I = I; b.bias = bias; b.T = 6;
      expect_close(b);
    }
}
TEST(CpuRunner, F32ManyTokensOneDnnPath) { Case c; c.T = 40; c.H = 128; expect_close(c); }
TEST(CpuRunner, ZeroTokens) {
  Case c; c.T = 0;
  Layer L(c);
  L.d.max_num_tokens = 4;
  moert_runner* r = nullptr;
  ASSERT_EQ(msg(runner()->create(&L.d, 0, &r)), "");
  moert_expert_weights w = L.weights();
  ASSERT_EQ(msg(runner()->set_weights(r, &w)), "");
  size_t ws = 0;
  ASSERT_EQ(msg(runner()->workspace_size(r, 1, &ws)), "");
  Buf work(kU8, {(int64_t)ws}), out(kF32, {0, c.H});
  moert_forward_args a{};
  a.struct_size = sizeof a;
  a.hidden_states = L.x.t(); a.router_logits = L.logits.t(); a.output = out.t(); a.workspace = work.t();
  EXPECT_EQ(msg(runner()->forward(r, &a)), "");
  runner()->destroy(r);
}
TEST(CpuRunner, Activations) {
  for (int act : {MOERT_ACT_GELU_AND_MUL, MOERT_ACT_GELU_TANH_AND_MUL, MOERT_ACT_SILU, MOERT_ACT_GELU, MOERT_ACT_RELU2}) {
    SCOPED_TRACE(act);
    Case c; c.activation = act; expect_close(c);
  }
}
TEST(CpuRunner, SwigluOaiInterleavedBias) {
  Case c; c.activation = MOERT_ACT_SWIGLUOAI; c.interleaved = 1; c.bias = 1; c.scoring = MOERT_SCORING_SOFTMAX;
  expect_close(c);
}
TEST(CpuRunner, SigmoidGroupedTopkBiasScaling) {
  Case c; c.E = 16; c.k = 4; c.routing = MOERT_ROUTING_GROUPED_TOPK; c.scoring = MOERT_SCORING_SIGMOID;
  c.groups = 4; c.topk_group = 2; c.score_bias = 1; c.scaling = 2.5f;
  expect_close(c);
}
TEST(CpuRunner, SoftmaxNoRenormalize) { Case c; c.renorm = 0; c.k = 3; expect_close(c); }
TEST(CpuRunner, ExpertMapHalfLocal) { Case c; c.half_local = true; c.T = 9; expect_close(c); }
TEST(CpuRunner, SharedExpertWithGate) { Case c; c.shared = true; c.shared_gate = true; c.T = 11; expect_close(c); }
TEST(CpuRunner, SharedExpertBf16) { Case c = bf16_case(); c.shared = true; expect_close(c); }
TEST(CpuRunner, MixedWeightDtypesSmallAndTiledPaths) {
  for (int T : {3, 40}) {
    SCOPED_TRACE(T);
    Case a; a.wdt = kBF16; a.T = T; a.E = 4; expect_close(a);                     // f32 activations, bf16 weights
    Case b = bf16_case(); b.wdt = kF32; b.T = T; b.E = 4; expect_close(b);       // bf16 activations, f32 weights
  }
}
TEST(CpuRunner, Fp8PerTensor) { expect_close(quant_case(MOERT_QUANT_FP8_PER_TENSOR, kF32)); }
TEST(CpuRunner, Fp8PerChannelBf16) { expect_close(quant_case(MOERT_QUANT_FP8_PER_CHANNEL, kBF16)); }
TEST(CpuRunner, Fp8Block128SmallAndTiledPaths) {
  for (int T : {3, 40}) {  // streaming kernel (T*k/E small) and dequantized tiles through oneDNN
    SCOPED_TRACE(T);
    Case c = quant_case(MOERT_QUANT_FP8_BLOCK_128, kF32); c.T = T; c.E = 4; c.I = 200; c.H = 160;
    expect_close(c);
  }
}
TEST(CpuRunner, Mxfp4SmallAndTiledPathsBothIsas) {
  for (std::string isa : {"", "avx2"})
    for (int T : {2, 40}) {
      SCOPED_TRACE(isa + " T=" + std::to_string(T));
      Case c = quant_case(MOERT_QUANT_MXFP4, kBF16); c.T = T; c.E = 4; c.isa = isa;
      c.activation = MOERT_ACT_SWIGLUOAI; c.interleaved = 1; c.bias = 1;
      expect_close(c);
    }
}

TEST(CpuRunner, DeclinesWithReasons) {
  ASSERT_NE(api(), nullptr);
  Case c; Layer L(c);
  moert_layer_desc d = L.d;
  d.activation_dtype = kF16; d.weight_dtype = kF16;
  int32_t code = 0;
  std::string m = msg(runner()->can_implement(&d), &code);
  EXPECT_EQ(code, MOERT_STATUS_UNIMPLEMENTED);
  EXPECT_NE(m.find("activation dtype f16"), std::string::npos) << m;
  d = L.d; d.activation_quant = MOERT_ACT_QUANT_FP8_PER_TOKEN;
  EXPECT_EQ((msg(runner()->can_implement(&d), &code), code), MOERT_STATUS_UNIMPLEMENTED);
  d = L.d; d.weight_dtype = kF16;  // f16 weights
  EXPECT_NE(msg(runner()->can_implement(&d)).find("weight dtype f16"), std::string::npos);
  d = L.d; d.max_num_tokens = 0;
  EXPECT_NE(msg(runner()->can_implement(&d)).find("max_num_tokens"), std::string::npos);
  moert_kv bad{"num_threads", "zero"};
  d = L.d; d.options = &bad; d.num_options = 1;
  EXPECT_NE(msg(runner()->can_implement(&d)).find("num_threads"), std::string::npos);
  moert_kv bad_gemm{"bf16_gemm", "fast"};
  d = L.d; d.options = &bad_gemm; d.num_options = 1;
  EXPECT_NE(msg(runner()->can_implement(&d), &code).find("bf16_gemm"), std::string::npos);
  EXPECT_EQ(code, MOERT_STATUS_INVALID_ARGUMENT);
  moert_kv bad_sched{"expert_schedule", "fast"};
  d = L.d; d.options = &bad_sched; d.num_options = 1;
  EXPECT_NE(msg(runner()->can_implement(&d), &code).find("expert_schedule"), std::string::npos);
  EXPECT_EQ(code, MOERT_STATUS_INVALID_ARGUMENT);
  moert_kv owners{"expert_schedule", "owners"};  // f32 layer: no panel16 kernels
  d = L.d; d.options = &owners; d.num_options = 1;
  EXPECT_NE(msg(runner()->can_implement(&d), &code).find("owners needs the panel16"), std::string::npos);
  EXPECT_EQ(code, MOERT_STATUS_UNIMPLEMENTED);
  moert_kv onednn{"bf16_gemm", "onednn"};
  d = L.d; d.options = &onednn; d.num_options = 1;
  d.activation_dtype = d.weight_dtype = kBF16;
  if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512bw")) {
    // oneDNN 2.6 has no bf16 matmul below AVX-512: declined, with the reason.
    m = msg(runner()->can_implement(&d), &code);
    EXPECT_EQ(code, MOERT_STATUS_UNIMPLEMENTED);
    EXPECT_NE(m.find("bf16_gemm: onednn needs AVX-512"), std::string::npos) << m;
  } else {
    EXPECT_EQ(msg(runner()->can_implement(&d)), "");
  }
}

// docs/semantics.md, routing step 1: a NaN or Inf logit is INVALID_ARGUMENT
// naming the token and the expert, and the output is left alone.
TEST(CpuRunner, NonFiniteLogitIsAnErrorNamingItsPlace) {
  ASSERT_NE(api(), nullptr);
  for (const float bad : {NAN, INFINITY, -INFINITY}) {
    Case c; Layer L(c);
    const moert_runner_ops* ops = runner();
    moert_runner* r = nullptr;
    ASSERT_EQ(msg(ops->create(&L.d, 0, &r)), "");
    size_t ws = 0;
    ASSERT_EQ(msg(ops->workspace_size(r, c.T, &ws)), "");
    Buf work(kU8, {(int64_t)ws});
    moert_expert_weights w = L.weights();
    ASSERT_EQ(msg(ops->set_weights(r, &w)), "");
    L.logits.as<float>()[2 * c.E + 3] = bad;
    Buf out(c.act, {c.T, c.H});
    moert_forward_args a{};
    a.struct_size = sizeof a;
    a.hidden_states = L.x.t(); a.router_logits = L.logits.t(); a.output = out.t(); a.workspace = work.t();
    int32_t code = 0;
    const std::string m = msg(ops->forward(r, &a), &code);
    EXPECT_EQ(code, MOERT_STATUS_INVALID_ARGUMENT) << m;
    const std::string want = std::string("router_logits[token 2, expert 3] is ") + (std::isnan(bad) ? "NaN" : "Inf");
    EXPECT_NE(m.find(want), std::string::npos) << m;
    ops->destroy(r);
  }
}

TEST(CpuRunner, BadWeightShapeNamesTheTensor) {
  Case c; Layer L(c);
  moert_runner* r = nullptr;
  ASSERT_EQ(msg(runner()->create(&L.d, 0, &r)), "");
  moert_expert_weights w = L.weights();
  L.w2.shape[1] += 1;
  int32_t code = 0;
  std::string m = msg(runner()->set_weights(r, &w), &code);
  EXPECT_EQ(code, MOERT_STATUS_INVALID_ARGUMENT);
  EXPECT_NE(m.find("weights.w2: expected shape [8, 64, 96], got [8, 65, 96]"), std::string::npos) << m;
  runner()->destroy(r);
}

TEST(CpuExperts, ApplyWithExpertMapAndThreadsOption) {
  ASSERT_NE(api(), nullptr);
  Case c = bf16_case(); c.half_local = true; c.T = 7;
  Layer L(c);
  moert_kv opt{"num_threads", "2"};
  L.d.options = &opt; L.d.num_options = 1;
  const moert_experts_ops* ops = api()->experts[0];
  EXPECT_EQ(ops->finalize_mode, MOERT_FINALIZE_IN_KERNEL);
  moert_experts* x = nullptr;
  ASSERT_EQ(msg(ops->create(&L.d, 0, &x)), "");
  moert_expert_weights w = L.weights();
  ASSERT_EQ(msg(ops->set_weights(x, &w)), "");
  size_t ws = 0;
  ASSERT_EQ(msg(ops->workspace_size(x, c.T, &ws)), "");
  Buf work(kU8, {(int64_t)ws}), out(c.act, {c.T, c.H}), ids(kI32, {c.T, c.k}), tw(kF32, {c.T, c.k}),
      emap(kI32, {c.E});
  std::vector<int> vid; std::vector<float> vw;
  for (int t = 0; t < c.T; ++t)
    for (int kk = 0; kk < c.k; ++kk) { vid.push_back((t + 3 * kk) % c.E); vw.push_back(0.3f + 0.1f * kk); }
  std::memcpy(ids.bytes.data(), vid.data(), vid.size() * 4);
  std::memcpy(tw.bytes.data(), vw.data(), vw.size() * 4);
  std::memcpy(emap.bytes.data(), L.map.data(), L.map.size() * 4);
  poison(out);
  moert_experts_args a{};
  a.struct_size = sizeof a;
  a.hidden_states = L.x.t(); a.topk_ids = ids.t(); a.topk_weights = tw.t(); a.expert_map = emap.t();
  a.output = out.t(); a.workspace = work.t();
  ASSERT_EQ(msg(ops->apply(x, &a)), "");
  bool finite = false;
  EXPECT_LT(rel_err(out, L.reference(false, &vid, &vw), &finite), 1e-2);
  EXPECT_TRUE(finite);
  ops->destroy(x);
}

}  // namespace
