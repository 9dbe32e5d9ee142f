// The registry: discovery order, the built-in default, overriding it,
// fallback explanations, duplicate names, name clashes, shutdown, and
// building runners for a choice.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "moert/chunking.h"
#include "moert/host_tensor.h"
#include "moert/quant.h"
#include "moert/registry.h"
#include "moert/synthetic.h"
#include "table_fixture.h"

namespace moert {
namespace {

namespace fs = std::filesystem;
using namespace moert::testing;

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

std::string test_plugin(const std::string& name) {
  return std::string(MOERT_TEST_PLUGIN_DIR) + "/libmoert-test-" + name + ".so";
}
#define REQUIRE_TEST_PLUGIN(name)                                                          \
  if (!fs::exists(test_plugin(name)))                                                      \
    GTEST_SKIP() << test_plugin(name) << " not built (target moert-test-plugins)"

RegistryOptions no_search() {
  RegistryOptions o;
  o.use_env = false;
  o.use_install_dir = false;
  o.use_exe_dir = false;
  return o;
}

LayerSpec small_layer(moert_dtype dtype) {
  LayerSpec l;
  l.name = "small";
  l.desc.num_experts = 8;
  l.desc.top_k = 2;
  l.desc.hidden_size = 32;
  l.desc.intermediate_size = 64;
  l.desc.activation_dtype = dtype;
  l.desc.weight_dtype = dtype;
  l.desc.renormalize = 1;
  l.desc.max_num_tokens = 16;
  l.desc.num_local_experts = 8;
  return l;
}

// A fresh folder under the temp dir, removed at the end of the test.
struct TempDir {
  fs::path path;
  explicit TempDir(const std::string& tag) {
    path = fs::temp_directory_path() / ("moert_reg_" + tag + "_" + std::to_string(::getpid()));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string copy_in(const std::string& from, const std::string& name) const {
    fs::copy_file(from, path / name, fs::copy_options::overwrite_existing);
    return (path / name).string();
  }
};

TEST(Registry, SearchDirsInDocumentedOrder) {
  RegistryOptions o;
  o.plugin_dirs = {"/a", "/b"};
  o.exe_dir = "/opt/moert/bin";
  ::setenv("MOERT_PLUGIN_PATH", "/c::/d", 1);
  std::vector<SearchDir> dirs = Registry::search_dirs(o);
  ::unsetenv("MOERT_PLUGIN_PATH");
  ASSERT_EQ(dirs.size(), 6u);
  const char* want[][2] = {{"/a", "plugin_dirs"}, {"/b", "plugin_dirs"}, {"/c", "MOERT_PLUGIN_PATH"},
                           {"/d", "MOERT_PLUGIN_PATH"}, {"/opt/moert/lib/moert/plugins", "install"},
                           {"/opt/moert/bin", "executable dir"}};
  for (size_t i = 0; i < dirs.size(); ++i) {
    EXPECT_EQ(dirs[i].path, want[i][0]);
    EXPECT_EQ(dirs[i].origin, want[i][1]);
  }
  o.use_env = false;
  o.use_exe_dir = false;
  EXPECT_EQ(Registry::search_dirs(o).size(), 3u);
}

TEST(Registry, BuiltinComesFirstWithDefaultAndReference) {
  Registry r;
  r.discover(no_search());
  ASSERT_GE(r.plugins().size(), 1u);
  const PluginRecord& core = *r.plugins()[0];
  EXPECT_TRUE(core.builtin);
  EXPECT_TRUE(core.loaded()) << core.reason;
  EXPECT_EQ(core.path, "<builtin>");
  EXPECT_EQ(r.runner_names(), std::vector<std::string>{"default"});
  EXPECT_EQ(r.experts_names(), std::vector<std::string>{"reference"});
  Resolution res = r.resolve({"default"}, small_layer(kBF16));
  ASSERT_TRUE(res.found) << res.explain();
  EXPECT_EQ(res.choice.plugin, &core);
  EXPECT_TRUE(res.skipped.empty());
  EXPECT_TRUE(r.shutdown().empty());
}

TEST(Registry, PluginDefaultReplacesCoreDefault) {
  REQUIRE_TEST_PLUGIN("good");
  Registry r;
  r.add_builtin();
  const PluginRecord& good = r.add_file(test_plugin("good"));
  ASSERT_TRUE(good.loaded()) << good.reason;
  Resolution res = r.resolve({"default"}, small_layer(kF32));
  ASSERT_TRUE(res.found) << res.explain();
  EXPECT_EQ(res.choice.plugin, &good);
  // The core's default stays reachable explicitly.
  for (const char* explicit_core : {"default@core", "default@builtin"}) {
    res = r.resolve({explicit_core}, small_layer(kF32));
    ASSERT_TRUE(res.found) << res.explain();
    EXPECT_TRUE(res.choice.plugin->builtin);
  }
  res = r.resolve({"default@libmoert-test-good.so"}, small_layer(kF32));
  ASSERT_TRUE(res.found) << res.explain();
  EXPECT_EQ(res.choice.plugin, &good);
  EXPECT_TRUE(r.shutdown().empty());
}

TEST(Registry, FallbackExplainsEverySkippedCandidate) {
  REQUIRE_TEST_PLUGIN("good");
  REQUIRE_TEST_PLUGIN("unusable");
  REQUIRE_TEST_PLUGIN("v1_0");
  Registry r;
  r.add_builtin();
  r.add_file(test_plugin("v1_0"));
  r.add_file(test_plugin("unusable"));
  r.add_file(test_plugin("good"));
  // legacy (the ABI 1.0 plugin) runs f32 only; the layer is bf16.
  Resolution res = r.resolve({"cuda", "test-unusable", "legacy", "experts:nope", "default"}, small_layer(kBF16));
  ASSERT_TRUE(res.found) << res.explain();
  EXPECT_EQ(res.choice.plugin->name(), "test-good");
  ASSERT_EQ(res.skipped.size(), 4u) << res.explain();
  EXPECT_EQ(res.skipped[0], "cuda: unknown name: no loaded plugin registers runner 'cuda' (known runners: default, legacy)");
  EXPECT_TRUE(contains(res.skipped[1], "test-unusable: plugin rejected: " + test_plugin("unusable") +
                                           ": probe: plugin 'test-unusable' is not usable on this machine: no FooAccelerator device found"))
      << res.skipped[1];
  EXPECT_TRUE(contains(res.skipped[2], "legacy (plugin 'test-v1_0'")) << res.skipped[2];
  EXPECT_TRUE(contains(res.skipped[2], "): can_implement: ")) << res.skipped[2];
  EXPECT_TRUE(contains(res.skipped[3], "experts:nope: unknown name: no loaded plugin registers experts kernel 'nope'"))
      << res.skipped[3];
  const std::string text = res.explain();
  EXPECT_TRUE(contains(text, "chosen  default: default (plugin 'test-good'")) << text;
  EXPECT_TRUE(r.shutdown().empty());
}

TEST(Registry, NothingFitsListsAllReasons) {
  Registry r;
  r.add_builtin();
  Resolution res = r.resolve({"cuda", "rocm"}, small_layer(kF32));
  EXPECT_FALSE(res.found);
  EXPECT_EQ(res.skipped.size(), 2u);
  r.shutdown();
}

TEST(Registry, DuplicatePluginNameFirstFoundWins) {
  REQUIRE_TEST_PLUGIN("good");
  REQUIRE_TEST_PLUGIN("twin");
  TempDir a("a"), b("b");
  // test-twin calls itself "test-good".
  const std::string dup = a.copy_in(test_plugin("twin"), "libmoert-test-twin.so");
  const std::string good = b.copy_in(test_plugin("good"), "libmoert-test-good.so");
  for (bool dup_first : {true, false}) {
    SCOPED_TRACE(dup_first ? "duplicate first" : "good first");
    Registry r;
    RegistryOptions o = no_search();
    o.plugin_dirs = dup_first ? std::vector<std::string>{a.path.string(), b.path.string()}
                              : std::vector<std::string>{b.path.string(), a.path.string()};
    r.discover(o);
    ASSERT_EQ(r.plugins().size(), 3u);
    const PluginRecord& first = *r.plugins()[1];
    const PluginRecord& second = *r.plugins()[2];
    EXPECT_EQ(first.path, dup_first ? dup : good);
    EXPECT_TRUE(first.loaded()) << first.reason;
    EXPECT_EQ(first.origin, "plugin_dirs");
    EXPECT_EQ(second.kind, RejectKind::kDuplicateName);
    EXPECT_EQ(second.reason, second.path + ": duplicate plugin name 'test-good': already loaded from " + first.path);
    EXPECT_TRUE(r.shutdown().empty());
  }
}

TEST(Registry, EnvPathComesAfterPluginDirs) {
  REQUIRE_TEST_PLUGIN("good");
  REQUIRE_TEST_PLUGIN("twin");
  TempDir a("env_a"), b("env_b");
  const std::string good = a.copy_in(test_plugin("good"), "libmoert-test-good.so");
  const std::string dup = b.copy_in(test_plugin("twin"), "libmoert-test-twin.so");
  Registry r;
  RegistryOptions o = no_search();
  o.use_env = true;
  o.plugin_dirs = {a.path.string()};
  ::setenv("MOERT_PLUGIN_PATH", b.path.string().c_str(), 1);
  r.discover(o);
  ::unsetenv("MOERT_PLUGIN_PATH");
  ASSERT_EQ(r.plugins().size(), 3u);
  EXPECT_EQ(r.plugins()[1]->path, good);
  EXPECT_TRUE(r.plugins()[1]->loaded());
  EXPECT_EQ(r.plugins()[2]->origin, "MOERT_PLUGIN_PATH");
  EXPECT_EQ(r.plugins()[2]->kind, RejectKind::kDuplicateName);
  r.shutdown();
}

TEST(Registry, EveryTestPluginKeepsItsReason) {
  REQUIRE_TEST_PLUGIN("notso");
  Registry r;
  RegistryOptions o = no_search();
  o.plugin_dirs = {MOERT_TEST_PLUGIN_DIR};
  r.discover(o);
  std::map<std::string, RejectKind> kinds;
  for (const auto& p : r.plugins()) kinds[fs::path(p->path).filename().string()] = p->kind;
  EXPECT_EQ(kinds["libmoert-test-notso.so"], RejectKind::kNotSharedObject);
  EXPECT_EQ(kinds["libmoert-test-noentry.so"], RejectKind::kNoEntrySymbol);
  EXPECT_EQ(kinds["libmoert-test-abi-major.so"], RejectKind::kAbiMajorMismatch);
  EXPECT_EQ(kinds["libmoert-test-abi-minor.so"], RejectKind::kAbiMinorOutOfWindow);
  EXPECT_EQ(kinds["libmoert-test-small-table.so"], RejectKind::kStructTooSmall);
  EXPECT_EQ(kinds["libmoert-test-unusable.so"], RejectKind::kProbeUnusable);
  EXPECT_EQ(kinds["libmoert-test-init-fails.so"], RejectKind::kInitFailed);
  EXPECT_EQ(kinds["libmoert-test-v1_0.so"], RejectKind::kNone);
  // Name order: test-good is found first; test-twin (also named "test-good") is the duplicate.
  EXPECT_EQ(kinds["libmoert-test-good.so"], RejectKind::kNone);
  EXPECT_EQ(kinds["libmoert-test-twin.so"], RejectKind::kDuplicateName);
  for (const auto& p : r.plugins())
    if (!p->loaded()) EXPECT_TRUE(contains(p->reason, p->path + ": ")) << p->reason;
  r.shutdown();
}

moert_runner_ops g_fast = runner_ops("fast");
const moert_runner_ops* const g_fast_list[] = {&g_fast};
moert_plugin_api g_p1, g_p2;
const moert_plugin_api* entry_p1(uint32_t, uint32_t, const moert_host_services*) { return &g_p1; }
const moert_plugin_api* entry_p2(uint32_t, uint32_t, const moert_host_services*) { return &g_p2; }

TEST(Registry, NameClashNamesBothFilesUnlessConfigPicks) {
  g_p1 = valid_table("p1", g_fast_list, 1);
  g_p2 = valid_table("p2", g_fast_list, 1);
  Registry r;
  r.add_entry(&entry_p1, "/x/libmoert-p1.so");
  r.add_entry(&entry_p2, "/y/libmoert-p2.so");
  try {
    r.resolve({"fast"}, small_layer(kF32));
    FAIL() << "no clash reported";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()),
              "runner name 'fast' is registered by 2 plugins: 'p1' (/x/libmoert-p1.so) and 'p2' "
              "(/y/libmoert-p2.so); choose one in the config with 'fast@p1' or 'fast@p2'");
  }
  Resolution res = r.resolve({"fast@p2"}, small_layer(kF32));
  ASSERT_TRUE(res.found) << res.explain();
  EXPECT_EQ(res.choice.plugin->name(), "p2");
  res = r.resolve({"fast@/x/libmoert-p1.so"}, small_layer(kF32));
  ASSERT_TRUE(res.found) << res.explain();
  EXPECT_EQ(res.choice.plugin->name(), "p1");
  // can_implement's reason is kept.
  res = r.resolve({"fast@p1"}, small_layer(kBF16));
  EXPECT_FALSE(res.found);
  ASSERT_EQ(res.skipped.size(), 1u);
  EXPECT_EQ(res.skipped[0], "fast@p1 (plugin 'p1' 9.9, /x/libmoert-p1.so): can_implement: fixture runner supports only f32 activations");
  res = r.resolve({"fast@p3"}, small_layer(kF32));
  ASSERT_EQ(res.skipped.size(), 1u);
  EXPECT_EQ(res.skipped[0], "fast@p3: unknown name: no loaded plugin matching 'p3' registers runner 'fast'");
  const int before = g_shutdowns;
  EXPECT_TRUE(r.shutdown().empty());
  EXPECT_EQ(g_shutdowns, before + 2);
  EXPECT_TRUE(r.shutdown().empty());  // once only
  EXPECT_EQ(g_shutdowns, before + 2);
}

TEST(Registry, BackendOptionsReachCanImplement) {
  Registry r;
  r.add_builtin();
  BackendOptions b{{"core", {{"a", "1"}}}, {"default", {{"a", "2"}, {"b", "3"}}}};
  Resolution res = r.resolve({"default"}, small_layer(kF32), b);
  ASSERT_TRUE(res.found) << res.explain();
  EXPECT_EQ(res.choice.layer.options.at("a"), "2");
  EXPECT_EQ(res.choice.layer.options.at("b"), "3");
  r.shutdown();
}

// Output of a forward of `runner` on seeded inputs, on the host, as f32.
std::vector<float> run_forward(Runner& runner, const LayerSpec& layer, int64_t tokens) {
  WeightSet w = make_random_weights(layer, 1);
  runner.set_weights(w.view());
  HostTensor x = make_random_hidden(layer, tokens, 2), g = make_random_logits(layer, tokens, 3);
  HostTensor out(layer.desc.activation_dtype, {tokens, layer.desc.hidden_size});
  // The core plugin is a CPU plugin: its device memory is host memory.
  EXPECT_EQ(runner.device_api()->device_type, MOERT_DEVICE_CPU);
  moert_forward_args args{};
  args.struct_size = sizeof args;
  args.hidden_states = x.view();
  args.router_logits = g.view();
  args.output = out.view();
  for (int64_t i = 0; i < out.numel(); ++i) store_from_f32(out.data(), out.dtype(), i, NAN);
  runner.forward(args);
  runner.synchronize();
  std::vector<float> v(static_cast<size_t>(out.numel()));
  convert_to_f32(out.data(), out.dtype(), out.numel(), v.data());
  return v;
}

TEST(Registry, CreateRunnerChunksBeyondMaxTokens) {
  Registry r;
  r.add_builtin();
  LayerSpec layer = small_layer(kF32);
  layer.desc.max_num_tokens = 0;  // left open: sized to the run
  Resolution res = r.resolve({"default"}, layer_for_tokens(layer, 8));
  ASSERT_TRUE(res.found) << res.explain();
  std::vector<float> whole, chunked;
  {
    std::unique_ptr<Runner> runner = r.create_runner(res.choice, 8);
    EXPECT_EQ(runner->name(), "default");
    EXPECT_EQ(runner->max_num_tokens(), 8);
    whole = run_forward(*runner, layer, 8);
  }
  {
    RunnerChoice small = res.choice;
    small.layer.desc.max_num_tokens = 3;
    std::unique_ptr<Runner> runner = r.create_runner(small, 8);
    EXPECT_EQ(runner->name(), "chunked(default)");
    chunked = run_forward(*runner, layer, 8);
    EXPECT_EQ(dynamic_cast<ChunkingRunner&>(*runner).inner_forwards(), 3);
  }
  ASSERT_EQ(whole.size(), chunked.size());
  double sum_abs = 0;
  for (size_t i = 0; i < whole.size(); ++i) {
    ASSERT_TRUE(std::isfinite(whole[i])) << i;
    EXPECT_FLOAT_EQ(whole[i], chunked[i]) << i;
    sum_abs += std::fabs(whole[i]);
  }
  EXPECT_GT(sum_abs, 0.0);
  EXPECT_TRUE(r.shutdown().empty());
}

}  // namespace
}  // namespace moert

namespace moert {
namespace {

TEST(Registry, SameTableTwiceIsNotShutDownUnderTheFirst) {
  g_p1 = valid_table("p1", g_fast_list, 1);
  Registry r;
  const PluginRecord& a = r.add_builtin();
  EXPECT_EQ(&r.add_builtin(), &a);  // once per registry
  const int before = g_shutdowns;
  r.add_entry(&entry_p1, "first");
  const PluginRecord& dup = r.add_entry(&entry_p1, "second");
  EXPECT_EQ(dup.kind, RejectKind::kDuplicateName);
  EXPECT_EQ(g_shutdowns, before);  // the shared table stays initialized
  EXPECT_TRUE(r.resolve({"fast"}, small_layer(kF32)).found);
  r.shutdown();
  EXPECT_EQ(g_shutdowns, before + 1);
}

}  // namespace
}  // namespace moert
