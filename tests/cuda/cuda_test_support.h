// Support for the CUDA plugin's tests and benchmark: loading the plugin
// through the C ABI (dlopen, no link to it), host dtype conversions, seeded
// random layers in every weight format, and a float64 reference forward that
// follows the team's semantics (routing, EPLB, expert map, activations,
// dequantization, per-token fp8, shared expert).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "moert/moert_plugin.h"

namespace cudatest {

// ---- plugin loading
struct Plugin {
  const moert_plugin_api* api = nullptr;
  bool usable = false;
  std::string reason;  // why not usable / not loaded
};
// Loads $MOERT_CUDA_PLUGIN or the build's libmoert-cuda.so once per process.
const Plugin& plugin();
// Throws std::runtime_error with the plugin's message when err != NULL.
void ok(moert_error* err, const char* what);

// ---- host dtype helpers
uint16_t f32_to_bf16(float v);
float bf16_to_f32(uint16_t b);
uint16_t f32_to_f16(float v);
float f16_to_f32(uint16_t h);
float e4m3_to_f32(uint8_t b);
uint8_t f32_to_e4m3(float v);  // round to nearest even, saturating at 448
float e2m1_to_f32(uint8_t nibble);

// ---- a layer with host weights in the ABI's formats
struct Case {
  int E = 8, K = 2;
  int64_t H = 128, I = 96;
  int act = MOERT_ACT_SILU_AND_MUL, layout = MOERT_GATE_UP_CONCAT;
  bool bias = false;
  float alpha = 1.702f, limit = 7.0f;
  int routing = MOERT_ROUTING_TOPK, scoring = MOERT_SCORING_SOFTMAX;
  bool renorm = true;
  int groups = 1, topk_group = 1;
  bool corr_bias = false;
  float scaling = 1.0f;
  bool bf16 = true;
  int quant = MOERT_QUANT_NONE;
  int act_quant = MOERT_ACT_QUANT_NONE;
  int64_t max_tokens = 64;
  float act_amp = 1.0f;  // activations uniform in [-act_amp, act_amp] (run_case)
  // EP / EPLB
  std::vector<int32_t> expert_map;  // empty = identity
  int redundant = 0;
  int num_local = -1;               // -1: all physical
  // shared expert
  bool shared = false, shared_gate = false;
  int64_t shared_I = 64;
  int shared_act = MOERT_ACT_SILU_AND_MUL;
  // backend options (keys and values must outlive the Case: literals)
  std::vector<moert_kv> options;
};

struct HostWeights {
  std::vector<uint8_t> w13, w2, w13_scale, w2_scale;  // raw bytes in the ABI layout
  std::vector<float> b13, b2, corr;
  std::vector<uint16_t> sw13, sw2, sgate;              // shared expert, activation dtype
  std::vector<int64_t> shp13, shp2, shps13, shps2;
};

struct EplbHost {
  std::vector<int32_t> l2p, count;  // [E, R], [E]
  int R = 0;
};

moert_layer_desc make_desc(const Case& c);
moert_dtype weight_dtype(const Case& c);
HostWeights make_weights(const Case& c, uint64_t seed);
std::vector<uint16_t> random_act(const Case& c, int64_t n, uint64_t seed, float amp = 1.0f);
std::vector<float> random_logits(int64_t n, uint64_t seed);

// float64 reference: out [T, H]; expert_load (when eplb) counts per physical expert.
std::vector<double> reference(const Case& c, const HostWeights& w, const std::vector<uint16_t>& x,
                              const std::vector<float>& logits, int64_t T, const EplbHost* eplb,
                              std::vector<int64_t>* expert_load,
                              const std::vector<int32_t>* custom_ids = nullptr,
                              const std::vector<float>* custom_w = nullptr);

double rel_err(const std::vector<double>& ref, const std::vector<float>& got);

}  // namespace cudatest
