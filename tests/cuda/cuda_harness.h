// A runner instance of the CUDA plugin driven through its C table only:
// device buffers, weights upload, forward, graph capture. Used by the tests
// and the benchmark.
#pragma once

#include <cstdint>
#include <vector>

#include "cuda_test_support.h"

namespace cudatest {

class DevBuf {
 public:
  DevBuf() = default;
  explicit DevBuf(size_t bytes);
  ~DevBuf();
  DevBuf(DevBuf&& o) noexcept : p_(o.p_), n_(o.n_) { o.p_ = nullptr; }
  DevBuf& operator=(DevBuf&& o) noexcept;
  void* get() const { return p_; }
  size_t size() const { return n_; }
  void upload(const void* src, size_t bytes);
  void download(void* dst, size_t bytes) const;

 private:
  void* p_ = nullptr;
  size_t n_ = 0;
};

moert_tensor tensor(void* data, moert_dtype dt, std::vector<int64_t>& shape, bool on_device);

class Harness {
 public:
  // Creates the runner for `c` and uploads its weights (host tensors, or
  // device tensors when weights_on_device).
  Harness(const Case& c, const HostWeights& w, bool weights_on_device = false);
  ~Harness();

  // Copies x and logits to the device (not timed), poisons the output.
  void set_inputs(const std::vector<uint16_t>& x, const std::vector<float>& logits, int64_t T);
  // Enqueues one forward on the harness stream.
  void forward();
  std::vector<float> output();  // synchronizes
  void sync();

  moert_stream stream() const { return stream_; }
  const moert_runner_ops* ops() const { return ops_; }
  moert_runner* runner() const { return runner_; }
  moert_forward_args& args() { return args_; }

  // EPLB state on the device (set before forward).
  void set_eplb(const EplbHost& e);
  std::vector<int64_t> expert_load();
  // Custom routing context (host ids/weights written by a callback).
  std::vector<int32_t> custom_ids;
  std::vector<float> custom_w;

 private:
  Case c_;
  const moert_plugin_api* api_;
  const moert_runner_ops* ops_ = nullptr;
  moert_runner* runner_ = nullptr;
  moert_stream stream_ = nullptr;
  DevBuf ws_, x_, logits_, out_, sw13_, sw2_, sgate_, l2p_, cnt_, load_;
  std::vector<int64_t> ws_shape_, x_shape_, l_shape_, o_shape_, s13_shape_, s2_shape_, sg_shape_, l2p_shape_,
      cnt_shape_, load_shape_;
  moert_shared_expert shared_{};
  moert_eplb_state eplb_{};
  moert_forward_args args_{};
  int64_t T_ = 0;
};

}  // namespace cudatest
