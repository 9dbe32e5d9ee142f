// The error-object protocol and bad arguments: errors, never crashes.
#include <cstring>

#include "any_ops.h"
#include "device.h"
#include "moert/host_tensor.h"
#include "moert/synthetic.h"

namespace moert_conformance {

using moert::operator==;
namespace {

using ErrorProtocol = ConformanceTest;
using BadArguments = ConformanceTest;

moert::LayerSpec valid_layer() {
  moert::LayerSpec l;  // LayerSpec defaults: a plain valid bf16 softmax top-k layer
  return l;
}

// Checks an error object fully and destroys it. `what` names the call.
void expect_error_object(moert_error* e, const std::string& what) {
  const moert_plugin_api* api = subject().api;
  ASSERT_NE(e, nullptr) << what << " returned success (NULL); expected an error object";
  const int32_t code = api->error_code(e);
  const char* msg = api->error_message(e);
  EXPECT_NE(code, MOERT_STATUS_OK) << what << ": error object has code OK";
  EXPECT_TRUE(code >= MOERT_STATUS_INVALID_ARGUMENT && code <= MOERT_STATUS_INTERNAL)
      << what << ": error code " << code << " is not a moert_status";
  EXPECT_TRUE(msg != nullptr && std::strlen(msg) > 0) << what << ": error message is empty";
  api->error_destroy(e);
}

TEST_F(ErrorProtocol, InvalidLayerGivesAnErrorObject) {
  for (const AnyOps& ops : all_ops()) {
    moert::LayerSpec l = valid_layer();
    l.desc.num_experts = 0;
    l.desc.num_local_experts = 0;
    expect_error_object(ops.can_implement(l.c_desc()), ops.who + " can_implement(num_experts=0)");
  }
}

TEST_F(ErrorProtocol, DestroyNullIsANoop) {
  subject().api->error_destroy(nullptr);  // must not crash
  SUCCEED();
}

// Layers every implementation must refuse, with what is wrong.
std::vector<std::pair<std::string, moert::LayerSpec>> invalid_layers() {
  std::vector<std::pair<std::string, moert::LayerSpec>> out;
  auto add = [&](const std::string& what, auto change) {
    moert::LayerSpec l = valid_layer();
    change(l.desc, l);
    out.push_back({what, l});
  };
  add("num_experts=0", [](moert_layer_desc& d, moert::LayerSpec&) { d.num_experts = 0; d.num_local_experts = 0; });
  add("top_k=0", [](moert_layer_desc& d, moert::LayerSpec&) { d.top_k = 0; });
  add("top_k > num_experts", [](moert_layer_desc& d, moert::LayerSpec&) { d.top_k = d.num_experts + 1; });
  add("hidden_size=0", [](moert_layer_desc& d, moert::LayerSpec&) { d.hidden_size = 0; });
  add("intermediate_size=0", [](moert_layer_desc& d, moert::LayerSpec&) { d.intermediate_size = 0; });
  add("max_num_tokens=0", [](moert_layer_desc& d, moert::LayerSpec&) { d.max_num_tokens = 0; });
  add("activation_dtype code 99", [](moert_layer_desc& d, moert::LayerSpec&) { d.activation_dtype = moert_dtype{99, 7, 1}; });
  add("activation 99", [](moert_layer_desc& d, moert::LayerSpec&) { d.activation = 99; });
  add("ep_rank >= ep_size", [](moert_layer_desc& d, moert::LayerSpec&) { d.ep_rank = 2; d.ep_size = 2; });
  add("expert_map entry >= num_local_experts", [](moert_layer_desc& d, moert::LayerSpec& l) {
    d.num_local_experts = 2;
    l.expert_map.assign(static_cast<size_t>(d.num_experts), -1);
    l.expert_map[0] = 0;
    l.expert_map[1] = 5;
  });
  return out;
}

TEST_F(BadArguments, CanImplementRefusesInvalidLayers) {
  for (const AnyOps& ops : all_ops()) {
    for (auto& [what, layer] : invalid_layers()) {
      moert_error* e = ops.can_implement(layer.c_desc());
      EXPECT_NE(e, nullptr) << ops.who << " can_implement accepted an invalid layer (" << what
                            << "); it must answer with an error naming the problem";
      if (e) expect_error_object(e, ops.who + " can_implement(" + what + ")");
    }
    expect_error_object(ops.can_implement(nullptr), ops.who + " can_implement(NULL layer)");
  }
}

TEST_F(BadArguments, CreateRefusesInvalidLayers) {
  for (const AnyOps& ops : all_ops()) {
    auto cases = invalid_layers();
    for (auto& [what, layer] : cases) {
      void* handle = nullptr;
      moert_error* e = ops.create(layer.c_desc(), &handle);
      EXPECT_NE(e, nullptr) << ops.who << " create accepted an invalid layer (" << what << ")";
      if (e) {
        expect_error_object(e, ops.who + " create(" + what + ")");
        EXPECT_EQ(handle, nullptr) << ops.who << " create failed but left an instance in *out";
      }
      if (handle && !e) ops.destroy(handle);
    }
    void* handle = nullptr;
    expect_error_object(ops.create(nullptr, &handle), ops.who + " create(NULL layer)");
    ops.destroy(nullptr);  // a no-op by contract
  }
}

// Forward/apply-level bad arguments on the first layer a runner accepts.
TEST_F(BadArguments, RunnerCallsRefuseBadTensors) {
  const moert_plugin_api* api = subject().api;
  if (api->num_runners == 0) GTEST_SKIP() << "no runners";
  for (int64_t r = 0; r < api->num_runners; ++r) {
    const moert_runner_ops* ops = api->runners[r];
    const std::string who = std::string("runner '") + ops->name + "'";
    Accepted acc = find_accepted(ops->can_implement, subject_combos());
    if (!acc.found) {
      ADD_FAILURE() << who << " accepts none of the claimed layers: " << acc.reason;
      continue;
    }
    const Combo& combo = subject_combos()[acc.combo_index];
    moert::LayerSpec layer = make_layer(combo, acc.shape);
    const auto& d = layer.desc;
    const int64_t T = 7, H = d.hidden_size, E = d.num_experts;
    moert_runner* runner = nullptr;
    check_call(api, ops->create(layer.c_desc(), 0, &runner), who + " create");
    size_t ws_bytes = 0;
    check_call(api, ops->workspace_size(runner, d.max_num_tokens, &ws_bytes), who + " workspace_size");
    moert_stream stream = nullptr;
    check_call(api, api->stream_create(0, &stream), "stream_create");

    // Buffers far larger than any tensor below, so that a plugin that ignores
    // a bad shape writes into owned memory and the suite can report it.
    const size_t big = tensor_bytes(moert::kF32, {d.max_num_tokens + 8, H + 8}) * 2 + 4096;
    DeviceTensor hidden(api, d.activation_dtype, {T, H}, big);
    DeviceTensor logits(api, moert::kF32, {T, E}, big);
    DeviceTensor output(api, d.activation_dtype, {T, H}, big);
    DeviceTensor ws(api, moert::kU8, {static_cast<int64_t>(ws_bytes)}, ws_bytes + 4096);
    moert::HostTensor h = moert::make_random_hidden(layer, d.max_num_tokens + 8, 1);
    moert::HostTensor l = moert::make_random_logits(layer, d.max_num_tokens + 8, 2);
    hidden.buffer.upload(h.data(), std::min(h.nbytes(), hidden.buffer.bytes()));
    logits.buffer.upload(l.data(), std::min(l.nbytes(), logits.buffer.bytes()));

    auto args = [&]() {
      moert_forward_args a{};
      a.struct_size = sizeof a;
      a.hidden_states = hidden.view();
      a.router_logits = logits.view();
      a.output = output.view();
      a.workspace = ws.view();
      a.stream = stream;
      return a;
    };
    auto expect_refused = [&](const moert_forward_args& a, const std::string& what) {
      moert_error* e = ops->forward(runner, &a);
      take_error(api, api->stream_synchronize(0, stream));
      EXPECT_NE(e, nullptr) << who << " forward accepted " << what << "; expected an error naming it";
      if (e) expect_error_object(e, who + " forward(" + what + ")");
    };

    expect_refused(args(), "a forward before set_weights");
    expect_error_object(ops->set_weights(runner, nullptr), who + " set_weights(NULL)");
    moert::WeightSet w = moert::make_random_weights(layer, 3);
    {
      moert_expert_weights v = w.view();
      std::vector<int64_t> bad_shape(v.w13.shape, v.w13.shape + v.w13.ndim);
      bad_shape[1] += 2;
      v.w13.shape = bad_shape.data();
      moert_error* e = ops->set_weights(runner, &v);
      EXPECT_NE(e, nullptr) << who << " set_weights accepted w13 of shape "
                            << moert::shape_string(bad_shape);
      if (e) expect_error_object(e, who + " set_weights(bad w13 shape)");
    }
    const moert_expert_weights good = w.view();
    check_call(api, ops->set_weights(runner, &good), who + " set_weights");
    const moert_forward_args valid = args();
    moert_error* ok = ops->forward(runner, &valid);
    ASSERT_EQ(ok, nullptr) << who << " forward with valid arguments failed: " << take_error(api, ok);
    take_error(api, api->stream_synchronize(0, stream));

    {
      auto a = args();
      std::vector<int64_t> s = {T, H + 1};
      a.hidden_states.shape = s.data();
      expect_refused(a, "hidden_states of shape " + moert::shape_string(s) + " for hidden_size " + std::to_string(H));
    }
    {
      auto a = args();
      std::vector<int64_t> s = {d.max_num_tokens + 1, H}, so = s, sl = {d.max_num_tokens + 1, E};
      a.hidden_states.shape = s.data();
      a.output.shape = so.data();
      a.router_logits.shape = sl.data();
      expect_refused(a, std::to_string(d.max_num_tokens + 1) + " tokens (max_num_tokens " +
                            std::to_string(d.max_num_tokens) + ")");
    }
    {
      auto a = args();
      std::vector<int64_t> s = {T, E + 1};
      a.router_logits.shape = s.data();
      expect_refused(a, "router_logits of shape " + moert::shape_string(s) + " for " + std::to_string(E) + " experts");
    }
    {
      auto a = args();
      a.output.dtype = d.activation_dtype == moert::kF32 ? moert::kBF16 : moert::kF32;
      expect_refused(a, "an output of dtype " + moert::dtype_name(a.output.dtype) + " for activation dtype " +
                            moert::dtype_name(d.activation_dtype));
    }
    take_error(api, api->stream_destroy(0, stream));
    ops->destroy(runner);
  }
}

}  // namespace
}  // namespace moert_conformance
