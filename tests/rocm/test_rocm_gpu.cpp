// GPU numerics of the rocm plugin (AMD build, or the same kernels built for
// NVIDIA as libmoert-rocm-nv.so) through the C ABI, against a float64 host
// reference. Every test skips with the reason when no device can run it.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <memory>

#include "moe_reference.h"
#include "plugin_harness.h"

using namespace rocm_test;

namespace {

Plugin* g_plugin = nullptr;
std::string g_skip;

Plugin* plugin() {
  static bool tried = false;
  if (!tried) {
    tried = true;
    const std::string dir = MOERT_ROCM_PLUGIN_DIR;
    std::string path = find_plugin({dir + "/libmoert-rocm.so", dir + "/libmoert-rocm-nv.so"});
    if (path.empty()) { g_skip = "no rocm plugin file found (set MOERT_ROCM_PLUGIN)"; return nullptr; }
    try {
      g_plugin = new Plugin(path);
      if (!g_plugin->unusable.empty()) g_skip = path + ": " + g_plugin->unusable;
    } catch (const std::exception& ex) {
      g_skip = ex.what();
    }
  }
  return g_skip.empty() ? g_plugin : nullptr;
}

#define NEED_DEVICE()                              \
  Plugin* P = plugin();                            \
  if (!P) GTEST_SKIP() << "no device: " << g_skip; \
  (void)P


// Host tensors in the layout named by `layout`, as set_weights takes them.
struct HostWeights {
  std::vector<uint8_t> w13, w2, s13, s2;
  std::vector<float> b13, b2;
  std::vector<View> views;
  moert_expert_weights ew{};
};
std::unique_ptr<HostWeights> prepare_weights(const Shape& s, const Weights& W, const std::string& layout) {
  auto h = std::make_unique<HostWeights>();
  const int64_t El = s.num_local(), R = 2 * s.I, H = s.H, I = s.I;
  h->w13 = W.w13; h->w2 = W.w2; h->s13 = W.s13; h->s2 = W.s2; h->b13 = W.b13; h->b2 = W.b2;
  if (layout == "aiter_a16w4") {  // rows into 16-row gate/up blocks first
    std::vector<uint8_t> tmp(h->w13.size()), ts(h->s13.size());
    moert_hip::convert_gate_up_rows(W.w13.data(), tmp.data(), El, I, H / 2, s.gate_up, moert_hip::kRowsBlock16);
    moert_hip::convert_gate_up_rows(W.s13.data(), ts.data(), El, I, H / 32, s.gate_up, moert_hip::kRowsBlock16);
    h->w13.swap(tmp);
    h->s13.swap(ts);
    if (s.bias)
      moert_hip::convert_gate_up_rows(reinterpret_cast<const uint8_t*>(W.b13.data()),
                                      reinterpret_cast<uint8_t*>(h->b13.data()), El, I, 4, s.gate_up,
                                      moert_hip::kRowsBlock16);
  }
  if (layout != "checkpoint") {
    auto shuffle = [](std::vector<uint8_t>& w, std::vector<uint8_t>& sc, int64_t B, int64_t N, int64_t K) {
      std::vector<uint8_t> ws(w.size()), ss(moert_hip::scale_padded_rows(B * N) * moert_hip::scale_padded_cols(K / 32));
      moert_hip::shuffle_weight_16x16(w.data(), ws.data(), B, N, K / 2);
      moert_hip::e8m0_shuffle(sc.data(), ss.data(), B * N, K / 32);
      w.swap(ws);
      sc.swap(ss);
    };
    shuffle(h->w13, h->s13, El, R, H);
    shuffle(h->w2, h->s2, El, H, I);
  }
  const moert_device cpu{MOERT_DEVICE_CPU, 0};
  const bool sh = layout != "checkpoint";
  h->views.reserve(8);  // ew keeps the views' shape pointers: no reallocation
  h->views.push_back(View(h->w13.data(), cpu, kFp4, {El, R, H}));
  h->views.push_back(View(h->w2.data(), cpu, kFp4, {El, H, I}));
  h->views.push_back(sh ? View(h->s13.data(), cpu, kE8m0, {static_cast<int64_t>(h->s13.size())})
                        : View(h->s13.data(), cpu, kE8m0, {El, R, H / 32}));
  h->views.push_back(sh ? View(h->s2.data(), cpu, kE8m0, {static_cast<int64_t>(h->s2.size())})
                        : View(h->s2.data(), cpu, kE8m0, {El, H, I / 32}));
  h->ew.struct_size = sizeof h->ew;
  h->ew.w13 = h->views[0].t;
  h->ew.w2 = h->views[1].t;
  h->ew.w13_scale = h->views[2].t;
  h->ew.w2_scale = h->views[3].t;
  if (s.bias) {
    h->views.push_back(View(h->b13.data(), cpu, kF32, {El, R}));
    h->views.push_back(View(h->b2.data(), cpu, kF32, {El, H}));
    h->ew.w13_bias = h->views[4].t;
    h->ew.w2_bias = h->views[5].t;
  }
  return h;
}

double rel_err(const std::vector<uint16_t>& got, const std::vector<double>& ref, int64_t* nan_count) {
  double num = 0, den = 0;
  *nan_count = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    const double g = moert_hip::bf16_to_f32(got[i]);
    if (std::isnan(g)) { ++*nan_count; continue; }
    num += (g - ref[i]) * (g - ref[i]);
    den += ref[i] * ref[i];
  }
  return std::sqrt(num / den);
}

