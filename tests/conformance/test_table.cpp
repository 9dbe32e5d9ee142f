// The file, the table and the attributes.
#include <cstring>
#include <set>

#include "any_ops.h"
#include "combos.h"

namespace moert_conformance {
namespace {

TEST(Loading, FileIsAccepted) {
  const Subject& s = subject();
  if (s.state == SubjectState::kUnusable)
    GTEST_SKIP() << "plugin not usable on this machine (probe): " << s.reason;
  ASSERT_EQ(s.state, SubjectState::kLoaded)
      << s.label << " was rejected by the loader (" << moert::reject_kind_name(s.reject_kind)
      << "): " << s.reason;
}

using Table = ConformanceTest;

// The smallest struct_size a table of each minor must have.
size_t min_table_size(uint32_t minor) {
  return minor == 0 ? offsetof(moert_plugin_api, experts) + sizeof(void*) : sizeof(moert_plugin_api);
}

TEST_F(Table, VersionsAndStructSize) {
  const moert_plugin_api* api = subject().api;
  EXPECT_EQ(api->abi_major, static_cast<uint32_t>(MOERT_ABI_MAJOR))
      << "table ABI major " << api->abi_major << ", host " << MOERT_ABI_MAJOR;
  EXPECT_GE(api->abi_minor, static_cast<uint32_t>(MOERT_ABI_MIN_COMPATIBLE_MINOR));
  EXPECT_LE(api->abi_minor, static_cast<uint32_t>(MOERT_ABI_MINOR))
      << "table ABI minor " << api->abi_minor << " is newer than the host's " << MOERT_ABI_MINOR;
  EXPECT_GE(api->struct_size, min_table_size(api->abi_minor))
      << "table struct_size " << api->struct_size << " is smaller than ABI 1." << api->abi_minor
      << "'s table (" << min_table_size(api->abi_minor) << " bytes)";
}

TEST_F(Table, IdentityAndMandatoryCalls) {
  const moert_plugin_api* api = subject().api;
  ASSERT_NE(api->name, nullptr) << "table name is NULL";
  EXPECT_GT(std::strlen(api->name), 0u) << "table name is empty";
  EXPECT_NE(api->version, nullptr) << "table version is NULL";
  EXPECT_NE(api->vendor, nullptr) << "table vendor is NULL";
  const std::set<int32_t> devices = {MOERT_DEVICE_CPU, MOERT_DEVICE_CUDA, MOERT_DEVICE_CUDA_HOST,
                                     MOERT_DEVICE_ROCM, MOERT_DEVICE_ROCM_HOST};
  EXPECT_TRUE(devices.count(api->device_type)) << "device_type " << api->device_type
                                               << " is not a moert_device_type";
#define MOERT_EXPECT_CALL(f) EXPECT_NE(api->f, nullptr) << "mandatory table call '" #f "' is NULL"
  MOERT_EXPECT_CALL(probe);
  MOERT_EXPECT_CALL(initialize);
  MOERT_EXPECT_CALL(shutdown);
  MOERT_EXPECT_CALL(error_code);
  MOERT_EXPECT_CALL(error_message);
  MOERT_EXPECT_CALL(error_destroy);
  MOERT_EXPECT_CALL(attributes);
  MOERT_EXPECT_CALL(device_alloc);
  MOERT_EXPECT_CALL(device_free);
  MOERT_EXPECT_CALL(copy_host_to_device);
  MOERT_EXPECT_CALL(copy_device_to_host);
  MOERT_EXPECT_CALL(stream_create);
  MOERT_EXPECT_CALL(stream_destroy);
  MOERT_EXPECT_CALL(stream_synchronize);
#undef MOERT_EXPECT_CALL
  EXPECT_GT(api->num_runners + api->num_experts, 0)
      << "the plugin registers no runner and no experts kernel: nothing to use";
}

TEST_F(Table, ProbeIsRepeatableAndSaysUsable) {
  const moert_plugin_api* api = subject().api;
  char reason[256];
  std::memset(reason, 'x', sizeof reason);
  EXPECT_EQ(api->probe(reason, sizeof reason), 1) << "probe said not usable after loading: " << reason;
  EXPECT_EQ(api->probe(nullptr, 0), 1) << "probe(NULL, 0) must work too (no reason wanted)";
}

TEST_F(Table, RegisteredOpsAreWellFormed) {
  const moert_plugin_api* api = subject().api;
  std::set<std::string> names;
  ASSERT_TRUE(api->num_runners == 0 || api->runners != nullptr) << "num_runners > 0 but runners is NULL";
  for (int64_t i = 0; i < api->num_runners; ++i) {
    const moert_runner_ops* r = api->runners[i];
    ASSERT_NE(r, nullptr) << "runners[" << i << "] is NULL";
    EXPECT_GE(r->struct_size, sizeof(moert_runner_ops)) << "runners[" << i << "] struct_size";
    ASSERT_TRUE(r->name && *r->name) << "runners[" << i << "] has no name";
    EXPECT_TRUE(names.insert(std::string("runner:") + r->name).second)
        << "runner name '" << r->name << "' registered twice";
    EXPECT_TRUE(r->can_implement && r->create && r->destroy && r->workspace_size &&
                r->set_weights && r->forward)
        << "runner '" << r->name << "' has a NULL call";
  }
  ASSERT_TRUE(api->num_experts == 0 || api->experts != nullptr) << "num_experts > 0 but experts is NULL";
  for (int64_t i = 0; i < api->num_experts; ++i) {
    const moert_experts_ops* x = api->experts[i];
    ASSERT_NE(x, nullptr) << "experts[" << i << "] is NULL";
    EXPECT_GE(x->struct_size, sizeof(moert_experts_ops)) << "experts[" << i << "] struct_size";
    ASSERT_TRUE(x->name && *x->name) << "experts[" << i << "] has no name";
    EXPECT_TRUE(names.insert(std::string("experts:") + x->name).second)
        << "experts name '" << x->name << "' registered twice";
    EXPECT_TRUE(x->finalize_mode == MOERT_FINALIZE_IN_KERNEL || x->finalize_mode == MOERT_FINALIZE_BY_CORE)
        << "experts '" << x->name << "' finalize_mode " << x->finalize_mode << " is unknown";
    EXPECT_TRUE(x->can_implement && x->create && x->destroy && x->workspace_size &&
                x->set_weights && x->apply)
        << "experts '" << x->name << "' has a NULL call";
  }
}

TEST_F(Table, Abi11CallsAreReadOnlyWhenPresent) {
  const moert_plugin_api* api = subject().api;
  if (!MOERT_HAS_FIELD(api, moert_plugin_api, graph_destroy))
    GTEST_SKIP() << "ABI 1." << api->abi_minor << " table (" << api->struct_size
                 << " bytes): the 1.1 event/graph calls are not part of it and are not read";
  const bool events[] = {api->event_create != nullptr, api->event_destroy != nullptr,
                         api->event_record != nullptr, api->event_elapsed_ms != nullptr};
  EXPECT_TRUE((events[0] && events[1] && events[2] && events[3]) ||
              (!events[0] && !events[1] && !events[2] && !events[3]))
      << "event calls must be all present or all NULL";
  const bool graphs[] = {api->graph_capture_begin != nullptr, api->graph_capture_end != nullptr,
                         api->graph_launch != nullptr, api->graph_destroy != nullptr};
  EXPECT_TRUE((graphs[0] && graphs[1] && graphs[2] && graphs[3]) ||
              (!graphs[0] && !graphs[1] && !graphs[2] && !graphs[3]))
      << "graph calls must be all present or all NULL";
}

TEST_F(Table, MemoryAndStreamCallsRoundTrip) {
  const moert_plugin_api* api = subject().api;
  std::vector<unsigned char> in(4096), out(4096, 0);
  for (size_t i = 0; i < in.size(); ++i) in[i] = static_cast<unsigned char>(i * 7 + 3);
  void* p = nullptr;
  moert_error* e = api->device_alloc(0, in.size(), &p);
  ASSERT_EQ(e, nullptr) << "device_alloc(4096): " << (e ? api->error_message(e) : "");
  ASSERT_NE(p, nullptr) << "device_alloc succeeded but returned NULL";
  EXPECT_EQ(api->copy_host_to_device(0, p, in.data(), in.size()), nullptr);
  EXPECT_EQ(api->copy_device_to_host(0, out.data(), p, out.size()), nullptr);
  EXPECT_EQ(in, out) << "bytes copied to the device and back differ";
  moert_stream s = nullptr;
  EXPECT_EQ(api->stream_create(0, &s), nullptr);
  EXPECT_EQ(api->stream_synchronize(0, s), nullptr);
  EXPECT_EQ(api->stream_destroy(0, s), nullptr);
  EXPECT_EQ(api->device_free(0, p), nullptr);
}

using Attributes = ConformanceTest;

TEST_F(Attributes, KnownKeysHaveKnownValues) {
  const moert_plugin_api* api = subject().api;
  size_t n = 12345;
  const moert_kv* kv = api->attributes(&n);
  ASSERT_TRUE(n == 0 || kv != nullptr) << "attributes() says " << n << " entries but returns NULL";
  std::set<std::string> keys;
  const auto& known = known_attribute_values();
  const Claims claimed = read_claims(api);
  for (size_t i = 0; i < n; ++i) {
    ASSERT_TRUE(kv[i].key && *kv[i].key) << "attribute " << i << " has a NULL or empty key";
    ASSERT_NE(kv[i].value, nullptr) << "attribute '" << kv[i].key << "' has a NULL value";
    EXPECT_TRUE(keys.insert(kv[i].key).second) << "attribute key '" << kv[i].key << "' appears twice";
    auto k = known.find(kv[i].key);
    if (k == known.end()) continue;  // free text (toolchain, ...) or a vendor key
    const std::string value = kv[i].value;
    EXPECT_EQ(value.find(' '), std::string::npos)
        << "attribute '" << kv[i].key << "' = '" << value << "': values are comma-separated, no spaces";
    for (const auto& v : claimed.at(kv[i].key))
      EXPECT_TRUE(k->second.count(v)) << "attribute '" << kv[i].key << "' lists unknown value '" << v << "'";
  }
  if (api->num_runners + api->num_experts > 0) {
    for (const char* required : {"dtypes", "activations", "routers"})
      EXPECT_TRUE(keys.count(required)) << "attribute '" << required
                                        << "' is missing: the suite (and users) cannot tell what to run";
  }
}

}  // namespace
}  // namespace moert_conformance
