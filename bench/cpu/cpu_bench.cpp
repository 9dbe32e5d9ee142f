// moert-cpu-bench: the CPU backend's benchmark, measured in one run on one
// machine: a copy loop (memory bandwidth), the plugin's forward for the qwen3
// and mixtral layers at 1, 16 and 512 tokens, the core's reference runner
// (when built in; one forward, not at 512 tokens), and oneDNN on one dense
// matmul with the experts' K and N and M = tokens * top_k / experts (the
// GEMM-rate peer at 512 tokens), in bf16 where oneDNN has a bf16 matmul and
// always in f32.
//
// The machine is shared and noisy, so every point runs `reps` rounds of
// (one copy-loop pass, one forward, the peers) side by side and reports
// medians: a slow moment slows the numerator and the denominator alike.
//
// usage: moert-cpu-bench <libmoert-cpu.so> [threads] [reps]   (reps: rounds
// at 1 and 16 tokens, default 15; a third of them, at least 3, at 512)
#include <dlfcn.h>
#include <omp.h>
#include <sys/mman.h>

#include <algorithm>
#include <memory>
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

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// The copy loop: 1 GiB memcpy split over all threads; bandwidth = read +
// write bytes / time. Its buffers are allocated and touched once, and each
// call times one pass, so a pass can sit right next to each forward. They
// are advised for huge pages like the plugin's weights, so that the
// denominator gets every advantage the numerator has.
struct CopyLoop {
  size_t bytes = size_t(1) << 30;
  char *a = nullptr, *b = nullptr;
  CopyLoop() {
    for (char** p : {&a, &b}) {
      void* m = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (m == MAP_FAILED) { std::perror("mmap"); std::exit(1); }
      madvise(m, bytes, MADV_HUGEPAGE);
      *p = static_cast<char*>(m);
    }
    std::memset(a, 1, bytes);
    std::memset(b, 2, bytes);
  }
  ~CopyLoop() { munmap(a, bytes); munmap(b, bytes); }
  // Context for the copy figure, not a bar: a read-only pass (sum of the
  // 1 GiB source, all threads), bytes read / time. The plugin's decode
  // forward only reads weights, so this is its practical ceiling.
  double read_pass() {
    double t0 = now();
    uint64_t s = 0;
#pragma omp parallel reduction(+ : s)
    {
      size_t n = omp_get_num_threads(), i = omp_get_thread_num(), c = bytes / n / 8;
      const uint64_t* p = reinterpret_cast<const uint64_t*>(a) + i * c;
      uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (size_t j = 0; j + 4 <= c; j += 4) { s0 += p[j]; s1 += p[j + 1]; s2 += p[j + 2]; s3 += p[j + 3]; }
      s += s0 + s1 + s2 + s3;
    }
    const double t = now() - t0;
    if (s == 42) std::printf(" ");  // keeps the sum alive
    return bytes / t;
  }
  double pass() {  // bytes/s
    double t0 = now();
#pragma omp parallel
    {
      size_t n = omp_get_num_threads(), i = omp_get_thread_num(), c = bytes / n;
      std::memcpy(b + i * c, a + i * c, c);
    }
    return 2.0 * bytes / (now() - t0);
  }
};

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

// One runner with its weights and buffers, ready to run forwards.
struct Layer {
  const moert_plugin_api* api; const moert_runner_ops* ops; moert_runner* r = nullptr;
  Tensor work{{MOERT_DTYPE_UINT, 8, 1}, {0}}, out;
  moert_forward_args a{};
  Layer(const moert_plugin_api* ap, const moert_runner_ops* o, const moert_layer_desc& d, Tensor& w13, Tensor& w2,
        Tensor& x, Tensor& logits) : api(ap), ops(o), out(d.activation_dtype, x.s) {
    fail(api, ops->create(&d, 0, &r), "create");
    moert_expert_weights w{}; w.struct_size = sizeof w; w.w13 = w13.t(); w.w2 = w2.t();
    fail(api, ops->set_weights(r, &w), "set_weights");
    size_t ws = 0;
    fail(api, ops->workspace_size(r, d.max_num_tokens, &ws), "workspace_size");
    work = Tensor({MOERT_DTYPE_UINT, 8, 1}, {(int64_t)ws});
    a.struct_size = sizeof a;
    a.hidden_states = x.t(); a.router_logits = logits.t(); a.output = out.t(); a.workspace = work.t();
    forward();  // warm-up
  }
  ~Layer() { ops->destroy(r); }
  double forward() { double t0 = now(); fail(api, ops->forward(r, &a), "forward"); return now() - t0; }
};