// Runs the "rocm" runner on T tokens and compares with the f64 reference.
// bad_logits: (flat index, value) edits of the logits the device sees; the
// output rows of the tokens they touch must be all NaN, the others match the
// reference of the unedited logits.
void run_runner_case(const Shape& s, const std::string& layout, const std::vector<int64_t>& token_counts,
                     double bound, bool graph_replay = false,
                     const std::vector<std::pair<int64_t, float>>& bad_logits = {}) {
  Plugin* P = plugin();
  const moert_runner_ops* ops = P->runner("rocm");
  ASSERT_NE(ops, nullptr);
  std::vector<moert_kv> opts = {{"weight_layout", layout.c_str()}};
  int64_t Tmax = *std::max_element(token_counts.begin(), token_counts.end());
  moert_layer_desc d = layer_desc(s, Tmax, &opts);
  ASSERT_EQ(P->message(ops->can_implement(&d)), "");
  moert_runner* r = nullptr;
  P->check(ops->create(&d, 0, &r), "create");
  std::unique_ptr<moert_runner, void (*)(moert_runner*)> guard(r, ops->destroy);
  Weights W = make_weights(s, 11);
  auto hw = prepare_weights(s, W, layout);
  P->check(ops->set_weights(r, &hw->ew), "set_weights");
  size_t ws_bytes = 0;
  P->check(ops->workspace_size(r, Tmax, &ws_bytes), "workspace_size");
  DeviceBuffer ws(*P, ws_bytes);
  moert_stream stream = nullptr;
  P->check(P->api->stream_create(0, &stream), "stream_create");
  const moert_device dev{P->api->device_type, 0};
  for (int64_t T : token_counts) {
    auto x = make_hidden(T, s.H, 100 + static_cast<uint32_t>(T));
    auto lg = make_logits(T, s.E, 200 + static_cast<uint32_t>(T));
    auto lg_dev = lg;
    std::vector<char> bad_row(T, 0);
    for (const auto& [i, v] : bad_logits)
      if (i < T * s.E) { lg_dev[i] = v; bad_row[i / s.E] = 1; }
    DeviceBuffer dx(*P, x.size() * 2 + 2), dl(*P, lg.size() * 4 + 4), dout(*P, T * s.H * 2 + 2);
    if (T) { dx.upload(x.data(), x.size() * 2); dl.upload(lg_dev.data(), lg_dev.size() * 4); }
    std::vector<uint16_t> poison(T * s.H, 0xffff), got(T * s.H);  // NaN
    if (T) dout.upload(poison.data(), poison.size() * 2);
    View vx(dx.ptr, dev, kBf16, {T, s.H}), vl(dl.ptr, dev, kF32, {T, s.E}), vo(dout.ptr, dev, kBf16, {T, s.H}),
        vw(ws.ptr, dev, kU8, {static_cast<int64_t>(ws_bytes)});
    moert_forward_args a{};
    a.struct_size = sizeof a;
    a.hidden_states = vx.t;
    a.router_logits = vl.t;
    a.output = vo.t;
    a.workspace = vw.t;
    a.stream = stream;
    if (graph_replay) {
      void* g = nullptr;
      P->check(P->api->graph_capture_begin(0, stream), "capture_begin");
      moert_error* fe = ops->forward(r, &a);
      P->check(P->api->graph_capture_end(0, stream, &g), "capture_end");
      P->check(fe, "forward (captured)");
      P->check(P->api->graph_launch(0, g, stream), "graph_launch");
      P->check(P->api->stream_synchronize(0, stream), "sync");
      P->check(P->api->graph_destroy(0, g), "graph_destroy");
    } else {
      P->check(ops->forward(r, &a), "forward");
      P->check(P->api->stream_synchronize(0, stream), "sync");
    }
    if (T == 0) continue;
    dout.download(got.data(), got.size() * 2);
    std::vector<int32_t> ids;
    std::vector<float> tw;
    reference_routing(s, lg, T, &ids, &tw);
    auto ref = reference_moe(s, W, x, T, ids, tw);
    int64_t want_nans = 0;
    for (int64_t t = 0; t < T; ++t) {
      if (!bad_row[t]) continue;
      want_nans += s.H;  // the row must be all NaN; it leaves the error below
      for (int64_t h = 0; h < s.H; ++h) ref[t * s.H + h] = 0.0;
    }
    int64_t nans = 0;
    const double err = rel_err(got, ref, &nans);
    EXPECT_EQ(nans, want_nans) << "NaN outputs (poison left, or a non-finite logit's token not NaN), T=" << T;
    EXPECT_LT(err, bound) << "layout " << layout << " T=" << T;
    std::printf("    [rocm] layout=%s T=%lld rel_err=%.3g\n", layout.c_str(), static_cast<long long>(T), err);
  }
  P->message(P->api->stream_destroy(0, stream));
}

}  // namespace

