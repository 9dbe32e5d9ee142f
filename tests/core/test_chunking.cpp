// ChunkingRunner around the built-in default runner: chunked == unchunked for
// 0, 1, max, max+1 and long inputs; the output is fully written.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "builtin_runner_util.h"
#include "moert/chunking.h"
#include "moert/error.h"
#include "moert/quant.h"
#include "moert/synthetic.h"

using namespace moert;

namespace {

constexpr int64_t kChunk = 8;

LayerSpec layer(moert_dtype act, int64_t max_tokens) {
  LayerSpec l;
  l.name = "chunk";
  l.desc.num_experts = 6;
  l.desc.num_local_experts = 6;
  l.desc.top_k = 2;
  l.desc.hidden_size = 32;
  l.desc.intermediate_size = 48;
  l.desc.renormalize = 1;
  l.desc.activation_dtype = act;
  l.desc.weight_dtype = kBF16;
  l.desc.max_num_tokens = max_tokens;
  return l;
}

moert_tensor host_view(HostTensor& t) {
  moert_tensor v = t.view();
  return v;
}

// Runs one forward on `runner` (CPU plugin: host memory is device memory)
// with the output poisoned first; returns the output.
HostTensor run(Runner& runner, const LayerSpec& l, int64_t tokens, const moert_shared_expert* shared = nullptr) {
  HostTensor x = make_random_hidden(l, tokens, 17);
  HostTensor logits = make_random_logits(l, tokens, 17);
  HostTensor out(l.desc.activation_dtype, {tokens, l.desc.hidden_size});
  for (int64_t i = 0; i < out.numel(); ++i)
    store_from_f32(out.data(), out.dtype(), i, std::numeric_limits<float>::quiet_NaN());
  moert_forward_args args{};
  args.struct_size = sizeof args;
  args.hidden_states = host_view(x);
  args.router_logits = host_view(logits);
  args.output = host_view(out);
  args.shared_expert = shared;
  runner.forward(args);
  runner.synchronize();
  for (int64_t i = 0; i < out.numel(); ++i) {
    const float v = load_as_f32(out.data(), out.dtype(), i);
    EXPECT_TRUE(std::isfinite(v)) << "output element " << i << " not written";
    if (!std::isfinite(v)) break;
  }
  return out;
}

struct Pair {
  std::unique_ptr<RunnerInstance> whole;  // max_num_tokens large enough for all
  std::unique_ptr<ChunkingRunner> chunked;
};

Pair make_pair_of_runners(moert_dtype act) {
  const LayerSpec big = layer(act, 1024), small = layer(act, kChunk);
  Pair p;
  p.whole = moert_test::make_default_runner(big);
  p.chunked = std::make_unique<ChunkingRunner>(moert_test::make_default_runner(small));
  const WeightSet w = make_random_weights(big, 5);
  p.whole->set_weights(w.view());
  p.chunked->set_weights(w.view());
  return p;
}

}  // namespace

TEST(Chunking, ChunkedEqualsUnchunkedAtTheEdges) {
  for (moert_dtype act : {kF32, kBF16}) {
    Pair p = make_pair_of_runners(act);
    EXPECT_EQ(p.chunked->max_num_tokens(), -1);
    EXPECT_EQ(p.chunked->chunk_tokens(), kChunk);
    EXPECT_EQ(p.chunked->name(), "chunked(default)");
    const LayerSpec l = layer(act, 1024);
    for (int64_t tokens : {int64_t{1}, kChunk, kChunk + 1, 5 * kChunk + 3, int64_t{301}}) {
      SCOPED_TRACE("tokens " + std::to_string(tokens) + " " + dtype_name(act));
      const int64_t before = p.chunked->inner_forwards();
      const HostTensor a = run(*p.whole, l, tokens);
      const HostTensor b = run(*p.chunked, l, tokens);
      EXPECT_EQ(p.chunked->inner_forwards() - before, (tokens + kChunk - 1) / kChunk);
      // Every token's result depends on that token only: bit-identical.
      ASSERT_EQ(a.nbytes(), b.nbytes());
      EXPECT_EQ(0, std::memcmp(a.data(), b.data(), a.nbytes()));
    }
  }
}

