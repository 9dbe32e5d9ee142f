// Drives one runner or experts-kernel instance of any plugin (the subject or
// the reference) through its table: create, workspace, stream, weights and
// forwards on poisoned outputs with a guard row. Failures throw CallError
// with "<runner 'x'> <call>: <STATUS>: <message>".
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "device.h"
#include "moert/host_tensor.h"
#include "moert/layer_spec.h"
#include "moert/synthetic.h"

namespace moert_conformance {

// A shared expert on the host, in the layer's activation dtype.
struct SharedHost {
  int64_t intermediate_size = 0;
  int32_t activation = MOERT_ACT_SILU_AND_MUL;
  moert::HostTensor w13, w2, gate;  // gate empty: none
};
SharedHost make_shared_expert(const moert::LayerSpec& layer, bool with_gate, uint64_t seed);

// What a forward produced, read back from the device.
struct Outcome {
  std::vector<double> out;    // [T, H]
  int64_t unwritten = 0;      // elements of rows < T still holding the NaN poison
  bool guard_touched = false; // the row after the last token was written
};

// Relative error ||a - b|| / ||b|| (0 when both are empty).
double relative_error(const std::vector<double>& a, const std::vector<double>& b);

// Custom routing (ABI 1.1) implemented by the suite: each token picks the
// top_k experts with the LOWEST logits (ties: lower id) and weights them by a
// softmax over their negated logits. Deliberately unlike top-k, so that a
// plugin that ignores the function fails.
struct CustomRoutingContext {
  const moert_plugin_api* api = nullptr;
  std::string failure;  // set when a copy failed inside the callback
};
moert_error* suite_custom_routing(void* context, const moert_tensor* router_logits, int32_t top_k,
                                  moert_tensor* topk_weights, moert_tensor* topk_ids,
                                  moert_stream stream);

class RunnerHarness {
 public:
  RunnerHarness(const moert_plugin_api* api, const moert_runner_ops* ops,
                const moert::LayerSpec& layer);
  ~RunnerHarness();
  RunnerHarness(const RunnerHarness&) = delete;
  RunnerHarness& operator=(const RunnerHarness&) = delete;

  const std::string& who() const { return who_; }
  void set_weights(const moert::WeightSet& weights);
  Outcome forward(const moert::HostTensor& hidden, const moert::HostTensor& logits,
                  const SharedHost* shared = nullptr);

 private:
  const moert_plugin_api* api_;
  const moert_runner_ops* ops_;
  moert::LayerSpec layer_;
  CustomRoutingContext routing_;
  std::string who_;
  moert_runner* runner_ = nullptr;
  std::unique_ptr<Stream> stream_;
  std::unique_ptr<DeviceTensor> workspace_;
};

class ExpertsHarness {
 public:
  ExpertsHarness(const moert_plugin_api* api, const moert_experts_ops* ops,
                 const moert::LayerSpec& layer);
  ~ExpertsHarness();
  ExpertsHarness(const ExpertsHarness&) = delete;
  ExpertsHarness& operator=(const ExpertsHarness&) = delete;

  const std::string& who() const { return who_; }
  void set_weights(const moert::WeightSet& weights);
  // ids/weights [T, top_k] (global ids); the result is the weighted sum
  // [T, H] whatever the kernel's finalize mode.
  Outcome apply(const moert::HostTensor& hidden, const moert::HostTensor& ids,
                const moert::HostTensor& weights);

 private:
  const moert_plugin_api* api_;
  const moert_experts_ops* ops_;
  moert::LayerSpec layer_;
  std::string who_;
  moert_experts* experts_ = nullptr;
  std::unique_ptr<Stream> stream_;
  std::unique_ptr<DeviceTensor> workspace_;
};

// Softmax/sigmoid top-k routing on the host (f32, ties -> lower id, then
// renormalize and scale), for feeding experts kernels.
void host_topk(const moert::LayerSpec& layer, const moert::HostTensor& logits,
               moert::HostTensor* ids, moert::HostTensor* weights);

}  // namespace moert_conformance