TEST(RocmGpu, GptOssSwigluBiasInterleavedCheckpoint) {
  NEED_DEVICE();
  Shape s;  // E=8 top-2 H=128 I=192, swigluoai, bias, interleaved rows
  run_runner_case(s, "checkpoint", {1, 5, 33, 100, 0}, 1e-2);
}

TEST(RocmGpu, SiluConcatAiterShuffledNoBias) {
  NEED_DEVICE();
  Shape s;
  s.act = MOERT_ACT_SILU_AND_MUL;
  s.gate_up = MOERT_GATE_UP_CONCAT;
  s.bias = false;
  s.H = 256;
  s.I = 128;
  s.E = 16;
  s.k = 4;
  run_runner_case(s, "aiter_shuffled", {3, 64}, 1e-2);
}

TEST(RocmGpu, A16W4GateUpBlocksFromGptOssRows) {
  NEED_DEVICE();
  Shape s;
  run_runner_case(s, "aiter_a16w4", {7, 70}, 1e-2);
}

TEST(RocmGpu, A8W4Fp8PerTokenActivations) {
  NEED_DEVICE();
  Shape s;
  s.fp8 = true;
  run_runner_case(s, "checkpoint", {2, 40}, 3e-2);
}

TEST(RocmGpu, SigmoidScalingNoRenormalize) {
  NEED_DEVICE();
  Shape s;
  s.sigmoid = true;
  s.renorm = false;
  s.scaling = 2.5f;
  run_runner_case(s, "checkpoint", {9}, 1e-2);
}

TEST(RocmGpu, ExpertMapEpRankHalfTheExperts) {
  NEED_DEVICE();
  Shape s;
  s.map = {-1, 0, -1, 1, -1, 2, -1, 3};  // odd global experts are local (aiter mask 01010101)
  run_runner_case(s, "checkpoint", {1, 50}, 1e-2);
}

