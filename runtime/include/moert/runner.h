// moert::Runner: what the host runs for one layer. Implemented by
// RunnerInstance (a plugin's runner), ModularRunner (the core's pipeline
// around any plugin's experts kernel) and ChunkingRunner (wraps any Runner).
#pragma once

#include <cstdint>
#include <string>

#include "moert/moert_plugin.h"

namespace moert {

class Runner {
 public:
  virtual ~Runner() = default;
  // e.g. "cuda", "default", "modular(cpu)", "chunked(default)"
  virtual std::string name() const = 0;
  // The plugin whose memory, stream and (1.1) event/graph calls serve this
  // runner's device; inputs given to forward() live in that plugin's memory.
  virtual const moert_plugin_api* device_api() const = 0;
  virtual int32_t device_id() const = 0;
  virtual moert_stream stream() const = 0;
  // The most tokens one forward() accepts (ChunkingRunner: unbounded, -1).
  virtual int64_t max_num_tokens() const = 0;
  // Blocking; weights may be on the host. Throws moert::Error.
  virtual void set_weights(const moert_expert_weights& weights) = 0;
  // Enqueues one forward on stream(). workspace and stream in args may be
  // left empty; the runner fills its own. Throws moert::Error.
  virtual void forward(const moert_forward_args& args) = 0;
  virtual void synchronize() = 0;
};

}  // namespace moert