// oneDNN on one dense matmul [M, K] x [K, N] (weights in its preferred
// layout, dst f32, all threads). `dt` is bf16 or f32. Throws dnnl::error
// when oneDNN has no such matmul on this CPU (bf16 below AVX-512).
struct DenseMatmul {
  dnnl::engine eng{dnnl::engine::kind::cpu, 0};
  dnnl::stream s{eng};
  dnnl::matmul p;
  dnnl::memory S, W, D;
  double flops;
  std::string impl;
  DenseMatmul(int64_t M, int64_t K, int64_t N, dnnl::memory::data_type dt) : flops(2.0 * M * K * N) {
    using namespace dnnl;
    using tag = memory::format_tag;
    memory::desc src({M, K}, dt, tag::ab), wei({K, N}, dt, tag::any), dst({M, N}, memory::data_type::f32, tag::ab);
    matmul::primitive_desc pd(matmul::desc(src, wei, dst), eng);
    impl = pd.impl_info_str();
    S = memory(src, eng); W = memory(pd.weights_desc(), eng); D = memory(dst, eng);
    // Small finite values in either dtype (0x3c3c... as bf16 is ~0.0115; as f32 ~0.0115 too).
    std::memset(S.get_data_handle(), 0x3c, src.get_size());
    std::memset(W.get_data_handle(), 0x3c, pd.weights_desc().get_size());
    p = matmul(pd);
    run();  // warm-up
  }
  double run() {
    double t0 = now();
    p.execute(s, {{DNNL_ARG_SRC, S}, {DNNL_ARG_WEIGHTS, W}, {DNNL_ARG_DST, D}});
    s.wait();
    return now() - t0;
  }
};