// A wider layer (K = 1024 and 512: many pipeline stages, 64- and 128-wide
// N tiles) at decode and prefill sizes, eager and replayed.
TEST(RocmGpu, WideLayerDecodeAndPrefill) {
  NEED_DEVICE();
  Shape s;
  s.H = 1024;
  s.I = 512;
  run_runner_case(s, "checkpoint", {1, 3, 200}, 1e-2);
  run_runner_case(s, "checkpoint", {2}, 1e-2, /*graph_replay=*/true);
}

// A non-finite logit makes its token's output row NaN (the forward cannot
// fail on the host without a synchronization), while the other tokens are
// unaffected. A NaN logit, or a NaN or +Inf one under softmax, makes every
// score of the token NaN: it must still take k in-range experts (the top-k
// once kept the out-of-range id E for it).
TEST(RocmGpu, NonFiniteLogitMakesOnlyItsTokenNaN) {
  NEED_DEVICE();
  Shape s;
  const int64_t E = s.E;
  run_runner_case(s, "aiter_a16w4", {6}, 2e-2, false, {{1 * E + 3, NAN}, {4 * E + 0, INFINITY}, {5 * E + 7, -INFINITY}});
  Shape sig = s;
  sig.sigmoid = true;
  run_runner_case(sig, "aiter_a16w4", {6}, 2e-2, false, {{2 * E + 5, NAN}, {3 * E + 1, -INFINITY}});
}

TEST(RocmGpu, GraphReplayOfForward) {
  NEED_DEVICE();
  Shape s;
  run_runner_case(s, "checkpoint", {17}, 1e-2, /*graph_replay=*/true);
}

TEST(RocmGpu, ExpertsKernelWithGivenRouting) {
  NEED_DEVICE();
  const moert_experts_ops* ops = P->experts("rocm");
  ASSERT_NE(ops, nullptr);
  Shape s;
  s.map = {0, 1, 2, 3, -1, -1, -1, -1};
  std::vector<moert_kv> opts;
  const int64_t T = 24;
  moert_layer_desc d = layer_desc(s, T, &opts);
  moert_experts* x = nullptr;
  P->check(ops->create(&d, 0, &x), "create");
  std::unique_ptr<moert_experts, void (*)(moert_experts*)> guard(x, ops->destroy);
  Weights W = make_weights(s, 5);
  auto hw = prepare_weights(s, W, "checkpoint");
  P->check(ops->set_weights(x, &hw->ew), "set_weights");
  auto hx = make_hidden(T, s.H, 7);
  std::vector<int32_t> ids(T * s.k);
  std::vector<float> tw(T * s.k);
  std::mt19937 rng(3);
  for (int64_t t = 0; t < T; ++t) {
    ids[t * 2] = static_cast<int32_t>(rng() % 8);
    ids[t * 2 + 1] = (ids[t * 2] + 1 + static_cast<int32_t>(rng() % 7)) % 8;
    tw[t * 2] = 0.3f + 0.01f * t;
    tw[t * 2 + 1] = 0.7f;
  }
  size_t wsb = 0;
  P->check(ops->workspace_size(x, T, &wsb), "workspace_size");
  DeviceBuffer ws(*P, wsb), dx(*P, hx.size() * 2), di(*P, ids.size() * 4), dw(*P, tw.size() * 4), dout(*P, T * s.H * 2);
  dx.upload(hx.data(), hx.size() * 2);
  di.upload(ids.data(), ids.size() * 4);
  dw.upload(tw.data(), tw.size() * 4);
  std::vector<uint16_t> poison(T * s.H, 0xffff), got(T * s.H);
  dout.upload(poison.data(), poison.size() * 2);
  const moert_device dev{P->api->device_type, 0};
  View vx(dx.ptr, dev, kBf16, {T, s.H}), vi(di.ptr, dev, kI32, {T, s.k}), vw(dw.ptr, dev, kF32, {T, s.k}),
      vo(dout.ptr, dev, kBf16, {T, s.H}), vws(ws.ptr, dev, kU8, {static_cast<int64_t>(wsb)});
  moert_experts_args a{};
  a.struct_size = sizeof a;
  a.hidden_states = vx.t;
  a.topk_ids = vi.t;
  a.topk_weights = vw.t;
  a.output = vo.t;
  a.workspace = vws.t;
  P->check(ops->apply(x, &a), "apply");
  P->check(P->api->stream_synchronize(0, nullptr), "sync");
  dout.download(got.data(), got.size() * 2);
  auto ref = reference_moe(s, W, hx, T, ids, tw);
  int64_t nans = 0;
  EXPECT_LT(rel_err(got, ref, &nans), 1e-2);
  EXPECT_EQ(nans, 0);
}

