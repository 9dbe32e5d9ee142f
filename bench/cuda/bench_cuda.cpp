// moert-bench-cuda: times one MoE layer forward of libmoert-cuda.so, eagerly
// and as CUDA-graph replays, with the plugin's own events (ABI 1.1), for the
// mixtral/qwen3/gptoss shapes of ../shared/bench/peer_moe.py (bf16 weights,
// softmax top-k renormalized, silu_and_mul), plus gpt-oss in MXFP4. Prints one
// JSON object per point; scripts/gpu/report.py joins them with the peers.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "cuda_harness.h"
#include "cuda_test_support.h"

using namespace cudatest;

namespace {

struct Shape { const char* name; int E, K; int64_t H, I; };
const Shape kShapes[] = {{"mixtral", 8, 2, 4096, 14336}, {"qwen3", 128, 8, 2048, 768}, {"gptoss", 128, 4, 2880, 2880}};

// Fast seeded fill (xorshift): the weights of mixtral are 1.4 G values.
struct Rng {
  uint64_t s;
  explicit Rng(uint64_t seed) : s(seed * 0x9E3779B97F4A7C15ull + 1) {}
  uint64_t next() { s ^= s << 13; s ^= s >> 7; s ^= s << 17; return s; }
  float uniform() { return static_cast<float>((next() >> 40) * (1.0 / 16777216.0)) * 2.f - 1.f; }
};

void fill_bf16(std::vector<uint8_t>& v, int64_t n, float amp, uint64_t seed) {
  v.resize(n * 2);
  auto* p = reinterpret_cast<uint16_t*>(v.data());
  Rng r(seed);
  for (int64_t i = 0; i < n; ++i) p[i] = f32_to_bf16(r.uniform() * amp);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? NAN : v[v.size() / 2];
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string x;
  while (std::getline(ss, x, ',')) if (!x.empty()) out.push_back(x);
  return out;
}

// Median microseconds of `reps` runs of fn, timed with the plugin's events.
template <class Fn>
double time_us(Harness& h, Fn fn, int warm, int reps) {
  const auto* api = plugin().api;
  for (int i = 0; i < warm; ++i) fn();
  h.sync();
  void *a = nullptr, *b = nullptr;
  ok(api->event_create(0, &a), "event");
  ok(api->event_create(0, &b), "event");
  std::vector<double> ts;
  for (int i = 0; i < reps; ++i) {
    ok(api->event_record(0, a, h.stream()), "record");
    fn();
    ok(api->event_record(0, b, h.stream()), "record");
    float ms = 0;
    ok(api->event_elapsed_ms(0, a, b, &ms), "elapsed");
    ts.push_back(ms * 1e3);
  }
  api->error_destroy(api->event_destroy(0, a));
  api->error_destroy(api->event_destroy(0, b));
  return median(ts);
}

void bench_points(const char* label, const Case& c, const HostWeights& w, const std::vector<int64_t>& tokens,
                  int reps, FILE* out) {
  Harness h(c, w);
  const auto* api = plugin().api;
  for (int64_t T : tokens) {
    Rng r(1000 + T);
    std::vector<uint16_t> x(T * c.H);
    for (auto& v : x) v = f32_to_bf16(r.uniform());
    std::vector<float> lg(T * c.E);
    for (auto& v : lg) v = r.uniform() * 2.f;
    h.set_inputs(x, lg, T);
    const double eager = time_us(h, [&] { h.forward(); }, 3, reps);
    ok(api->graph_capture_begin(0, h.stream()), "capture");
    h.forward();
    void* g = nullptr;
    ok(api->graph_capture_end(0, h.stream(), &g), "capture end");
    const double graph = time_us(h, [&] { ok(api->graph_launch(0, g, h.stream()), "launch"); }, 3, reps);
    ok(api->graph_destroy(0, g), "graph destroy");
    // Every output element must be written and finite.
    const auto o = h.output();
    size_t bad = 0;
    for (float v : o) bad += !std::isfinite(v);
    std::fprintf(out, "{\"shape\": \"%s\", \"tokens\": %lld, \"eager_us\": %.2f, \"graph_us\": %.2f, \"nonfinite\": %zu}\n",
                 label, (long long)T, eager, graph, bad);
    std::fflush(out);
    std::fprintf(stderr, "%-14s T=%6lld eager %9.1f us  graph %9.1f us\n", label, (long long)T, eager, graph);
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string shapes = "mixtral,qwen3,gptoss", toks = "1,16,64,256,1024,4096,16384", outp;
  int reps = 20;
  bool mxfp4 = true, only_mxfp4 = false;
  std::string label_suffix;
  std::vector<std::string> opt_store;  // "key=value" (kept alive for the kv views)
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto val = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
    if (a == "--shapes") shapes = val();
    else if (a == "--tokens") toks = val();
    else if (a == "--out") outp = val();
    else if (a == "--reps") reps = std::atoi(val().c_str());
    else if (a == "--no-mxfp4") mxfp4 = false;
    else if (a == "--only-mxfp4") only_mxfp4 = true;
    else if (a == "--option") opt_store.push_back(val());
    else if (a == "--label") label_suffix = val();
    else { std::fprintf(stderr, "usage: %s [--shapes a,b] [--tokens 1,16] [--reps N] [--out file] [--no-mxfp4] [--only-mxfp4] [--option key=value] [--label suffix]\n", argv[0]); return 2; }
  }
  if (!plugin().usable) { std::fprintf(stderr, "CUDA plugin not usable: %s\n", plugin().reason.c_str()); return 1; }
  FILE* out = outp.empty() ? stdout : std::fopen(outp.c_str(), "w");
  if (!out) { std::perror(outp.c_str()); return 1; }
  std::vector<std::string> keys, vals;
  for (auto& kv : opt_store) {
    const auto eq = kv.find('=');
    keys.push_back(kv.substr(0, eq));
    vals.push_back(eq == std::string::npos ? "" : kv.substr(eq + 1));
  }
  std::vector<moert_kv> options;
  for (size_t i = 0; i < keys.size(); ++i) options.push_back({keys[i].c_str(), vals[i].c_str()});
  std::vector<int64_t> tokens;
  for (auto& t : split(toks)) tokens.push_back(std::atoll(t.c_str()));
  const int64_t tmax = *std::max_element(tokens.begin(), tokens.end());
  try {
    for (const auto& name : split(shapes)) {
      const Shape* s = nullptr;
      for (const auto& k : kShapes) if (name == k.name) s = &k;
      if (!s) { std::fprintf(stderr, "unknown shape %s\n", name.c_str()); return 2; }
      Case c;
      c.E = s->E; c.K = s->K; c.H = s->H; c.I = s->I; c.max_tokens = tmax;
      c.options = options;
      const std::string label = std::string(s->name) + label_suffix;
      HostWeights w;
      fill_bf16(w.w13, int64_t(c.E) * 2 * c.I * c.H, 2.f / std::sqrt((float)c.H), 1);
      fill_bf16(w.w2, int64_t(c.E) * c.H * c.I, 2.f / std::sqrt((float)c.I), 2);
      w.shp13 = {c.E, 2 * c.I, c.H};
      w.shp2 = {c.E, c.H, c.I};
      if (!only_mxfp4) bench_points(label.c_str(), c, w, tokens, reps, out);
      if (mxfp4 && name == "gptoss") {
        // gpt-oss in MXFP4: swigluoai, biases, interleaved gate/up.
        Case m = c;
        m.quant = MOERT_QUANT_MXFP4; m.act = MOERT_ACT_SWIGLUOAI; m.layout = MOERT_GATE_UP_INTERLEAVED; m.bias = true;
        m.max_tokens = std::min<int64_t>(tmax, 64);
        HostWeights q;
        Rng r(7);
        q.w13.resize(int64_t(c.E) * 2 * c.I * c.H / 2);
        for (auto& b : q.w13) b = static_cast<uint8_t>(r.next());
        q.w2.resize(int64_t(c.E) * c.H * c.I / 2);
        for (auto& b : q.w2) b = static_cast<uint8_t>(r.next());
        q.w13_scale.assign(int64_t(c.E) * 2 * c.I * (c.H / 32), 120);
        q.w2_scale.assign(int64_t(c.E) * c.H * (c.I / 32), 120);
        q.b13.assign(int64_t(c.E) * 2 * c.I, 0.01f);
        q.b2.assign(int64_t(c.E) * c.H, 0.01f);
        q.shp13 = w.shp13;
        q.shp2 = w.shp2;
        std::vector<int64_t> mt;
        for (int64_t t : tokens) if (t <= 64) mt.push_back(t);
        w = HostWeights();
        bench_points(("gptoss_mxfp4" + label_suffix).c_str(), m, q, mt, reps, out);
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  if (out != stdout) std::fclose(out);
  return 0;
}
