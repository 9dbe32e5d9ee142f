// ChunkingRunner: runs inputs of any length through a runner whose forward
// accepts at most max_num_tokens() tokens, by splitting them into row chunks.
//
// Chunks are views into the caller's tensors (the data pointer advanced by
// whole rows), so no copies are made and the forward stays allocation- and
// sync-free (graph-capture friendly). The one buffer it owns -- allocated once
// at construction through the inner runner's device_api() -- is a small
// staging area whose address stands in for the data of zero-token tensors:
// in the ABI a NULL data pointer means "absent", and a 0-token forward must
// still reach the inner runner (an EP rank with no tokens still runs).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "moert/runner.h"

namespace moert {

class ChunkingRunner final : public Runner {
 public:
  // Takes ownership of `inner`; throws moert::Error when it is NULL or its
  // max_num_tokens() is not positive.
  explicit ChunkingRunner(std::unique_ptr<Runner> inner);
  ~ChunkingRunner() override;
  ChunkingRunner(const ChunkingRunner&) = delete;
  ChunkingRunner& operator=(const ChunkingRunner&) = delete;

  std::string name() const override { return "chunked(" + inner_->name() + ")"; }
  const moert_plugin_api* device_api() const override { return inner_->device_api(); }
  int32_t device_id() const override { return inner_->device_id(); }
  moert_stream stream() const override { return inner_->stream(); }
  int64_t max_num_tokens() const override { return -1; }  // unbounded
  void set_weights(const moert_expert_weights& weights) override { inner_->set_weights(weights); }
  // hidden_states [T, H], router_logits [T, E], output [T, H], compact
  // row-major, any T >= 0. Splits into ceil(T / chunk) inner forwards on the
  // same stream; args.workspace (if given) is passed to every inner forward.
  // Shared expert and EPLB state are passed to every chunk; under EPLB the
  // replica choice uses chunk-local slot positions (same loads per logical
  // expert, possibly another replica than an unchunked forward would pick).
  void forward(const moert_forward_args& args) override;
  void synchronize() override { inner_->synchronize(); }

  Runner& inner() { return *inner_; }
  int64_t chunk_tokens() const { return chunk_; }
  // Inner forwards issued so far (for tests and diagnostics).
  int64_t inner_forwards() const { return inner_forwards_; }

 private:
  std::unique_ptr<Runner> inner_;
  int64_t chunk_ = 0;
  void* staging_ = nullptr;  // device memory of inner_->device_api()
  int64_t inner_forwards_ = 0;
};

}  // namespace moert
