// moert-cpu-bench: the CPU backend's benchmark, measured in one run on one
// machine: a copy loop (memory bandwidth), the plugin's forward for the qwen3
// and mixtral layers at 1, 16 and 512 tokens, the core's reference runner
// (when built in), and oneDNN on one dense matmul with the experts' K and N
// and M = tokens * top_k / experts (the GEMM-rate peer at 512 tokens).
//
// usage: moert-cpu-bench <libmoert-cpu.so> [threads] [reps]
#include <dlfcn.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include "moert/moert_plugin.h"
#ifdef MOERT_CPU_BENCH_REFERENCE
#include "moert/builtin.h"
#endif

namespace {

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

template <class F> double median_time(int reps, F&& f) {
  std::vector<double> t;
  for (int i = 0; i < reps; ++i) { double t0 = now(); f(); t.push_back(now() - t0); }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

// Copy bandwidth, read + write bytes per second, all threads.
double copy_bandwidth(size_t bytes) {
  std::vector<char> a(bytes, 1), b(bytes, 2);
  double t = median_time(5, [&] {
#pragma omp parallel
    {
      size_t n = omp_get_num_threads(), i = omp_get_thread_num(), c = bytes / n;
      std::memcpy(b.data() + i * c, a.data() + i * c, c);
    }
  });
  return 2.0 * bytes / t;
}

uint64_t rng_state = 88172645463325252ull;
uint32_t xs() { rng_state ^= rng_state << 13; rng_state ^= rng_state >> 7; rng_state ^= rng_state << 17; return (uint32_t)rng_state; }
uint16_t rand_bf16(float amp) {  // uniform in [-amp, amp), rounded down to bf16
  float f = ((xs() >> 8) * (1.f / 16777216.f) * 2.f - 1.f) * amp;
  uint32_t u; std::memcpy(&u, &f, 4); return (uint16_t)(u >> 16);
}

struct Shape { const char* name; int E, k; int64_t H, I; };

void fail(const moert_plugin_api* api, moert_error* e, const char* what) {
  if (!e) return;
  std::fprintf(stderr, "%s: %s\n", what, api->error_message(e));
  std::exit(1);
}

struct Tensor {
  std::vector<uint8_t> b; std::vector<int64_t> s; moert_dtype dt;
  Tensor(moert_dtype d, std::vector<int64_t> sh) : s(sh), dt(d) { int64_t n = 1; for (auto v : s) n *= v; b.resize(n * d.bits / 8); }
  moert_tensor t() { return {b.data(), {MOERT_DEVICE_CPU, 0}, (int32_t)s.size(), dt, s.data(), nullptr, 0}; }
};

// Time of one forward of `ops` (median of reps).
double time_forward(const moert_plugin_api* api, const moert_runner_ops* ops, const moert_layer_desc& d,
                    Tensor& w13, Tensor& w2, Tensor& x, Tensor& logits, int reps) {
  moert_runner* r = nullptr;
  fail(api, ops->create(&d, 0, &r), "create");
  moert_expert_weights w{}; w.struct_size = sizeof w; w.w13 = w13.t(); w.w2 = w2.t();
  fail(api, ops->set_weights(r, &w), "set_weights");
  size_t ws = 0;
  fail(api, ops->workspace_size(r, d.max_num_tokens, &ws), "workspace_size");
  Tensor work({MOERT_DTYPE_UINT, 8, 1}, {(int64_t)ws});
  Tensor out(d.activation_dtype, x.s);
  moert_forward_args a{}; a.struct_size = sizeof a;
  a.hidden_states = x.t(); a.router_logits = logits.t(); a.output = out.t(); a.workspace = work.t();
  fail(api, ops->forward(r, &a), "forward");  // warm-up
  double t = median_time(reps, [&] { fail(api, ops->forward(r, &a), "forward"); });
  ops->destroy(r);
  return t;
}

// oneDNN's rate on one dense bf16 matmul [M, K] x [K, N] (weights in its preferred layout).
double dense_gflops(int64_t M, int64_t K, int64_t N) {
  using namespace dnnl;
  using dt = memory::data_type; using tag = memory::format_tag;
  engine eng(engine::kind::cpu, 0); stream s(eng);
  memory::desc src({M, K}, dt::bf16, tag::ab), wei({K, N}, dt::bf16, tag::any), dst({M, N}, dt::f32, tag::ab);
  matmul::primitive_desc pd(matmul::desc(src, wei, dst), eng);
  memory S(src, eng), W(pd.weights_desc(), eng), D(dst, eng);
  std::memset(S.get_data_handle(), 0x3f, src.get_size());
  std::memset(W.get_data_handle(), 0x3c, pd.weights_desc().get_size());
  matmul p(pd);
  p.execute(s, {{DNNL_ARG_SRC, S}, {DNNL_ARG_WEIGHTS, W}, {DNNL_ARG_DST, D}}); s.wait();
  double t = median_time(5, [&] { p.execute(s, {{DNNL_ARG_SRC, S}, {DNNL_ARG_WEIGHTS, W}, {DNNL_ARG_DST, D}}); s.wait(); });
  return 2.0 * M * K * N / t / 1e9;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) { std::fprintf(stderr, "usage: %s <libmoert-cpu.so> [threads] [reps]\n", argv[0]); return 2; }
  int threads = argc > 2 ? std::atoi(argv[2]) : omp_get_max_threads();
  int reps = argc > 3 ? std::atoi(argv[3]) : 5;
  omp_set_num_threads(threads);
  void* h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (!h) { std::fprintf(stderr, "%s\n", dlerror()); return 1; }
  auto entry = (moert_plugin_entry_fn)dlsym(h, MOERT_PLUGIN_ENTRY_SYMBOL);
  const moert_plugin_api* api = entry(MOERT_ABI_MAJOR, MOERT_ABI_MINOR, nullptr);
  api->initialize(nullptr);
  const moert_runner_ops* cpu = api->runners[0];
#ifdef MOERT_CPU_BENCH_REFERENCE
  const moert_plugin_api* ref_api = moert_builtin_plugin_entry(MOERT_ABI_MAJOR, MOERT_ABI_MINOR, nullptr);
  if (ref_api) ref_api->initialize(nullptr);
  const moert_runner_ops* ref = nullptr;
  for (int64_t i = 0; ref_api && i < ref_api->num_runners; ++i)
    if (std::string(ref_api->runners[i]->name) == "default") ref = ref_api->runners[i];
#endif
  std::string nt = std::to_string(threads);
  // MOERT_BENCH_BF16_ROWS=n passes the layer option bf16_rows (0: vdpbf16ps kernel off).
  const char* b16 = getenv("MOERT_BENCH_BF16_ROWS");
  moert_kv opts[2] = {{"num_threads", nt.c_str()}, {"bf16_rows", b16 ? b16 : "16"}};
  double bw = copy_bandwidth(size_t(1) << 30);
  std::printf("threads %d, copy bandwidth %.1f GB/s (read+write)\n", threads, bw / 1e9);
  std::printf("| layer | tokens | cpu plugin ms | reference ms | weight GB touched | GB/s | %% of copy | GEMM GFLOP/s | dense oneDNN GFLOP/s | %% of dense |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|---|\n");
  const Shape shapes[] = {{"qwen3", 128, 8, 2048, 768}, {"mixtral", 8, 2, 4096, 14336}};
  for (const Shape& sh : shapes) {
    const int64_t R = 2 * sh.I;
    Tensor w13({MOERT_DTYPE_BFLOAT, 16, 1}, {sh.E, R, sh.H}), w2({MOERT_DTYPE_BFLOAT, 16, 1}, {sh.E, sh.H, sh.I});
    for (size_t i = 0; i < w13.b.size() / 2; ++i) ((uint16_t*)w13.b.data())[i] = rand_bf16(0.03f);
    for (size_t i = 0; i < w2.b.size() / 2; ++i) ((uint16_t*)w2.b.data())[i] = rand_bf16(0.03f);
    for (int64_t T : {1, 16, 512}) {
      // MOERT_BENCH_TOKENS=16 (say) measures only that token count.
      if (getenv("MOERT_BENCH_TOKENS") && std::atoll(getenv("MOERT_BENCH_TOKENS")) != T) continue;
      moert_layer_desc d{};
      d.struct_size = sizeof d; d.num_experts = sh.E; d.top_k = sh.k; d.hidden_size = sh.H; d.intermediate_size = sh.I;
      d.activation = MOERT_ACT_SILU_AND_MUL; d.renormalize = 1; d.routed_scaling_factor = 1.f;
      d.activation_dtype = d.weight_dtype = {MOERT_DTYPE_BFLOAT, 16, 1};
      d.max_num_tokens = T; d.ep_size = 1; d.num_local_experts = sh.E;
      d.options = opts; d.num_options = 2;
      Tensor x({MOERT_DTYPE_BFLOAT, 16, 1}, {T, sh.H}), logits({MOERT_DTYPE_FLOAT, 32, 1}, {T, sh.E});
      for (size_t i = 0; i < x.b.size() / 2; ++i) ((uint16_t*)x.b.data())[i] = rand_bf16(1.f);
      float* lg = (float*)logits.b.data();
      for (int64_t i = 0; i < T * sh.E; ++i) lg[i] = (xs() >> 8) * (4.f / 16777216.f);
      // Experts touched: the routing is softmax top-k of these logits.
      std::set<int> used;
      for (int64_t t = 0; t < T; ++t) {
        std::vector<int> idx(sh.E);
        for (int e = 0; e < sh.E; ++e) idx[e] = e;
        std::partial_sort(idx.begin(), idx.begin() + sh.k, idx.end(), [&](int a, int b) {
          return lg[t * sh.E + a] > lg[t * sh.E + b] || (lg[t * sh.E + a] == lg[t * sh.E + b] && a < b); });
        used.insert(idx.begin(), idx.begin() + sh.k);
      }
      const double gb = used.size() * double(R * sh.H + sh.H * sh.I) * 2 / 1e9;
      int r = T == 512 ? std::max(2, reps / 2) : reps;
      double t_cpu = time_forward(api, cpu, d, w13, w2, x, logits, r);
      double t_ref = -1;
#ifdef MOERT_CPU_BENCH_REFERENCE
      if (ref && (T <= 16 || getenv("MOERT_BENCH_REF_ALL"))) {
        moert_layer_desc dr = d; dr.options = nullptr; dr.num_options = 0;
        t_ref = time_forward(ref_api, ref, dr, w13, w2, x, logits, 1);
      }
#endif
      double flops = 2.0 * T * sh.k * (double(R) * sh.H + double(sh.H) * sh.I);
      std::string dense = "", pct = "";
      if (T == 512) {
        int64_t M = T * sh.k / sh.E;
        // Same K and N as the two expert GEMMs, flop-weighted.
        double f1 = 2.0 * M * sh.H * R, f2 = 2.0 * M * sh.I * sh.H;
        double g = (f1 + f2) / (f1 / dense_gflops(M, sh.H, R) + f2 / dense_gflops(M, sh.I, sh.H));
        char b1[64], b2[64];
        std::snprintf(b1, sizeof b1, "%.0f (M=%lld)", g, (long long)M);
        std::snprintf(b2, sizeof b2, "%.0f%%", 100.0 * flops / t_cpu / 1e9 / g);
        dense = b1; pct = b2;
      }
      char ref_s[32] = "n/a";
      if (t_ref > 0) std::snprintf(ref_s, sizeof ref_s, "%.2f", t_ref * 1e3);
      std::printf("| %s | %lld | %.2f | %s | %.3f | %.1f | %.0f%% | %.0f | %s | %s |\n", sh.name, (long long)T,
                  t_cpu * 1e3, ref_s, gb, gb / t_cpu, 100.0 * gb * 1e9 / t_cpu / bw, flops / t_cpu / 1e9,
                  dense.c_str(), pct.c_str());
      std::fflush(stdout);
    }
  }
  return 0;
}
