// CpuMoe: the test-good plugin's MoE layer on the host CPU, in plain loops.
//   - activations f32 or bf16; weights f32 or bf16 (no quantization);
//   - softmax or sigmoid top-k routing, renormalize, routed scaling factor;
//   - silu_and_mul / gelu_and_mul with concatenated gate/up rows, biases;
//   - expert map (expert parallelism), optional shared expert with gate.
// Everything else is declined by check_layer() with UNIMPLEMENTED.
// One instance is used by one thread at a time (the ABI rule); instances
// share nothing, so separate instances run concurrently.
#pragma once

#include <cstdint>
#include <vector>

#include "moert/moert_plugin.hpp"

namespace moert_test_good {

// NULL when this implementation can run `layer`. Otherwise INVALID_ARGUMENT
// for a malformed description, UNIMPLEMENTED for a valid one it does not do;
// the message starts with `call`.
moert_error* check_layer(const char* call, const moert_layer_desc* layer);

class CpuMoe {
 public:
  // `layer` must have passed check_layer(); it is copied (expert map too).
  explicit CpuMoe(const moert_layer_desc& layer);

  // Host scratch that one forward/apply needs, independent of the token count.
  size_t workspace_bytes() const;

  moert_error* set_weights(const moert_expert_weights* weights);

  // The runner: validation and computation are separate so that a caller can
  // see what is checked.
  moert_error* check_forward(const moert_forward_args* args) const;
  void compute_forward(const moert_forward_args& args) const;

  // The experts kernel (FINALIZE_IN_KERNEL).
  moert_error* check_apply(const moert_experts_args* args) const;
  void compute_apply(const moert_experts_args& args) const;

 private:
  struct Scratch;  // views into the caller's workspace
  Scratch scratch(const moert_tensor& workspace) const;
  void load_row(const void* base, moert_dtype dtype, int64_t row, int64_t cols, float* out) const;
  void store_row(const float* in, int64_t cols, moert_dtype dtype, void* base, int64_t row) const;
  float round_act(float v) const;  // to the activation dtype and back
  float gated(float gate, float up) const;
  void route(const float* logits, float* scores, int32_t* ids, float* weights) const;
  // acc[H] += weight * expert_local(x)
  void add_expert(int32_t local, const float* x, float weight, float* y, float* acc) const;
  void add_shared(const moert_shared_expert& s, const float* x, float* y, float* acc) const;
  moert_error* check_shared(const char* call, const moert_shared_expert* s, int64_t tokens) const;

  // The layer, copied.
  int32_t E_, top_k_, num_local_;
  int64_t H_, I_, R_, max_tokens_;
  int32_t activation_, scoring_;
  bool has_bias_, renormalize_;
  float scaling_;
  moert_dtype act_dtype_, weight_dtype_;
  std::vector<int32_t> expert_map_;  // empty: identity

  // Weights, converted to f32 once in set_weights.
  bool has_weights_ = false;
  std::vector<float> w13_, w2_, b13_, b2_;
};

}  // namespace moert_test_good