TEST(RocmGpu, ErrorsNameWhatIsWrong) {
  NEED_DEVICE();
  const moert_runner_ops* ops = P->runner("rocm");
  Shape s;
  std::vector<moert_kv> opts;
  moert_layer_desc d = layer_desc(s, 8, &opts);
  moert_runner* r = nullptr;
  P->check(ops->create(&d, 0, &r), "create");
  std::unique_ptr<moert_runner, void (*)(moert_runner*)> guard(r, ops->destroy);
  moert_forward_args a{};
  a.struct_size = sizeof a;
  int code = 0;
  std::string m = P->message(ops->forward(r, &a), &code);
  EXPECT_EQ(code, MOERT_STATUS_FAILED_PRECONDITION) << m;
  Weights W = make_weights(s, 1);
  auto hw = prepare_weights(s, W, "checkpoint");
  hw->views[0].shape[1] = 100;  // w13 rows: 100 instead of 2I = 384
  hw->ew.w13 = hw->views[0].t;
  m = P->message(ops->set_weights(r, &hw->ew), &code);
  EXPECT_EQ(code, MOERT_STATUS_INVALID_ARGUMENT);
  EXPECT_NE(m.find("weights.w13: expected"), std::string::npos) << m;
}

// can_implement runs without a device: it is pure layer inspection.
TEST(RocmPlugin, CanImplementDeclinesWithReasons) {
  const std::string dir = MOERT_ROCM_PLUGIN_DIR;
  std::string path = find_plugin({dir + "/libmoert-rocm.so", dir + "/libmoert-rocm-nv.so"});
  if (path.empty()) GTEST_SKIP() << "no rocm plugin file found";
  Plugin pl(path);
  if (!pl.unusable.empty()) std::printf("    probe: %s\n", pl.unusable.c_str());
  const moert_runner_ops* ops = pl.runner("rocm");
  ASSERT_NE(ops, nullptr);
  Shape s;
  std::vector<moert_kv> opts;
  auto expect_decline = [&](moert_layer_desc d, const char* needle) {
    int code = 0;
    std::string m = pl.message(ops->can_implement(&d), &code);
    EXPECT_EQ(code, MOERT_STATUS_UNIMPLEMENTED) << needle;
    EXPECT_NE(m.find(needle), std::string::npos) << m;
  };
  moert_layer_desc ok = layer_desc(s, 8, &opts);
  EXPECT_EQ(pl.message(ops->can_implement(&ok)), "");
  moert_layer_desc d = ok;
  d.activation_dtype = kF32;
  expect_decline(d, "bf16 activations only");
  d = ok;
  d.quant_scheme = MOERT_QUANT_FP8_PER_TENSOR;
  expect_decline(d, "MXFP4 weights only");
  d = ok;
  d.activation = MOERT_ACT_GELU_AND_MUL;
  expect_decline(d, "silu_and_mul and swigluoai");
  d = ok;
  d.routing_method = MOERT_ROUTING_GROUPED_TOPK;
  expect_decline(d, "grouped_topk");
  d = ok;
  d.hidden_size = 96;
  expect_decline(d, "multiple of 64");
  std::vector<moert_kv> bad = {{"weight_layout", "shuffled"}};
  d = layer_desc(s, 8, &bad);
  expect_decline(d, "expected checkpoint, aiter_shuffled or aiter_a16w4; got 'shuffled'");
  if (pl.unusable.empty()) return;
  // Without a device, creating fails cleanly with the probe's reason.
  moert_runner* r = nullptr;
  int code = 0;
  std::string m = pl.message(ops->create(&ok, 0, &r), &code);
  EXPECT_EQ(code, MOERT_STATUS_UNAVAILABLE) << m;
  EXPECT_EQ(r, nullptr);
}
