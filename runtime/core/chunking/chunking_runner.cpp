// ChunkingRunner: row-chunked forwards through any Runner.
#include "moert/chunking.h"

#include <algorithm>

#include "moert/error.h"
#include "moert/host_tensor.h"

namespace moert {

namespace {

// Bytes of the staging area: room for one aligned dummy row address.
constexpr size_t kStagingBytes = 256;

// Checks that t is a compact 2-D [rows, cols] tensor and returns its row
// pitch. Messages are built only on failure: the forward path allocates nothing.
size_t row_bytes(const moert_tensor& t, const char* what, int64_t rows, int64_t* cols_out) {
  auto fail = [what](const std::string& why) -> Error {
    return Error(std::string("chunked forward: ") + what + why);
  };
  if (t.ndim != 2 || t.shape == nullptr) throw fail(" must be a 2-D tensor, got ndim " + std::to_string(t.ndim));
  if (rows >= 0 && t.shape[0] != rows)
    throw fail(" has " + std::to_string(t.shape[0]) + " rows, expected " + std::to_string(rows) +
               " (the tokens of hidden_states)");
  if (t.strides != nullptr && !(t.strides[1] == 1 && t.strides[0] == t.shape[1]))
    throw fail(" must be compact row-major, got strides [" + std::to_string(t.strides[0]) + ", " +
               std::to_string(t.strides[1]) + "]");
  if (t.dtype.bits % 8 != 0) throw fail(": sub-byte dtype " + dtype_name(t.dtype) + " cannot be chunked by rows");
  if (t.data == nullptr && t.shape[0] > 0) throw fail(" has no data");
  *cols_out = t.shape[1];
  return static_cast<size_t>(t.shape[1]) * (t.dtype.bits / 8);
}

}  // namespace

ChunkingRunner::ChunkingRunner(std::unique_ptr<Runner> inner) : inner_(std::move(inner)) {
  if (!inner_) throw Error("ChunkingRunner: no inner runner");
  chunk_ = inner_->max_num_tokens();
  if (chunk_ <= 0)
    throw Error("ChunkingRunner: inner runner '" + inner_->name() + "' must accept a positive number of tokens, "
                "its max_num_tokens() is " + std::to_string(chunk_));
  const moert_plugin_api* api = inner_->device_api();
  if (api == nullptr || api->device_alloc == nullptr)
    throw Error("ChunkingRunner: inner runner '" + inner_->name() + "' has no device memory calls");
  check(api, api->device_alloc(inner_->device_id(), kStagingBytes, &staging_), "ChunkingRunner staging alloc");
}

ChunkingRunner::~ChunkingRunner() {
  if (staging_) {
    const moert_plugin_api* api = inner_->device_api();
    take_error_message(api, api->device_free(inner_->device_id(), staging_));
  }
}

void ChunkingRunner::forward(const moert_forward_args& args) {
  int64_t h = 0, e = 0, h_out = 0;
  if (args.hidden_states.ndim != 2 || args.hidden_states.shape == nullptr)
    throw Error("chunked forward: hidden_states must be a 2-D tensor [T, H], got ndim " +
                std::to_string(args.hidden_states.ndim));
  const int64_t tokens = args.hidden_states.shape[0];
  const size_t x_pitch = row_bytes(args.hidden_states, "hidden_states", -1, &h);
  const size_t l_pitch = row_bytes(args.router_logits, "router_logits", tokens, &e);
  const size_t o_pitch = row_bytes(args.output, "output", tokens, &h_out);

  // Per-chunk views: same dtype/device, rows narrowed, data advanced by rows.
  moert_forward_args chunk = args;
  chunk.struct_size = sizeof(moert_forward_args);
  if (chunk.stream == nullptr) chunk.stream = inner_->stream();
  int64_t x_shape[2] = {0, h}, l_shape[2] = {0, e}, o_shape[2] = {0, h_out};
  chunk.hidden_states.shape = x_shape;
  chunk.router_logits.shape = l_shape;
  chunk.output.shape = o_shape;
  chunk.hidden_states.strides = chunk.router_logits.strides = chunk.output.strides = nullptr;

  auto base = [](const moert_tensor& t) { return static_cast<char*>(t.data) + t.byte_offset; };

  if (tokens == 0) {
    // A 0-token forward still reaches the inner runner; NULL data would read
    // as "absent", so the staging buffer lends a valid, unread address.
    chunk.hidden_states.data = chunk.router_logits.data = chunk.output.data = staging_;
    chunk.hidden_states.byte_offset = chunk.router_logits.byte_offset = chunk.output.byte_offset = 0;
    inner_->forward(chunk);
    ++inner_forwards_;
    return;
  }

  char* x0 = base(args.hidden_states);
  char* l0 = base(args.router_logits);
  char* o0 = base(args.output);
  chunk.hidden_states.byte_offset = chunk.router_logits.byte_offset = chunk.output.byte_offset = 0;
  for (int64_t start = 0; start < tokens; start += chunk_) {
    const int64_t n = std::min(chunk_, tokens - start);
    x_shape[0] = l_shape[0] = o_shape[0] = n;
    chunk.hidden_states.data = x0 + static_cast<size_t>(start) * x_pitch;
    chunk.router_logits.data = l0 + static_cast<size_t>(start) * l_pitch;
    chunk.output.data = o0 + static_cast<size_t>(start) * o_pitch;
    inner_->forward(chunk);
    ++inner_forwards_;
  }
}

}  // namespace moert
