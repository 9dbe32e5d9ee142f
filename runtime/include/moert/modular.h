// ModularRunner: the core's pipeline router -> prepare -> experts -> finalize
// around ANY plugin's experts kernel (moert_experts_ops).
//
//   router    on the host (Router), EPLB mapping and load recording on the host;
//   prepare   fp8_per_token activation quantization (host), or the router
//             weight applied on the input (layer option
//             "apply_router_weight_on_input=1", top_k must be 1);
//   experts   experts->apply on the plugin's device and stream;
//   finalize  BY_CORE: out = sum_k w[t,k] * y[t,k,:] on the host; IN_KERNEL:
//             the kernel's output as is; then + the shared expert (host).
//
// Device experts: inputs live in the experts plugin's memory. The runner
// stages what the host stages need through the plugin's own copy calls, and
// SYNCHRONIZES the stream before each device->host copy. This is the
// portability path (any experts kernel, any device), not the fast path: a
// plugin that wants no host sync registers a whole runner instead.
// Staging buffers are allocated at construction for layer.max_num_tokens;
// shared-expert staging grows once per larger shared expert.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "moert/layer_config.h"
#include "moert/moert_plugin.h"
#include "moert/runner.h"

namespace moert {

class ModularRunner final : public Runner {
 public:
  // api: the plugin table that registered `experts` (borrowed; must outlive
  // this runner). Checks can_implement, creates the instance, its workspace,
  // a stream and the device staging buffers. Throws moert::Error.
  ModularRunner(const moert_plugin_api* api, const moert_experts_ops* experts, const moert_layer_desc& layer,
                int32_t device_id = 0);
  ~ModularRunner() override;
  ModularRunner(const ModularRunner&) = delete;
  ModularRunner& operator=(const ModularRunner&) = delete;

  std::string name() const override { return name_; }
  const moert_plugin_api* device_api() const override { return api_; }
  int32_t device_id() const override { return device_id_; }
  moert_stream stream() const override { return stream_; }
  int64_t max_num_tokens() const override { return layer_.max_num_tokens; }
  void set_weights(const moert_expert_weights& weights) override;
  void forward(const moert_forward_args& args) override;
  void synchronize() override;

 private:
  void* device_buffer(size_t bytes);
  void to_host(void* dst, const moert_tensor& src, size_t bytes);
  void to_host(void* dst, const void* src, size_t bytes);
  void to_device(void* dst, const void* src, size_t bytes);
  moert_tensor device_tensor(void* data, moert_dtype dtype, int64_t* shape, int32_t ndim) const;

  const moert_plugin_api* api_;
  const moert_experts_ops* ops_;
  LayerConfig layer_;
  std::string name_;
  int32_t device_id_;
  moert_experts* experts_ = nullptr;
  moert_stream stream_ = nullptr;
  bool apply_weight_on_input_ = false;
  std::vector<void*> device_allocs_;
  void* workspace_ = nullptr;
  size_t workspace_bytes_ = 0;
  void *d_hidden_ = nullptr, *d_scale_ = nullptr, *d_ids_ = nullptr, *d_weights_ = nullptr, *d_map_ = nullptr,
       *d_out_ = nullptr;
  // Host staging.
  struct Host;
  std::unique_ptr<Host> host_;
};

}  // namespace moert