double loadavg() {
  double l = -1;
  if (FILE* f = std::fopen("/proc/loadavg", "r")) { if (std::fscanf(f, "%lf", &l) != 1) l = -1; std::fclose(f); }
  return l;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) { std::fprintf(stderr, "usage: %s <libmoert-cpu.so> [threads] [reps]\n", argv[0]); return 2; }
  int threads = argc > 2 ? std::atoi(argv[2]) : omp_get_max_threads();
  int reps = argc > 3 ? std::atoi(argv[3]) : 15;
  if (threads < 1 || reps < 1) { std::fprintf(stderr, "threads and reps must be >= 1\n"); return 2; }
  omp_set_num_threads(threads);
  void* h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (!h) { std::fprintf(stderr, "%s\n", dlerror()); return 1; }
  auto entry = (moert_plugin_entry_fn)dlsym(h, MOERT_PLUGIN_ENTRY_SYMBOL);
  if (!entry) { std::fprintf(stderr, "%s: no %s\n", argv[1], MOERT_PLUGIN_ENTRY_SYMBOL); return 1; }
  const moert_plugin_api* api = entry(MOERT_ABI_MAJOR, MOERT_ABI_MINOR, nullptr);
  if (!api) { std::fprintf(stderr, "%s: entry returned NULL\n", argv[1]); return 1; }
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
  // MOERT_BENCH_BF16_ROWS=n passes the layer option bf16_rows (0: vdpbf16ps kernel off);
  // MOERT_BENCH_BF16_GEMM=auto|onednn|avx2 passes bf16_gemm.
  const char* b16 = getenv("MOERT_BENCH_BF16_ROWS");
  const char* gemm = getenv("MOERT_BENCH_BF16_GEMM");
  // MOERT_BENCH_SCHEDULE=auto|experts|columns|owners passes expert_schedule
  // (only when set, so that the bench still runs plugins without that option).
  const char* sched = getenv("MOERT_BENCH_SCHEDULE");
  moert_kv opts[4] = {{"num_threads", nt.c_str()}, {"bf16_rows", b16 ? b16 : "16"}, {"bf16_gemm", gemm ? gemm : "auto"},
                      {"expert_schedule", sched ? sched : "auto"}};
  const int num_opts = sched ? 4 : 3;
  CopyLoop copy;
  copy.pass();  // warm-up (page faults are behind us)
  std::printf("threads %d, reps %d, load average at start %.2f\n", threads, reps, loadavg());
  std::printf("copy loop: 1 GiB memcpy over all threads (huge pages advised), (read + write bytes) / time, one "
              "pass before and after each forward; %% of copy: median over the rounds of forward GB/s / mean of its "
              "two copy passes (in brackets: median GB/s / median copy GB/s); read loop: a read-only pass over the same "
              "1 GiB next to each forward (context, not a bar)\n");
  std::printf("| layer | tokens | cpu plugin ms | reference ms | weight GB touched | GB/s | copy GB/s (min-max) | %% of copy "
              "| read loop GB/s, %% of it | GEMM GFLOP/s | dense oneDNN bf16 GFLOP/s | dense oneDNN f32 GFLOP/s | %% of dense |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  const Shape shapes[] = {{"qwen3", 128, 8, 2048, 768}, {"mixtral", 8, 2, 4096, 14336}};
  std::string notes;
  for (const Shape& sh : shapes) {
    const int64_t R = 2 * sh.I;
    Tensor w13({MOERT_DTYPE_BFLOAT, 16, 1}, {sh.E, R, sh.H}), w2({MOERT_DTYPE_BFLOAT, 16, 1}, {sh.E, sh.H, sh.I});
    for (size_t i = 0; i < w13.b.size() / 2; ++i) ((uint16_t*)w13.b.data())[i] = rand_bf16(0.03f);
    for (size_t i = 0; i < w2.b.size() / 2; ++i) ((uint16_t*)w2.b.data())[i] = rand_bf16(0.03f);
    for (int64_t T : {1, 16, 512}) {
      // MOERT_BENCH_TOKENS=16 (say) measures only that token count.
      // The skipped counts still draw their inputs, so the routing of the
      // measured one is the same as in a full run.
      if (getenv("MOERT_BENCH_TOKENS") && std::atoll(getenv("MOERT_BENCH_TOKENS")) != T) {
        for (int64_t i = 0; i < T * (sh.H + sh.E); ++i) xs();
        continue;
      }
      moert_layer_desc d{};
      d.struct_size = sizeof d; d.num_experts = sh.E; d.top_k = sh.k; d.hidden_size = sh.H; d.intermediate_size = sh.I;
      d.activation = MOERT_ACT_SILU_AND_MUL; d.renormalize = 1; d.routed_scaling_factor = 1.f;
      d.activation_dtype = d.weight_dtype = {MOERT_DTYPE_BFLOAT, 16, 1};
      d.max_num_tokens = T; d.ep_size = 1; d.num_local_experts = sh.E;
      d.options = opts; d.num_options = num_opts;
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
      std::vector<int> per_expert(sh.E, 0);  // tokens per expert (the M of its GEMMs)
      for (int64_t t = 0; t < T; ++t) {
        std::vector<int> idx(sh.E);
        for (int e = 0; e < sh.E; ++e) idx[e] = e;
        std::partial_sort(idx.begin(), idx.begin() + sh.k, idx.end(), [&](int a, int b) {
          return lg[t * sh.E + a] > lg[t * sh.E + b] || (lg[t * sh.E + a] == lg[t * sh.E + b] && a < b); });
        for (int j = 0; j < sh.k; ++j) ++per_expert[idx[j]];
      }
      {
        std::vector<int> m;
        for (int c : per_expert) if (c) m.push_back(c);
        std::sort(m.begin(), m.end());
        char b[160];
        std::snprintf(b, sizeof b, "- %s %lld: %zu experts active, tokens per expert min %d / median %d / max %d\n",
                      sh.name, (long long)T, m.size(), m.front(), m[m.size() / 2], m.back());
        notes += b;
      }
      const double flops = 2.0 * T * sh.k * (double(R) * sh.H + double(sh.H) * sh.I);
      const int rounds = T == 512 ? std::max(3, reps / 3) : reps;
      std::vector<double> t_fwd, bw, rd;
      // Dense peers at 512 tokens: the experts' two GEMMs (same K and N) at
      // M = tokens * top_k / experts, flop-weighted; bf16 when oneDNN has it.
      const int64_t Mp = T * sh.k / sh.E;
      std::unique_ptr<DenseMatmul> p16[2], p32[2];
      std::vector<double> t16[2], t32[2];
      if (T == 512) {
        const int64_t K[2] = {sh.H, sh.I}, N[2] = {R, sh.H};
        for (int g = 0; g < 2; ++g) {
          try {
            p16[g].reset(new DenseMatmul(Mp, K[g], N[g], dnnl::memory::data_type::bf16));
          } catch (const dnnl::error& e) {
            if (g == 0) notes += std::string("- ") + sh.name + " 512: oneDNN bf16 matmul unavailable on this CPU (" + e.what() + ")\n";
          }
          p32[g].reset(new DenseMatmul(Mp, K[g], N[g], dnnl::memory::data_type::f32));
          if (g == 0) notes += std::string("- ") + sh.name + " 512: oneDNN f32 peer impl " + p32[g]->impl + "\n";
        }
      }
      {
        Layer L(api, cpu, d, w13, w2, x, logits);
        for (int r = 0; r < rounds; ++r) {  // copy pass, forward, peers: side by side
          bw.push_back(copy.pass());
          if (T < 512) rd.push_back(copy.read_pass());
          t_fwd.push_back(L.forward());
          for (int g = 0; g < 2; ++g) {
            if (p16[g]) t16[g].push_back(p16[g]->run());
            if (p32[g]) t32[g].push_back(p32[g]->run());
          }
        }
        bw.push_back(copy.pass());
      }
      const double t_cpu = median(t_fwd), bwm = median(bw);
      double t_ref = -1;
#ifdef MOERT_CPU_BENCH_REFERENCE
      if (ref && (T <= 16 || getenv("MOERT_BENCH_REF_ALL"))) {
        moert_layer_desc dr = d; dr.options = nullptr; dr.num_options = 0;
        Layer R(ref_api, ref, dr, w13, w2, x, logits);  // its constructor's warm-up forward is not timed
        t_ref = R.forward();
      }
#endif
      auto rate = [&](std::unique_ptr<DenseMatmul>* p, std::vector<double>* t) {
        if (!p[0] || !p[1]) return -1.0;  // flop-weighted over both GEMMs
        return (p[0]->flops + p[1]->flops) / (median(t[0]) + median(t[1])) / 1e9;
      };
      const double g16 = T == 512 ? rate(p16, t16) : -1, g32 = T == 512 ? rate(p32, t32) : -1;
      const double gemm = flops / t_cpu / 1e9;
      char ref_s[32] = "n/a", d16[48] = "", d32[48] = "", pct[48] = "", cpct[32] = "", rpct[32] = "";
      if (t_ref > 0) std::snprintf(ref_s, sizeof ref_s, "%.1f", t_ref * 1e3);
      if (T == 512) {
        if (g16 > 0) std::snprintf(d16, sizeof d16, "%.0f (M=%lld)", g16, (long long)Mp);
        else std::snprintf(d16, sizeof d16, "n/a (no bf16 matmul)");
        std::snprintf(d32, sizeof d32, "%.0f (M=%lld)", g32, (long long)Mp);
        // The bar: against oneDNN's bf16 matmul when it exists, else its f32 one.
        if (g16 > 0) std::snprintf(pct, sizeof pct, "%.0f%% of bf16 (%.0f%% of f32)", 100 * gemm / g16, 100 * gemm / g32);
        else std::snprintf(pct, sizeof pct, "%.0f%% of f32", 100 * gemm / g32);
      } else {
        // Each forward against the mean of the copy passes just before and
        // after it; the median of those ratios (robust to the machine's
        // swings), and in brackets the ratio of the two medians.
        std::vector<double> paired;
        for (size_t r = 0; r < t_fwd.size(); ++r) paired.push_back(gb * 1e9 / t_fwd[r] / (0.5 * (bw[r] + bw[r + 1])));
        std::snprintf(cpct, sizeof cpct, "%.0f%% (%.0f%%)", 100.0 * median(paired), 100.0 * gb * 1e9 / t_cpu / bwm);
        std::snprintf(rpct, sizeof rpct, "%.1f, %.0f%%", median(rd) / 1e9, 100.0 * gb * 1e9 / t_cpu / median(rd));
      }
      const auto mm = std::minmax_element(bw.begin(), bw.end());
      std::printf("| %s | %lld | %.2f | %s | %.3f | %.1f | %.1f (%.0f-%.0f) | %s | %s | %.0f | %s | %s | %s |\n",
                  sh.name, (long long)T, t_cpu * 1e3, ref_s, gb, gb / t_cpu, bwm / 1e9, *mm.first / 1e9,
                  *mm.second / 1e9, cpct, rpct, gemm, d16, d32, pct);
      std::fflush(stdout);
    }
  }
  std::printf("%sload average at end %.2f\n", notes.c_str(), loadavg());
  return 0;
}
