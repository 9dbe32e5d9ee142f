// RunnerInstance: the host's RAII handle on one runner instance of a plugin.
// Owns the instance, its workspace (allocated once, at creation, through the
// plugin's own memory calls) and a stream. Converts plugin errors into
// moert::Error. Used by the CLI, the chunking runner, the tests and the bench.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "moert/moert_plugin.h"
#include "moert/runner.h"

namespace moert {

class RunnerInstance final : public Runner {
 public:
  // Checks can_implement (throws moert::Error with the plugin's reason when
  // the answer is no), creates the instance on device_id, queries the
  // workspace for layer.max_num_tokens, allocates it, creates a stream.
  RunnerInstance(const moert_plugin_api* api, const moert_runner_ops* ops,
                 const moert_layer_desc& layer, int32_t device_id = 0);
  ~RunnerInstance();
  RunnerInstance(const RunnerInstance&) = delete;
  RunnerInstance& operator=(const RunnerInstance&) = delete;

  // Runner interface.
  std::string name() const override { return name_; }
  const moert_plugin_api* device_api() const override { return api_; }
  int32_t device_id() const override { return device_id_; }
  moert_stream stream() const override { return stream_; }
  int64_t max_num_tokens() const override { return max_num_tokens_; }
  void set_weights(const moert_expert_weights& weights) override;
  // Fills args.workspace and args.stream when they are empty, then forwards.
  // Tensors must already be on the plugin's device. Asynchronous on GPU.
  void forward(const moert_forward_args& args) override;
  void synchronize() override;

  const moert_runner_ops* ops() const { return ops_; }
  size_t workspace_bytes() const { return workspace_bytes_; }

  // Device memory through the plugin (blocking copies).
  void* alloc(size_t bytes);
  void free(void* p);
  void to_device(void* dst, const void* src, size_t bytes);
  void to_host(void* dst, const void* src, size_t bytes);
  moert_device device() const;

 private:
  const moert_plugin_api* api_;
  const moert_runner_ops* ops_;
  std::string name_;
  int32_t device_id_;
  int64_t max_num_tokens_;
  moert_runner* runner_ = nullptr;
  moert_stream stream_ = nullptr;
  void* workspace_ = nullptr;
  size_t workspace_bytes_ = 0;
  int64_t workspace_shape_[1] = {0};
};

}  // namespace moert
