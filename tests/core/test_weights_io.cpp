// Weights, inputs and outputs through safetensors with moert's tensor names.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <unistd.h>

#include "moert/error.h"
#include "moert/safetensors.h"
#include "moert/synthetic.h"
#include "moert/weight_layout.h"
#include "moert/weights_io.h"

using namespace moert;

namespace {

std::string temp_path(const std::string& name) {
  return "/tmp/moert_coreb_wio_" + std::to_string(::getpid()) + "_" + name;
}

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

bool same(const HostTensor& a, const HostTensor& b) {
  return a.dtype() == b.dtype() && a.shape() == b.shape() && a.nbytes() == b.nbytes() &&
         std::memcmp(a.data(), b.data(), a.nbytes()) == 0;
}

LayerSpec layer(int32_t quant, moert_dtype wd) {
  LayerSpec l;
  l.name = "tiny";
  l.desc.num_experts = 4;
  l.desc.num_local_experts = 4;
  l.desc.top_k = 2;
  l.desc.hidden_size = 64;
  l.desc.intermediate_size = 32;
  l.desc.quant_scheme = quant;
  l.desc.weight_dtype = wd;
  l.desc.activation_dtype = kBF16;
  return l;
}

}  // namespace

TEST(WeightsIo, RoundTripEverySchemeWithPrefix) {
  const std::pair<int32_t, moert_dtype> schemes[] = {
      {MOERT_QUANT_NONE, kBF16},           {MOERT_QUANT_NONE, kF32},
      {MOERT_QUANT_FP8_PER_TENSOR, kFP8E4M3}, {MOERT_QUANT_FP8_PER_CHANNEL, kFP8E4M3},
      {MOERT_QUANT_FP8_BLOCK_128, kFP8E4M3},  {MOERT_QUANT_MXFP4, kFP4E2M1}};
  const std::string path = temp_path("rt.safetensors");
  for (const auto& s : schemes) {
    LayerSpec l = layer(s.first, s.second);
    l.desc.has_bias = 1;
    l.desc.has_score_correction_bias = 1;
    SCOPED_TRACE(quant_scheme_name(s.first));
    const WeightSet w = make_random_weights(l, 3);
    save_weights(path, l, w, "layers.0.experts.");
    const WeightSet r = load_weights(path, l, "layers.0.experts.");
    for (const auto& spec : weight_tensor_specs(l)) {
      SCOPED_TRACE(spec.name);
      EXPECT_TRUE(same(w.*(spec.field), r.*(spec.field)));
    }
    const safetensors::Reader file(path);
    EXPECT_TRUE(file.contains("layers.0.experts.w13_scale") == (s.first != MOERT_QUANT_NONE));
    EXPECT_EQ(file.metadata().at("quant_scheme"), quant_scheme_name(s.first));
  }
  std::remove(path.c_str());
}

TEST(WeightsIo, MismatchNamesFileTensorExpectedAndFound) {
  const std::string path = temp_path("weights.safetensors");
  const LayerSpec saved = layer(MOERT_QUANT_NONE, kBF16);
  save_weights(path, saved, make_random_weights(saved, 1));

  LayerSpec other = saved;
  other.desc.intermediate_size = 16;  // w13 [4, 32, 64] expected, file has [4, 64, 64]
  EXPECT_EQ(error_of([&] { load_weights(path, other); }),
            path + ": tensor 'w13': expected bf16 [4, 32, 64], got bf16 [4, 64, 64]");

  LayerSpec f32 = saved;
  f32.desc.weight_dtype = kF32;
  EXPECT_EQ(error_of([&] { load_weights(path, f32); }),
            path + ": tensor 'w13': expected f32 [4, 64, 64], got bf16 [4, 64, 64]");

  LayerSpec biased = saved;
  biased.desc.has_bias = 1;
  EXPECT_EQ(error_of([&] { load_weights(path, biased); }), path + ": no tensor 'w13_bias' (the file holds: w13, w2)");

  EXPECT_NE(error_of([&] { load_weights(path, saved, "layers.3."); }).find("no tensor 'layers.3.w13'"),
            std::string::npos);
  std::remove(path.c_str());
}