TEST(Chunking, SharedExpertIsAppliedToEveryChunk) {
  Pair p = make_pair_of_runners(kF32);
  const LayerSpec l = layer(kF32, 1024);
  // A shared expert in activation dtype (f32): w13 [2*24, 32], w2 [32, 24], gate [32].
  HostTensor w13(kF32, {48, 32}), w2(kF32, {32, 24}), gate(kF32, {32});
  const HostTensor noise = make_random_hidden(layer(kF32, 1024), 48 + 32 + 1, 99);  // rows of 32 values
  std::memcpy(w13.data(), noise.data(), w13.nbytes());
  std::memcpy(w2.data(), static_cast<const char*>(noise.data()) + w13.nbytes(), w2.nbytes());
  std::memcpy(gate.data(), static_cast<const char*>(noise.data()) + w13.nbytes() + w2.nbytes(), gate.nbytes());
  for (int64_t i = 0; i < w13.numel(); ++i) w13.as<float>()[i] *= 0.2f;
  for (int64_t i = 0; i < w2.numel(); ++i) w2.as<float>()[i] *= 0.2f;
  moert_shared_expert shared{};
  shared.struct_size = sizeof shared;
  shared.intermediate_size = 24;
  shared.activation = MOERT_ACT_SILU_AND_MUL;
  shared.w13 = w13.view();
  shared.w2 = w2.view();
  shared.gate = gate.view();
  const HostTensor plain = run(*p.whole, l, 21);
  const HostTensor a = run(*p.whole, l, 21, &shared);
  const HostTensor b = run(*p.chunked, l, 21, &shared);
  EXPECT_EQ(0, std::memcmp(a.data(), b.data(), a.nbytes()));
  EXPECT_NE(0, std::memcmp(a.data(), plain.data(), a.nbytes()));  // the shared expert did contribute
}

TEST(Chunking, ZeroTokensStillReachTheInnerRunner) {
  Pair p = make_pair_of_runners(kF32);
  const LayerSpec l = layer(kF32, 1024);
  const int64_t before = p.chunked->inner_forwards();
  const HostTensor out = run(*p.chunked, l, 0);
  EXPECT_EQ(out.numel(), 0);
  EXPECT_EQ(p.chunked->inner_forwards() - before, 1);
}

TEST(Chunking, HonoursTheCallersByteOffset) {
  Pair p = make_pair_of_runners(kF32);
  const LayerSpec l = layer(kF32, 1024);
  const int64_t tokens = 19, h = 32;
  const HostTensor expect = run(*p.whole, l, tokens);
  // The same inputs placed 3 rows into larger buffers, addressed by byte_offset.
  HostTensor x = make_random_hidden(l, tokens, 17), logits = make_random_logits(l, tokens, 17);
  HostTensor xb(kF32, {tokens + 3, h}), lb(kF32, {tokens + 3, 6}), ob(kF32, {tokens + 3, h});
  std::memcpy(static_cast<char*>(xb.data()) + 3 * h * 4, x.data(), x.nbytes());
  std::memcpy(static_cast<char*>(lb.data()) + 3 * 6 * 4, logits.data(), logits.nbytes());
  int64_t xs[2] = {tokens, h}, ls[2] = {tokens, 6}, os[2] = {tokens, h};
  moert_forward_args args{};
  args.struct_size = sizeof args;
  args.hidden_states = xb.view();
  args.hidden_states.shape = xs;
  args.hidden_states.byte_offset = 3 * h * 4;
  args.router_logits = lb.view();
  args.router_logits.shape = ls;
  args.router_logits.byte_offset = 3 * 6 * 4;
  args.output = ob.view();
  args.output.shape = os;
  args.output.byte_offset = 3 * h * 4;
  p.chunked->forward(args);
  p.chunked->synchronize();
  EXPECT_EQ(0, std::memcmp(static_cast<char*>(ob.data()) + 3 * h * 4, expect.data(), expect.nbytes()));
  for (int64_t i = 0; i < 3 * h; ++i) EXPECT_EQ(ob.as<float>()[i], 0.0f) << "wrote before byte_offset";
}

TEST(Chunking, BadArgumentsAreNamed) {
  Pair p = make_pair_of_runners(kF32);
  const LayerSpec l = layer(kF32, 1024);
  HostTensor x = make_random_hidden(l, 4, 1), logits = make_random_logits(l, 3, 1), out(kF32, {4, 32});
  moert_forward_args args{};
  args.struct_size = sizeof args;
  args.hidden_states = x.view();
  args.router_logits = logits.view();
  args.output = out.view();
  try {
    p.chunked->forward(args);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("router_logits has 3 rows, expected 4"), std::string::npos) << e.what();
  }
  EXPECT_THROW(ChunkingRunner(nullptr), Error);
}
