// RunnerInstance: one plugin runner instance plus its workspace and stream.
#include "moert/runner_instance.h"

#include "moert/error.h"

namespace moert {

RunnerInstance::RunnerInstance(const moert_plugin_api* api, const moert_runner_ops* ops,
                               const moert_layer_desc& layer, int32_t device_id)
    : api_(api), ops_(ops), name_(ops && ops->name ? ops->name : "?"), device_id_(device_id),
      max_num_tokens_(layer.max_num_tokens) {
  if (api == nullptr || ops == nullptr) throw Error("RunnerInstance: null plugin table or runner");
  check(api_, ops_->can_implement(&layer), "runner '" + name_ + "' cannot run this layer");
  check(api_, ops_->create(&layer, device_id_, &runner_), "runner '" + name_ + "' create");
  if (runner_ == nullptr) throw Error(MOERT_STATUS_INTERNAL, "runner '" + name_ + "' create returned no instance");
  try {
    check(api_, ops_->workspace_size(runner_, layer.max_num_tokens, &workspace_bytes_),
          "runner '" + name_ + "' workspace_size");
    if (workspace_bytes_ > 0) workspace_ = alloc(workspace_bytes_);
    check(api_, api_->stream_create(device_id_, &stream_), "plugin stream_create");
  } catch (...) {
    if (workspace_) api_->device_free(device_id_, workspace_);
    ops_->destroy(runner_);
    throw;
  }
}

RunnerInstance::~RunnerInstance() {
  // Errors during teardown cannot be thrown from a destructor: report them
  // through the message helper and carry on freeing.
  if (stream_) take_error_message(api_, api_->stream_synchronize(device_id_, stream_));
  if (runner_) ops_->destroy(runner_);
  if (workspace_) take_error_message(api_, api_->device_free(device_id_, workspace_));
  if (stream_) take_error_message(api_, api_->stream_destroy(device_id_, stream_));
}

void RunnerInstance::set_weights(const moert_expert_weights& weights) {
  check(api_, ops_->set_weights(runner_, &weights), "runner '" + name_ + "' set_weights");
}

void RunnerInstance::forward(const moert_forward_args& in) {
  moert_forward_args args = in;
  args.struct_size = sizeof(moert_forward_args);
  if (args.workspace.data == nullptr && workspace_bytes_ > 0) {
    workspace_shape_[0] = static_cast<int64_t>(workspace_bytes_);
    args.workspace.data = workspace_;
    args.workspace.device = device();
    args.workspace.ndim = 1;
    args.workspace.dtype = moert_dtype{MOERT_DTYPE_UINT, 8, 1};
    args.workspace.shape = workspace_shape_;
    args.workspace.strides = nullptr;
    args.workspace.byte_offset = 0;
  }
  if (args.stream == nullptr) args.stream = stream_;
  // The context string is built only on failure: the forward path must not allocate.
  if (moert_error* err = ops_->forward(runner_, &args)) check(api_, err, "runner '" + name_ + "' forward");
}

void RunnerInstance::synchronize() {
  if (moert_error* err = api_->stream_synchronize(device_id_, stream_))
    check(api_, err, "runner '" + name_ + "' stream_synchronize");
}

void* RunnerInstance::alloc(size_t bytes) {
  void* p = nullptr;
  check(api_, api_->device_alloc(device_id_, bytes, &p), "plugin device_alloc(" + std::to_string(bytes) + " bytes)");
  return p;
}

void RunnerInstance::free(void* p) {
  if (p) check(api_, api_->device_free(device_id_, p), "plugin device_free");
}

void RunnerInstance::to_device(void* dst, const void* src, size_t bytes) {
  check(api_, api_->copy_host_to_device(device_id_, dst, src, bytes), "plugin copy_host_to_device");
}

void RunnerInstance::to_host(void* dst, const void* src, size_t bytes) {
  check(api_, api_->copy_device_to_host(device_id_, dst, src, bytes), "plugin copy_device_to_host");
}

moert_device RunnerInstance::device() const {
  return moert_device{api_->device_type, device_id_};
}

}  // namespace moert
