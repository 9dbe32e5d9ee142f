// YAML config parsing: good files, and every error kind with its
// file:line:column (docs/config.md).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "moert/config.h"
#include "moert/host_tensor.h"

namespace moert {
namespace {

namespace fs = std::filesystem;

// Parses `yaml` as "config.yaml" and returns the ConfigError message ("" if
// it parsed).
std::string error_of(const std::string& yaml) {
  try {
    parse_config(yaml, "config.yaml", "/base");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

bool starts_with(const std::string& s, const std::string& prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

const char* kSmall =
    "layer:\n"
    "  name: small\n"
    "  experts: 8\n"
    "  top_k: 2\n"
    "  hidden: 64\n"
    "  intermediate: 128\n";

TEST(Config, MinimalLayerGetsDefaults) {
  Config c = parse_config(kSmall, "config.yaml", "/base");
  ASSERT_EQ(c.layers.size(), 1u);
  const ConfigLayer& l = c.layers[0];
  EXPECT_EQ(l.spec.name, "small");
  EXPECT_EQ(l.spec.desc.num_experts, 8);
  EXPECT_EQ(l.spec.desc.top_k, 2);
  EXPECT_EQ(l.spec.desc.hidden_size, 64);
  EXPECT_EQ(l.spec.desc.intermediate_size, 128);
  EXPECT_EQ(l.spec.desc.activation, MOERT_ACT_SILU_AND_MUL);
  EXPECT_EQ(l.spec.desc.routing_method, MOERT_ROUTING_TOPK);
  EXPECT_EQ(l.spec.desc.scoring, MOERT_SCORING_SOFTMAX);
  EXPECT_EQ(l.spec.desc.renormalize, 0);
  EXPECT_TRUE(l.spec.desc.activation_dtype == kBF16);
  EXPECT_TRUE(l.spec.desc.weight_dtype == kBF16);
  EXPECT_EQ(l.spec.desc.max_num_tokens, 0);  // left open: sized to the run
  EXPECT_EQ(l.spec.desc.num_local_experts, 8);
  EXPECT_TRUE(l.spec.expert_map.empty());
  EXPECT_EQ(c.runner, std::vector<std::string>{"default"});
  EXPECT_EQ(l.runner, std::vector<std::string>{"default"});
  EXPECT_EQ(c.run.tokens, 16);
  EXPECT_EQ(c.run.weights, "random");
}

TEST(Config, FullLayerAndModel) {
  const char* yaml =
      "plugin_dirs: [plugins, /abs/dir]\n"
      "runner: [cuda, cpu, default]\n"
      "backends:\n"
      "  cuda: {tile: 128, fast: true}\n"
      "layers:\n"
      "  - name: ds\n"
      "    experts: 256\n"
      "    top_k: 8\n"
      "    hidden: 7168\n"
      "    intermediate: 2048\n"
      "    dtype: bf16\n"
      "    routing:\n"
      "      method: grouped_topk\n"
      "      scoring: sigmoid\n"
      "      renormalize: true\n"
      "      num_expert_group: 8\n"
      "      topk_group: 4\n"
      "      routed_scaling_factor: 2.5\n"
      "      score_correction_bias: true\n"
      "    shared_expert: {intermediate: 2048}\n"
      "    max_num_tokens: 512\n"
      "  - name: oss\n"
      "    experts: 128\n"
      "    top_k: 4\n"
      "    hidden: 2880\n"
      "    intermediate: 2880\n"
      "    activation: swigluoai\n"
      "    swiglu: {alpha: 1.702, limit: 7.0}\n"
      "    gate_up_layout: interleaved\n"
      "    bias: true\n"
      "    quant: mxfp4\n"
      "    runner: default\n"
      "    backends:\n"
      "      cuda: {tile: 64}\n"
      "    expert_parallel: {rank: 1, size: 4, placement: round_robin}\n"
      "    eplb: {redundant_experts: 4}\n"
      "run: {tokens: 32, seed: 7, weights: w.safetensors, output: out/o.safetensors}\n";
  Config c = parse_config(yaml, "config.yaml", "/base");
  EXPECT_EQ(c.plugin_dirs, (std::vector<std::string>{"/base/plugins", "/abs/dir"}));
  EXPECT_EQ(c.runner, (std::vector<std::string>{"cuda", "cpu", "default"}));
  ASSERT_EQ(c.layers.size(), 2u);
  const auto& ds = c.layers[0].spec.desc;
  EXPECT_EQ(ds.routing_method, MOERT_ROUTING_GROUPED_TOPK);
  EXPECT_EQ(ds.scoring, MOERT_SCORING_SIGMOID);
  EXPECT_EQ(ds.renormalize, 1);
  EXPECT_EQ(ds.num_expert_group, 8);
  EXPECT_EQ(ds.topk_group, 4);
  EXPECT_FLOAT_EQ(ds.routed_scaling_factor, 2.5f);
  EXPECT_EQ(ds.has_score_correction_bias, 1);
  EXPECT_EQ(ds.max_num_tokens, 512);
  EXPECT_EQ(c.layers[0].shared_expert.intermediate, 2048);
  EXPECT_FALSE(c.layers[0].shared_expert.gate);
  EXPECT_EQ(c.layers[0].runner, c.runner);
  EXPECT_FALSE(c.layers[0].runner_from_layer);
  EXPECT_EQ(c.layers[0].backends.at("cuda").at("tile"), "128");

  const ConfigLayer& oss = c.layers[1];
  EXPECT_EQ(oss.spec.desc.activation, MOERT_ACT_SWIGLUOAI);
  EXPECT_EQ(oss.spec.desc.gate_up_layout, MOERT_GATE_UP_INTERLEAVED);
  EXPECT_EQ(oss.spec.desc.has_bias, 1);
  EXPECT_EQ(oss.spec.desc.quant_scheme, MOERT_QUANT_MXFP4);
  EXPECT_TRUE(oss.spec.desc.weight_dtype == kFP4E2M1);
  EXPECT_FLOAT_EQ(oss.spec.desc.swiglu_limit, 7.0f);
  EXPECT_EQ(oss.runner, std::vector<std::string>{"default"});
  EXPECT_TRUE(oss.runner_from_layer);
  // The layer's own backend options override the top level's, key by key.
  EXPECT_EQ(oss.backends.at("cuda").at("tile"), "64");
  EXPECT_EQ(oss.backends.at("cuda").at("fast"), "true");
  // 132 physical experts round-robin over 4 ranks: rank 1 holds 1, 5, ..., 129.
  EXPECT_EQ(oss.spec.desc.num_redundant_experts, 4);
  ASSERT_EQ(oss.spec.expert_map.size(), 132u);
  EXPECT_EQ(oss.spec.desc.num_local_experts, 33);
  EXPECT_EQ(oss.spec.expert_map[1], 0);
  EXPECT_EQ(oss.spec.expert_map[5], 1);
  EXPECT_EQ(oss.spec.expert_map[0], -1);
  EXPECT_EQ(oss.spec.desc.ep_rank, 1);
  EXPECT_EQ(oss.spec.desc.ep_size, 4);

  EXPECT_EQ(c.run.tokens, 32);
  EXPECT_EQ(c.run.seed, 7u);
  EXPECT_EQ(c.run.weights, "/base/w.safetensors");
  EXPECT_EQ(c.run.inputs, "random");
  EXPECT_EQ(c.run.output, "/base/out/o.safetensors");
}

TEST(Config, UnknownKeyNamesPositionAndSuggestion) {
  std::string e = error_of(
      "layer:\n"
      "  experts: 8\n"
      "  topk: 2\n");
  EXPECT_TRUE(starts_with(e, "config.yaml:3:3: key 'topk': unknown key in 'layer' (did you mean 'top_k'? expected one of: name, experts, top_k"))
      << e;
}

TEST(Config, UnknownTopLevelKey) {
  std::string e = error_of(std::string(kSmall) + "runners: [a]\n");
  EXPECT_TRUE(starts_with(e, "config.yaml:7:1: key 'runners': unknown key in 'config' (did you mean 'runner'?")) << e;
}

TEST(Config, WrongTypeNamesValue) {
  std::string e = error_of(
      "layer:\n"
      "  experts: eight\n");
  EXPECT_EQ(e, "config.yaml:2:12: 'experts' must be a positive integer, got 'eight'");
  e = error_of(
      "layer:\n"
      "  experts: -3\n");
  EXPECT_EQ(e, "config.yaml:2:12: 'experts' must be a positive integer, got '-3'");
  e = error_of(
      "layer:\n"
      "  experts: [1, 2]\n");
  EXPECT_EQ(e, "config.yaml:2:12: 'experts' must be a positive integer, got a list");
  e = error_of(std::string(kSmall) + "  bias: maybe\n");
  EXPECT_EQ(e, "config.yaml:7:9: 'bias' must be true or false, got 'maybe'");
  e = error_of(std::string(kSmall) + "  swiglu: {alpha: fast}\n  activation: swigluoai\n");
  EXPECT_EQ(e, "config.yaml:7:19: 'swiglu.alpha' must be a finite number, got 'fast'");
}

TEST(Config, BadEnumListsChoices) {
  std::string e = error_of(std::string(kSmall) + "  routing:\n    scoring: sofmax\n");
  EXPECT_EQ(e, "config.yaml:8:14: 'routing.scoring' must be one of softmax, sigmoid; got 'sofmax'");
  e = error_of(std::string(kSmall) + "  dtype: fp8_e4m3\n");
  EXPECT_EQ(e, "config.yaml:7:10: 'dtype' must be one of f32, bf16, f16; got 'fp8_e4m3'");
  e = error_of(std::string(kSmall) + "  activation: swish\n");
  EXPECT_TRUE(starts_with(e, "config.yaml:7:15: 'activation' must be one of silu_and_mul, gelu_and_mul")) << e;
}

TEST(Config, MissingRequiredKey) {
  std::string e = error_of(
      "layer:\n"
      "  experts: 8\n"
      "  top_k: 2\n"
      "  intermediate: 128\n");
  EXPECT_EQ(e, "config.yaml:2:3: 'layer' is missing the required key 'hidden'");
  e = error_of("runner: default\n");
  EXPECT_EQ(e, "config.yaml:1:1: the config needs 'layer:' (one layer) or 'layers:' (a model's list of layers)");
}

TEST(Config, MalformedYaml) {
  std::string e = error_of(
      "layer:\n"
      "  experts: [8, 2\n"
      "  top_k: 2\n");
  EXPECT_TRUE(starts_with(e, "config.yaml:3:")) << e;
  EXPECT_NE(e.find("malformed YAML"), std::string::npos) << e;
  e = error_of("layer:\n  experts: 8\n    top_k: 2\n");
  EXPECT_TRUE(starts_with(e, "config.yaml:3:")) << e;
  EXPECT_NE(e.find("malformed YAML"), std::string::npos) << e;
}

TEST(Config, EmptyAndNonMapping) {
  EXPECT_EQ(error_of(""), "config.yaml:1:1: the config is empty; expected a mapping with 'layer:' or 'layers:'");
  EXPECT_EQ(error_of("- a\n- b\n"), "config.yaml:1:1: 'config' must be a mapping (key: value lines), got a list");
}

TEST(Config, DuplicateKey) {
  std::string e = error_of(std::string(kSmall) + "  top_k: 4\n");
  EXPECT_EQ(e, "config.yaml:7:3: key 'top_k' appears twice in 'layer'");
}

TEST(Config, CrossFieldChecks) {
  EXPECT_EQ(error_of("layer: {experts: 4, top_k: 8, hidden: 8, intermediate: 8}\n"),
            "config.yaml:1:28: 'top_k' (8) must not exceed 'experts' (4)");
  std::string e = error_of(std::string(kSmall) + "  routing: {method: grouped_topk, num_expert_group: 3, topk_group: 1}\n");
  EXPECT_EQ(e, "config.yaml:7:53: 'routing.num_expert_group' (3) must divide 'experts' (8)");
  e = error_of(std::string(kSmall) + "  routing: {method: topk, topk_group: 2}\n");
  EXPECT_EQ(e, "config.yaml:7:39: 'routing.topk_group' only applies to method grouped_topk");
  e = error_of(std::string(kSmall) + "  routing: {method: grouped_topk, num_expert_group: 4}\n");
  EXPECT_EQ(e, "config.yaml:7:12: 'routing' is missing the required key 'topk_group'");
  e = error_of(std::string(kSmall) + "  quant: mxfp4\n  hidden: 48\n");
  EXPECT_EQ(e, "config.yaml:8:3: key 'hidden' appears twice in 'layer'");
  e = error_of("layer: {experts: 4, top_k: 2, hidden: 48, intermediate: 64, quant: mxfp4}\n");
  EXPECT_EQ(e, "config.yaml:1:39: 'hidden' must be a multiple of 32 for quant mxfp4 (one e8m0 scale per 32), got 48");
  e = error_of(std::string(kSmall) + "  quant: fp8_per_tensor\n  weight_dtype: bf16\n");
  EXPECT_EQ(e, "config.yaml:8:17: 'weight_dtype' bf16 does not fit quant fp8_per_tensor (expected fp8_e4m3)");
  e = error_of(std::string(kSmall) + "  expert_parallel: {rank: 4, size: 4}\n");
  EXPECT_EQ(e, "config.yaml:7:27: 'expert_parallel.rank' must be below size 4, got 4");
  e = error_of(std::string(kSmall) + "  routing: {method: custom}\n");
  EXPECT_TRUE(starts_with(e, "config.yaml:7:21: 'routing.method' custom needs a routing function")) << e;
}

TEST(Config, LayerAndLayersExclusiveAndNamesUnique) {
  std::string e = error_of(std::string(kSmall) + "layers: []\n");
  EXPECT_EQ(e, "config.yaml:7:9: give either 'layer' (one layer) or 'layers' (a list), not both");
  e = error_of(
      "layers:\n"
      "  - {name: a, experts: 2, top_k: 1, hidden: 8, intermediate: 8}\n"
      "  - {name: a, experts: 2, top_k: 1, hidden: 8, intermediate: 8}\n");
  EXPECT_EQ(e, "config.yaml:3:12: layer name 'a' is used twice in 'layers'");
}

TEST(Config, RunnerListForms) {
  Config c = parse_config(std::string("runner: cuda@/x/libmoert-cuda.so\n") + kSmall, "config.yaml");
  EXPECT_EQ(c.runner, std::vector<std::string>{"cuda@/x/libmoert-cuda.so"});
  EXPECT_EQ(error_of(std::string("runner: []\n") + kSmall),
            "config.yaml:1:9: 'runner' must name at least one entry, got an empty list");
  EXPECT_EQ(error_of(std::string("runner: {a: b}\n") + kSmall),
            "config.yaml:1:9: 'runner' must be a string or a list of strings, got a mapping");
  std::string e = error_of(std::string("runner: [cuda, 'cpu@']\n") + kSmall);
  EXPECT_TRUE(starts_with(e, "config.yaml:1:16: 'runner': runner 'cpu@': nothing after '@'")) << e;
  e = error_of(std::string("backends: {cuda: {tile: [1]}}\n") + kSmall);
  EXPECT_TRUE(starts_with(e, "config.yaml:1:25: 'backends.cuda.tile' (options are strings, numbers or booleans) must be a string")) << e;
}

TEST(Config, RunnerRefSyntax) {
  RunnerRef r = parse_runner_ref("cuda");
  EXPECT_FALSE(r.modular);
  EXPECT_EQ(r.name, "cuda");
  EXPECT_EQ(r.plugin, "");
  r = parse_runner_ref("experts:triton@libmoert-cuda.so");
  EXPECT_TRUE(r.modular);
  EXPECT_EQ(r.name, "triton");
  EXPECT_EQ(r.plugin, "libmoert-cuda.so");
  EXPECT_THROW(parse_runner_ref("experts:"), Error);
  EXPECT_THROW(parse_runner_ref("a b"), Error);
  EXPECT_THROW(parse_runner_ref("@x"), Error);
}

TEST(Config, RunSection) {
  EXPECT_EQ(error_of(std::string(kSmall) + "run: {tokens: 0}\n"),
            "config.yaml:7:15: 'run.tokens' must be a positive integer, got '0'");
  EXPECT_EQ(error_of(std::string(kSmall) + "run: {token: 3}\n"),
            "config.yaml:7:7: key 'token': unknown key in 'run' (did you mean 'tokens'? expected one of: tokens, seed, weights, inputs, output, device)");
}

TEST(Config, LoadConfigFileErrors) {
  try {
    load_config("/nonexistent/moert.yaml");
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), "/nonexistent/moert.yaml: cannot read the config: no such file");
  }
  // A real file: messages carry its path, relative paths resolve against its folder.
  fs::path dir = fs::temp_directory_path() / ("moert_cfg_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  fs::path file = dir / "bad.yaml";
  std::ofstream(file) << "plugin_dirs: [p]\n" << kSmall << "  top_k: 3\n";
  try {
    load_config(file.string());
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), file.string() + ":8:3: key 'top_k' appears twice in 'layer'");
  }
  std::ofstream(file) << "plugin_dirs: [p]\n" << kSmall;
  Config c = load_config(file.string());
  EXPECT_EQ(c.plugin_dirs, std::vector<std::string>{(dir / "p").string()});
  fs::remove_all(dir);
}

TEST(Config, RunnerOptionsLaterNamesWin) {
  BackendOptions b{{"cuda", {{"a", "1"}, {"b", "1"}}}, {"fast", {{"b", "2"}}}};
  auto o = runner_options(b, {"cuda", "fast"});
  EXPECT_EQ(o.at("a"), "1");
  EXPECT_EQ(o.at("b"), "2");
  EXPECT_TRUE(runner_options(b, {"rocm"}).empty());
}

// Every shipped example must parse.
TEST(Config, ShippedConfigsParse) {
  int n = 0;
  for (const auto& entry : fs::recursive_directory_iterator(fs::path(MOERT_SOURCE_DIR) / "configs")) {
    if (entry.path().extension() != ".yaml") continue;
    SCOPED_TRACE(entry.path().string());
    EXPECT_NO_THROW(load_config(entry.path().string()));
    ++n;
  }
  EXPECT_GE(n, 6);
}

}  // namespace
}  // namespace moert