TEST(WeightsIo, SaveChecksTheWeightsAgainstTheLayer) {
  const LayerSpec l = layer(MOERT_QUANT_NONE, kBF16);
  WeightSet w = make_random_weights(l, 1);
  w.w2 = HostTensor(kBF16, {4, 32, 64});
  EXPECT_NE(error_of([&] { save_weights(temp_path("x"), l, w); })
                .find("tensor 'w2': expected bf16 [4, 64, 32], got bf16 [4, 32, 64]"),
            std::string::npos);
  w.w2 = HostTensor();
  EXPECT_NE(error_of([&] { save_weights(temp_path("x"), l, w); }).find("tensor 'w2' is missing"), std::string::npos);
}

TEST(WeightsIo, SharedExpertRoundTrip) {
  const std::string path = temp_path("shared.safetensors");
  const LayerSpec l = layer(MOERT_QUANT_NONE, kBF16);
  SharedExpertSet s;
  s.intermediate_size = 48;
  s.w13 = HostTensor(kBF16, {96, 64});
  s.w2 = HostTensor(kBF16, {64, 48});
  s.gate = HostTensor(kBF16, {64});
  for (size_t i = 0; i < s.w13.nbytes(); ++i) static_cast<uint8_t*>(s.w13.data())[i] = uint8_t(i);
  save_weights(path, l, make_random_weights(l, 2), "p.", &s);
  EXPECT_TRUE(has_shared_expert(path, "p."));
  EXPECT_FALSE(has_shared_expert(path, ""));
  const SharedExpertSet r = load_shared_expert(path, l, "p.");
  EXPECT_EQ(r.intermediate_size, 48);
  EXPECT_TRUE(same(r.w13, s.w13));
  EXPECT_TRUE(same(r.gate, s.gate));
  const moert_shared_expert v = r.view();
  EXPECT_EQ(v.intermediate_size, 48);
  EXPECT_NE(v.gate.data, nullptr);

  LayerSpec nogate = l;
  nogate.desc.activation = MOERT_ACT_RELU2;  // not gated: w13 would be [48, 64]
  EXPECT_NE(error_of([&] { load_shared_expert(path, nogate, "p."); })
                .find("tensor 'p.shared.w13': expected bf16 [48, 64], got bf16 [96, 64]"),
            std::string::npos);
  std::remove(path.c_str());
}

TEST(WeightsIo, InputsAndOutputRoundTripAndMismatches) {
  const std::string path = temp_path("inputs.safetensors");
  const LayerSpec l = layer(MOERT_QUANT_NONE, kBF16);
  const HostTensor x = make_random_hidden(l, 5, 1), logits = make_random_logits(l, 5, 1);
  save_inputs(path, x, logits);
  const LayerInputs in = load_inputs(path, l);
  EXPECT_EQ(in.tokens(), 5);
  EXPECT_TRUE(same(in.hidden_states, x));
  EXPECT_TRUE(same(in.router_logits, logits));

  LayerSpec wide = l;
  wide.desc.num_experts = 8;
  EXPECT_EQ(error_of([&] { load_inputs(path, wide); }),
            path + ": tensor 'router_logits': expected f32, bf16 or f16 [5, 8] (T from hidden_states), got f32 [5, 4]");
  LayerSpec f32 = l;
  f32.desc.activation_dtype = kF32;
  EXPECT_EQ(error_of([&] { load_inputs(path, f32); }),
            path + ": tensor 'hidden_states': expected f32 [T, 64], got bf16 [5, 64]");
  EXPECT_NE(error_of([&] { save_inputs(path, x, make_random_logits(l, 4, 1)); }).find("need the same T"),
            std::string::npos);

  // A non-finite logit in the file: named by file, tensor, token and expert.
  for (const float bad : {NAN, INFINITY}) {
    HostTensor nan_logits = logits;
    nan_logits.as<float>()[3 * 4 + 2] = bad;
    save_inputs(path, x, nan_logits);
    EXPECT_EQ(error_of([&] { load_inputs(path, l); }),
              path + ": tensor 'router_logits'[token 3, expert 2] is " + (std::isnan(bad) ? "NaN" : "Inf") +
                  " (router logits must be finite)");
  }

  const std::string out = temp_path("output.safetensors");
  save_output(out, x);
  EXPECT_TRUE(same(load_output(out), x));
  EXPECT_NE(error_of([&] { load_output(path); }).find("no tensor 'output'"), std::string::npos);
  std::remove(path.c_str());
  std::remove(out.c_str());
}
