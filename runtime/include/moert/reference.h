// The CPU reference of one MoE layer's expert math (docs/semantics.md):
// activations, exact weight dequantization, routed experts, activation
// quantization (prepare) and the shared expert. Everything here runs on host
// memory and throws moert::Error.
#pragma once

#include <cstdint>
#include <vector>

#include "moert/layer_config.h"
#include "moert/moert_plugin.h"

namespace moert {

// ---- activations ----
// h: one row of the first GEMM, R = 2I (gated) or I values. Writes out[I].
// Gated: gate/up halves per gate_up_layout (CONCAT: [0,I) gate, [I,2I) up;
// INTERLEAVED: even gate, odd up). swigluoai: g = min(g, limit),
// u = clamp(u, -limit, limit), out = g * sigmoid(alpha * g) * (u + 1).
void apply_activation(int32_t activation, int32_t gate_up_layout, float alpha, float limit,
                      const float* h, int64_t I, float* out);
// Scalar pieces (double precision internally).
float silu(float x);
float gelu_erf(float x);
float gelu_tanh(float x);

// ---- weights ----
// One expert matrix family (w13 or w2) as stored: the raw bytes of the
// weights and scales, copied from the caller, and the row decoder.
struct QuantMatrix {
  int64_t experts = 0, rows = 0, cols = 0;
  moert_dtype dtype{};
  int32_t scheme = MOERT_QUANT_NONE;
  std::vector<uint8_t> data;    // [experts, rows, cols] (fp4: cols/2 bytes per row)
  std::vector<float> scales;    // fp8 schemes (f32)
  std::vector<uint8_t> scales_e8m0;  // mxfp4
  std::vector<float> bias;      // [experts, rows] or empty

  // Writes the exactly dequantized row `row` of expert `e` into out[cols].
  void dequantize_row(int64_t e, int64_t row, float* out) const;
};

// The routed experts' weights of one layer, copied and validated from a
// moert_expert_weights (host tensors: CPU, CUDA_HOST or ROCM_HOST memory).
struct ReferenceWeights {
  QuantMatrix w13, w2;
  std::vector<float> score_correction_bias;  // [E] or empty
  // Throws moert::Error naming the tensor, and expected vs got shape/dtype.
  void load(const LayerConfig& layer, const moert_expert_weights& weights);
  bool loaded() const { return loaded_flag; }
  bool loaded_flag = false;
};

// ---- prepare: activation quantization ----
// hidden [T, H] in layer.activation_dtype -> x [T, H] f32 as the experts see
// it. With FP8_PER_TOKEN: s_t = max|x_t| / 448 (1 when the row is zero),
// xq = e4m3(x / s_t); x = decode(xq) * s_t. xq/scales may be NULL when not wanted.
void prepare_activations(const LayerConfig& layer, const void* hidden, int64_t T, float* x,
                         uint8_t* xq, float* scales);

// ---- routed experts ----
class ReferenceExperts {
 public:
  explicit ReferenceExperts(const LayerConfig& layer);
  void set_weights(const moert_expert_weights& w) { weights_.load(layer_, w); }
  const ReferenceWeights& weights() const { return weights_; }
  const LayerConfig& layer() const { return layer_; }

  // x [T, H] f32 (prepared), ids [T, top_k] global physical ids, weights
  // [T, top_k], expert_map [E_physical] or NULL (the layer's map, or identity).
  // per_slot: out [T, top_k, H] = unweighted y, zero for non-local slots.
  // else:     out [T, H] += w * y over the local slots (caller initialises).
  // T must be <= layer.max_num_tokens (scratch is sized at construction).
  void compute(const float* x, int64_t T, const int32_t* ids, const float* weights,
               const int32_t* expert_map, bool per_slot, float* out);

 private:
  LayerConfig layer_;
  ReferenceWeights weights_;
  std::vector<int32_t> counts_, offsets_, slots_;  // tokens grouped by local expert
  std::vector<float> h_, a_, row_;
};

// ---- shared expert ----
// Adds the shared expert's output for hidden [T, H] (activation_dtype) to
// acc [T, H] f32. Validates the moert_shared_expert (shapes, dtypes, host
// memory); the gate layout of its w13 is CONCAT; swigluoai is rejected.
// Scratch grows on first use of a larger shared expert.
void add_shared_expert(const LayerConfig& layer, const moert_shared_expert& shared, const void* hidden,
                       int64_t T, float* acc, std::vector<float>& scratch);

}  // namespace moert
