#include "dynamic_tests.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <functional>
#include <thread>

#include "any_ops.h"
#include "harness.h"
#include "moert/expert_map.h"
#include "moert/synthetic.h"

namespace moert_conformance {

using moert::operator==;
namespace {

constexpr uint64_t kSeed = 20241122;

class DynamicTest : public ConformanceTest {
 public:
  explicit DynamicTest(std::function<void()> body) : body_(std::move(body)) {}
  void TestBody() override { body_(); }

 private:
  std::function<void()> body_;
};

void add_test(const std::string& suite, const std::string& name, std::function<void()> body) {
  testing::RegisterTest(suite.c_str(), name.c_str(), nullptr, nullptr, __FILE__, __LINE__,
                        [body]() -> ConformanceTest* { return new DynamicTest(body); });
}

std::vector<int64_t> token_counts(const moert::LayerSpec& layer) {
  return {0, 1, 7, layer.desc.max_num_tokens};
}

std::string fmt(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.3g", v);
  return b;
}

// The checks every forward/apply result must pass. `what` names the case.
void expect_matches(const std::string& who, const std::string& what, const Outcome& o,
                    const Outcome& ref, double tol) {
  EXPECT_EQ(o.unwritten, 0) << who << ": " << o.unwritten << " of " << o.out.size()
                            << " output elements were not written (still NaN poison) for " << what;
  EXPECT_FALSE(o.guard_touched) << who << " wrote past the end of its output for " << what;
  if (o.unwritten != 0) return;
  const double err = relative_error(o.out, ref.out);
  EXPECT_LE(err, tol) << who << ": relative error " << fmt(err) << " > " << fmt(tol) << " for "
                      << what;
}

// The layer a runner/kernel accepts for `combo`, or a skip with the reason.
bool accepted_layer(const std::function<moert_error*(const moert_layer_desc*)>& can,
                    const std::string& who, const Combo& combo, moert::LayerSpec* layer,
                    std::string* skip) {
  Accepted a = find_accepted(can, {combo});
  if (!a.found) {
    *skip = who + " declines " + combo.name() + " (claimed, but can_implement says: " + a.reason + ")";
    return false;
  }
  *layer = make_layer(combo, a.shape);
  return true;
}

bool reference_accepts(const moert::LayerSpec& layer, bool experts, std::string* skip) {
  const moert_plugin_api* ref = subject().reference;
  moert_error* e = experts ? reference_experts()->can_implement(layer.c_desc())
                           : reference_runner()->can_implement(layer.c_desc());
  if (e == nullptr) return true;
  *skip = "the core's reference cannot run this layer: " + take_error(ref, e);
  return false;
}

// ---------------- forward vs the reference, per claimed combination ----------------
void forward_combo(const moert_runner_ops* ops, const Combo& combo) {
  const std::string who = std::string("runner '") + ops->name + "' forward";
  moert::LayerSpec layer;
  std::string skip;
  if (!accepted_layer(ops->can_implement, who, combo, &layer, &skip)) GTEST_SKIP() << skip;
  if (!reference_accepts(layer, false, &skip)) GTEST_SKIP() << skip;
  RunnerHarness sub(subject().api, ops, layer);
  RunnerHarness ref(subject().reference, reference_runner(), layer);
  const moert::WeightSet w = moert::make_random_weights(layer, kSeed);
  sub.set_weights(w);
  ref.set_weights(w);
  for (int64_t T : token_counts(layer)) {
    const auto hidden = moert::make_random_hidden(layer, T, kSeed + 1 + T);
    const auto logits = moert::make_random_logits(layer, T, kSeed + 2 + T);
    const Outcome r = ref.forward(hidden, logits);
    const Outcome o = sub.forward(hidden, logits);
    expect_matches(who, combo.name() + " T=" + std::to_string(T), o, r, tolerance(combo));
  }
}

// ---------------- experts kernels vs the reference kernel ----------------
void apply_combo(const moert_experts_ops* ops, const Combo& combo) {
  const std::string who = std::string("experts '") + ops->name + "' apply";
  moert::LayerSpec layer;
  std::string skip;
  if (!accepted_layer(ops->can_implement, who, combo, &layer, &skip)) GTEST_SKIP() << skip;
  if (!reference_accepts(layer, true, &skip)) GTEST_SKIP() << skip;
  ExpertsHarness sub(subject().api, ops, layer);
  ExpertsHarness ref(subject().reference, reference_experts(), layer);
  const moert::WeightSet w = moert::make_random_weights(layer, kSeed);
  sub.set_weights(w);
  ref.set_weights(w);
  for (int64_t T : token_counts(layer)) {
    const auto hidden = moert::make_random_hidden(layer, T, kSeed + 1 + T);
    const auto logits = moert::make_random_logits(layer, T, kSeed + 2 + T);
    moert::HostTensor ids, weights;
    host_topk(layer, logits, &ids, &weights);
    const Outcome r = ref.apply(hidden, ids, weights);
    const Outcome o = sub.apply(hidden, ids, weights);
    expect_matches(who, combo.name() + " T=" + std::to_string(T), o, r, tolerance(combo));
  }
}

// First claimed combination a runner accepts, with a non-custom router.
bool first_accepted(const moert_runner_ops* ops, Combo* combo, moert::LayerSpec* layer,
                    std::string* reason) {
  std::vector<Combo> plain;
  for (const Combo& c : subject_combos())
    if (c.router != "custom" && !c.bias && !c.interleaved) plain.push_back(c);
  Accepted a = find_accepted(ops->can_implement, plain);
  if (!a.found) {
    *reason = a.reason.empty() ? "no claimed combination" : a.reason;
    return false;
  }
  *combo = plain[a.combo_index];
  *layer = make_layer(*combo, a.shape);
  return true;
}

// ---------------- expert parallelism: two ranks add up to the whole layer ----------------
void expert_map_test(const moert_runner_ops* ops) {
  const std::string who = std::string("runner '") + ops->name + "' forward with an expert map";
  Combo combo;
  moert::LayerSpec full;
  std::string reason;
  if (!first_accepted(ops, &combo, &full, &reason)) GTEST_SKIP() << "no accepted layer: " << reason;
  const int32_t E = full.desc.num_experts, ep = 2;
  std::vector<std::unique_ptr<RunnerHarness>> ranks;
  std::vector<moert::WeightSet> weights;
  for (int32_t r = 0; r < ep; ++r) {
    moert::LayerSpec part = full;
    part.desc.ep_rank = r;
    part.desc.ep_size = ep;
    part.expert_map = moert::make_expert_map(E, r, ep, moert::Placement::kRoundRobin);
    part.desc.num_local_experts = moert::count_local_experts(part.expert_map);
    moert_error* e = ops->can_implement(part.c_desc());
    ASSERT_EQ(e, nullptr) << who << ": the plugin claims 'expert_map' but can_implement refuses rank "
                          << r << " of " << ep << " for " << combo.name() << ": "
                          << take_error(subject().api, e);
    ranks.push_back(std::make_unique<RunnerHarness>(subject().api, ops, part));
    weights.push_back(moert::make_random_weights(part, kSeed));  // local experts only
    ranks.back()->set_weights(weights.back());
  }
  RunnerHarness ref(subject().reference, reference_runner(), full);
  const moert::WeightSet w = moert::make_random_weights(full, kSeed);
  ref.set_weights(w);
  for (int64_t T : {int64_t{7}, full.desc.max_num_tokens}) {
    const auto hidden = moert::make_random_hidden(full, T, kSeed + 5 + T);
    const auto logits = moert::make_random_logits(full, T, kSeed + 6 + T);
    Outcome sum = ranks[0]->forward(hidden, logits);
    for (int32_t r = 1; r < ep; ++r) {
      const Outcome o = ranks[r]->forward(hidden, logits);
      sum.unwritten += o.unwritten;
      sum.guard_touched |= o.guard_touched;
      for (size_t i = 0; i < sum.out.size(); ++i) sum.out[i] += o.out[i];
    }
    // Each rank rounds its partial output once: allow twice the bound.
    expect_matches(who, combo.name() + " ep_size=2 (sum of ranks) T=" + std::to_string(T), sum,
                   ref.forward(hidden, logits), 2 * tolerance(combo));
  }
}

// ---------------- shared expert as a forward parameter ----------------
void shared_expert_test(const moert_runner_ops* ops, bool with_gate) {
  const std::string who = std::string("runner '") + ops->name + "' forward with a shared expert";
  Combo combo;
  moert::LayerSpec layer;
  std::string reason;
  if (!first_accepted(ops, &combo, &layer, &reason)) GTEST_SKIP() << "no accepted layer: " << reason;
  RunnerHarness sub(subject().api, ops, layer);
  RunnerHarness ref(subject().reference, reference_runner(), layer);
  const moert::WeightSet w = moert::make_random_weights(layer, kSeed);
  sub.set_weights(w);
  ref.set_weights(w);
  const SharedHost shared = make_shared_expert(layer, with_gate, kSeed + 9);
  for (int64_t T : token_counts(layer)) {
    const auto hidden = moert::make_random_hidden(layer, T, kSeed + 7 + T);
    const auto logits = moert::make_random_logits(layer, T, kSeed + 8 + T);
    expect_matches(who, combo.name() + (with_gate ? " gated" : "") + " T=" + std::to_string(T),
                   sub.forward(hidden, logits, &shared), ref.forward(hidden, logits, &shared),
                   tolerance(combo));
  }
}

// ---------------- separate instances on separate threads ----------------
void threads_test(const moert_runner_ops* ops) {
  const std::string who = std::string("runner '") + ops->name + "'";
  Combo combo;
  moert::LayerSpec layer;
  std::string reason;
  if (!first_accepted(ops, &combo, &layer, &reason)) GTEST_SKIP() << "no accepted layer: " << reason;
  constexpr int kThreads = 4, kRounds = 3;
  const moert::WeightSet w = moert::make_random_weights(layer, kSeed);
  const int64_t T = layer.desc.max_num_tokens;
  std::vector<moert::HostTensor> hidden, logits;
  std::vector<Outcome> expected;
  {
    RunnerHarness ref(subject().reference, reference_runner(), layer);
    ref.set_weights(w);
    for (int i = 0; i < kThreads; ++i) {
      hidden.push_back(moert::make_random_hidden(layer, T, kSeed + 100 + i));
      logits.push_back(moert::make_random_logits(layer, T, kSeed + 200 + i));
      expected.push_back(ref.forward(hidden[i], logits[i]));
    }
  }
  std::vector<std::string> failures(kThreads);
  std::vector<std::thread> pool;
  for (int i = 0; i < kThreads; ++i)
    pool.emplace_back([&, i] {
      try {
        RunnerHarness sub(subject().api, ops, layer);  // its own instance and stream
        sub.set_weights(w);
        for (int round = 0; round < kRounds; ++round) {
          const Outcome o = sub.forward(hidden[i], logits[i]);
          const double err = relative_error(o.out, expected[i].out);
          if (o.unwritten || o.guard_touched || !(err <= tolerance(combo))) {
            failures[i] = "thread " + std::to_string(i) + " round " + std::to_string(round) +
                          ": relative error " + fmt(err) + " (bound " + fmt(tolerance(combo)) +
                          "), unwritten " + std::to_string(o.unwritten);
            return;
          }
        }
      } catch (const std::exception& e) {
        failures[i] = "thread " + std::to_string(i) + ": " + e.what();
      }
    });
  for (auto& t : pool) t.join();
  for (const auto& f : failures)
    EXPECT_TRUE(f.empty()) << who << " with " << kThreads << " concurrent instances ("
                           << combo.name() << " T=" << T << "): " << f;
}

// ---------------- repeated create/destroy: bounded memory ----------------
long resident_kib() {
  std::ifstream statm("/proc/self/statm");
  long pages_total = 0, pages_resident = 0;
  statm >> pages_total >> pages_resident;
  return pages_resident * (sysconf(_SC_PAGESIZE) / 1024);
}

void lifecycle_test(const moert_runner_ops* ops) {
  const std::string who = std::string("runner '") + ops->name + "'";
  Combo combo;
  moert::LayerSpec layer;
  std::string reason;
  if (!first_accepted(ops, &combo, &layer, &reason)) GTEST_SKIP() << "no accepted layer: " << reason;
  const moert::WeightSet w = moert::make_random_weights(layer, kSeed);
  const auto hidden = moert::make_random_hidden(layer, 1, kSeed);
  const auto logits = moert::make_random_logits(layer, 1, kSeed);
  size_t weight_bytes = w.w13.nbytes() + w.w2.nbytes() + w.w13_scale.nbytes() + w.w2_scale.nbytes();
  constexpr int kWarmup = 20, kCycles = 200;
  long before = 0;
  for (int i = 0; i < kWarmup + kCycles; ++i) {
    if (i == kWarmup) before = resident_kib();
    RunnerHarness sub(subject().api, ops, layer);
    sub.set_weights(w);
    if (i % 50 == 0) sub.forward(hidden, logits);
  }
  const long growth_kib = resident_kib() - before;
  // A leak of the weights copy alone would grow by kCycles * weight_bytes.
  // 8 MiB over 200 cycles catches any per-instance leak above ~40 KiB
  // (a leaked weights copy is far larger).
  const long bound_kib = 8 * 1024;
  std::printf("  %s: %d create/set_weights/destroy cycles, resident memory grew %ld KiB (bound %ld KiB; "
              "weights %zu KiB per instance)\n",
              who.c_str(), kCycles, growth_kib, bound_kib, weight_bytes / 1024);
  EXPECT_LE(growth_kib, bound_kib) << who << ": resident memory grew by " << growth_kib << " KiB over "
                                   << kCycles << " create/set_weights/destroy cycles of " << combo.name()
                                   << " (bound " << bound_kib << " KiB): the instance leaks";
}

}  // namespace

void register_dynamic_tests() {
  const moert_plugin_api* api = subject().api;
  const Claims c = read_claims(api);
  const auto& combos = subject_combos();
  for (int64_t i = 0; i < api->num_runners; ++i) {
    const moert_runner_ops* ops = api->runners[i];
    const std::string r = ops->name;
    for (const Combo& combo : combos)
      add_test("Forward", r + "." + combo.id(), [ops, combo] { forward_combo(ops, combo); });
    if (claims(c, "features", "expert_map"))
      add_test("ExpertMap", r, [ops] { expert_map_test(ops); });
    if (claims(c, "features", "shared_expert")) {
      add_test("SharedExpert", r, [ops] { shared_expert_test(ops, false); });
      add_test("SharedExpert", r + ".gated", [ops] { shared_expert_test(ops, true); });
    }
    add_test("Threads", r, [ops] { threads_test(ops); });
    add_test("Lifecycle", r + ".RepeatedCreateDestroy", [ops] { lifecycle_test(ops); });
  }
  // Experts kernels do not route: one router (the first top-k one claimed) suffices.
  std::string router;
  for (const char* rname : {"softmax_topk", "sigmoid_topk"})
    if (router.empty() && claims(c, "routers", rname)) router = rname;
  for (int64_t i = 0; i < api->num_experts; ++i) {
    const moert_experts_ops* ops = api->experts[i];
    for (const Combo& combo : combos)
      if (combo.router == router)
        add_test("Experts", std::string(ops->name) + "." + combo.id(),
                 [ops, combo] { apply_combo(ops, combo); });
  }
}

}  // namespace moert_conformance
