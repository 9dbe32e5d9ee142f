// rocm_bench: times one MXFP4 MoE layer forward of any plugin runner through
// the C ABI (device events; eager and graph replay, medians), for the gptoss
// shape by default. Used to run the rocm kernels built for NVIDIA beside the
// CUDA plugin and the torch peer on the same GPU.
//   rocm_bench --plugin FILE[:RUNNER] [--plugin ...] [--tokens 1,16,64] [--fp8]
// Prints one line per (plugin, tokens) and a JSON line per row.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "numeric_formats.h"
#include "plugin_harness.h"

using namespace rocm_test;

namespace {

uint64_t splitmix(uint64_t& s) {
  uint64_t z = (s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
void fill_random(std::vector<uint8_t>& v, uint64_t seed) {
  size_t i = 0;
  for (; i + 8 <= v.size(); i += 8) { uint64_t r = splitmix(seed); std::memcpy(&v[i], &r, 8); }
  for (; i < v.size(); ++i) v[i] = static_cast<uint8_t>(splitmix(seed));
}

struct Config { int E = 128, k = 4; int64_t H = 2880, I = 2880; bool fp8 = false; };

double median(std::vector<double> v) { std::sort(v.begin(), v.end()); return v[v.size() / 2]; }

void bench_plugin(const std::string& file, const std::string& runner_name, const Config& c,
                  const std::vector<int64_t>& tokens) {
  Plugin P(file);
  if (!P.unusable.empty()) { std::printf("# %s: unusable here: %s\n", file.c_str(), P.unusable.c_str()); return; }
  const moert_runner_ops* ops = P.runner(runner_name);
  if (!ops) { std::printf("# %s: no runner '%s'\n", file.c_str(), runner_name.c_str()); return; }
  const int64_t Tmax = *std::max_element(tokens.begin(), tokens.end());
  moert_layer_desc d;
  std::memset(&d, 0, sizeof d);
  d.struct_size = sizeof d;
  d.num_experts = c.E; d.top_k = c.k; d.hidden_size = c.H; d.intermediate_size = c.I;
  d.activation = MOERT_ACT_SWIGLUOAI; d.gate_up_layout = MOERT_GATE_UP_INTERLEAVED; d.has_bias = 1;
  d.swiglu_alpha = 1.702f; d.swiglu_limit = 7.0f;
  d.routing_method = MOERT_ROUTING_TOPK; d.scoring = MOERT_SCORING_SOFTMAX; d.renormalize = 1;
  d.routed_scaling_factor = 1.0f;
  d.activation_dtype = kBf16; d.weight_dtype = kFp4; d.quant_scheme = MOERT_QUANT_MXFP4;
  d.activation_quant = c.fp8 ? MOERT_ACT_QUANT_FP8_PER_TOKEN : MOERT_ACT_QUANT_NONE;
  d.max_num_tokens = Tmax; d.ep_size = 1; d.num_local_experts = c.E;
  int code = 0;
  std::string why = P.message(ops->can_implement(&d), &code);
  if (!why.empty()) { std::printf("# %s:%s declines: %s\n", file.c_str(), runner_name.c_str(), why.c_str()); return; }
  moert_runner* r = nullptr;
  P.check(ops->create(&d, 0, &r), "create");
  std::unique_ptr<moert_runner, void (*)(moert_runner*)> guard(r, ops->destroy);
  // Checkpoint-layout weights (every MXFP4 plugin takes these; rocm shuffles them in set_weights).
  const int64_t R = 2 * c.I;
  std::vector<uint8_t> w13(c.E * R * c.H / 2), w2(c.E * c.H * c.I / 2), s13(c.E * R * c.H / 32), s2(c.E * c.H * c.I / 32);
  fill_random(w13, 1); fill_random(w2, 2);
  for (auto& b : s13) b = 127 - 7; for (auto& b : s2) b = 127 - 7;
  std::vector<float> b13(c.E * R, 0.01f), b2(c.E * c.H, -0.01f);
  const moert_device cpu{MOERT_DEVICE_CPU, 0};
  View v13(w13.data(), cpu, kFp4, {c.E, R, c.H}), v2(w2.data(), cpu, kFp4, {c.E, c.H, c.I}),
      vs13(s13.data(), cpu, kE8m0, {c.E, R, c.H / 32}), vs2(s2.data(), cpu, kE8m0, {c.E, c.H, c.I / 32}),
      vb13(b13.data(), cpu, kF32, {c.E, R}), vb2(b2.data(), cpu, kF32, {c.E, c.H});
  moert_expert_weights ew{};
  ew.struct_size = sizeof ew;
  ew.w13 = v13.t; ew.w2 = v2.t; ew.w13_scale = vs13.t; ew.w2_scale = vs2.t; ew.w13_bias = vb13.t; ew.w2_bias = vb2.t;
  P.check(ops->set_weights(r, &ew), "set_weights");
  size_t wsb = 0;
  P.check(ops->workspace_size(r, Tmax, &wsb), "workspace_size");
  DeviceBuffer ws(P, wsb ? wsb : 1);
  moert_stream st = nullptr;
  P.check(P.api->stream_create(0, &st), "stream_create");
  void *e0 = nullptr, *e1 = nullptr;
  P.check(P.api->event_create(0, &e0), "event_create");
  P.check(P.api->event_create(0, &e1), "event_create");
  const moert_device dev{P.api->device_type, 0};
  for (int64_t T : tokens) {
    std::vector<uint16_t> x(T * c.H);
    std::vector<float> lg(T * c.E);
    uint64_t seed = 77 + T;
    for (auto& v : x) v = moert_hip::f32_to_bf16(static_cast<float>(static_cast<int64_t>(splitmix(seed) % 2001) - 1000) / 1000.0f);
    for (auto& v : lg) v = static_cast<float>(static_cast<int64_t>(splitmix(seed) % 2001) - 1000) / 250.0f;
    DeviceBuffer dx(P, x.size() * 2), dl(P, lg.size() * 4), dout(P, x.size() * 2);
    dx.upload(x.data(), x.size() * 2);
    dl.upload(lg.data(), lg.size() * 4);
    View vx(dx.ptr, dev, kBf16, {T, c.H}), vl(dl.ptr, dev, kF32, {T, c.E}), vo(dout.ptr, dev, kBf16, {T, c.H}),
        vw(ws.ptr, dev, kU8, {static_cast<int64_t>(wsb)});
    moert_forward_args a{};
    a.struct_size = sizeof a;
    a.hidden_states = vx.t; a.router_logits = vl.t; a.output = vo.t; a.workspace = vw.t; a.stream = st;
    auto time_one = [&](auto&& launch) {
      P.check(P.api->event_record(0, e0, st), "record");
      launch();
      P.check(P.api->event_record(0, e1, st), "record");
      float ms = 0;
      P.check(P.api->event_elapsed_ms(0, e0, e1, &ms), "elapsed");
      return ms * 1000.0;
    };
    auto fwd = [&] { P.check(ops->forward(r, &a), "forward"); };
    for (int i = 0; i < 5; ++i) fwd();
    std::vector<double> eager, graph;
    for (int i = 0; i < 30; ++i) eager.push_back(time_one(fwd));
    double graph_us = -1;
    if (P.api->graph_capture_begin) {
      void* g = nullptr;
      P.check(P.api->graph_capture_begin(0, st), "capture_begin");
      moert_error* fe = ops->forward(r, &a);
      P.check(P.api->graph_capture_end(0, st, &g), "capture_end");
      P.check(fe, "forward (captured)");
      for (int i = 0; i < 3; ++i) P.check(P.api->graph_launch(0, g, st), "graph_launch");
      for (int i = 0; i < 30; ++i) graph.push_back(time_one([&] { P.check(P.api->graph_launch(0, g, st), "graph_launch"); }));
      P.check(P.api->graph_destroy(0, g), "graph_destroy");
      graph_us = median(graph);
    }
    // MXFP4 bytes the layer must read: touched experts x (weights 4 bits + scales 1/32 byte) + activations.
    const double touched = c.E * (1.0 - std::pow(1.0 - static_cast<double>(c.k) / c.E, static_cast<double>(T)));
    const double bytes = touched * 3.0 * c.H * c.I * (0.5 + 1.0 / 32) + 2.0 * T * c.H * 2;
    const double e_us = median(eager), best = graph_us > 0 ? std::min(graph_us, e_us) : e_us;
    std::printf("%-28s T=%5lld eager %9.1f us  graph %9.1f us  mxfp4 bytes %.3g -> %.2f TB/s\n",
                (P.api->name + std::string(":") + runner_name + (c.fp8 ? ":a8w4" : ":a16w4")).c_str(),
                static_cast<long long>(T), e_us, graph_us, bytes, bytes / (best * 1e-6) / 1e12);
    std::printf("JSON {\"plugin\":\"%s\",\"runner\":\"%s\",\"act\":\"%s\",\"tokens\":%lld,\"eager_us\":%.1f,\"graph_us\":%.1f,\"bytes\":%.0f}\n",
                P.api->name, runner_name.c_str(), c.fp8 ? "a8w4" : "a16w4", static_cast<long long>(T), e_us, graph_us, bytes);
    std::fflush(stdout);
  }
  P.message(P.api->event_destroy(0, e0));
  P.message(P.api->event_destroy(0, e1));
  P.message(P.api->stream_destroy(0, st));
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::pair<std::string, std::string>> plugins;
  std::vector<int64_t> tokens = {1, 16, 64, 256, 1024};
  Config c;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--plugin" && i + 1 < argc) {
      std::string v = argv[++i];
      size_t colon = v.rfind(':');
      if (colon != std::string::npos && v.find('/', colon) == std::string::npos)
        plugins.push_back({v.substr(0, colon), v.substr(colon + 1)});
      else
        plugins.push_back({v, "rocm"});
    } else if (a == "--tokens" && i + 1 < argc) {
      tokens.clear();
      std::stringstream ss(argv[++i]);
      std::string t;
      while (std::getline(ss, t, ',')) tokens.push_back(std::stoll(t));
    } else if (a == "--fp8") {
      c.fp8 = true;
    } else if (a == "--experts" && i + 1 < argc) {
      c.E = std::stoi(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: %s --plugin FILE[:RUNNER] ... [--tokens 1,16,...] [--fp8] [--experts E]\n", argv[0]);
      return 2;
    }
  }
  if (plugins.empty()) { std::fprintf(stderr, "give at least one --plugin\n"); return 2; }
  std::printf("# gptoss MXFP4 MoE: E=%d top-%d H=%lld I=%lld swigluoai+bias, %s\n", c.E, c.k,
              static_cast<long long>(c.H), static_cast<long long>(c.I), c.fp8 ? "a8w4 (fp8 per-token)" : "a16w4 (bf16)");
  for (auto& p : plugins) {
    try {
      bench_plugin(p.first, p.second, c, tokens);
    } catch (const std::exception& ex) {
      std::printf("# %s:%s failed: %s\n", p.first.c_str(), p.second.c_str(), ex.what());
    }
  }
  return 0;
}
