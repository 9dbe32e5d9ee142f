// The loader: every rejection kind, with a reason that names the file and
// (for versions) both versions and the fix. In-process tables cover each
// rule exactly; the .so test plugins (tests/plugins) cover the same kinds
// through dlopen.
#include <gtest/gtest.h>

#include <cstddef>
#include <filesystem>
#include <string>

#include "moert/loader.h"
#include "table_fixture.h"

namespace moert {
namespace {

namespace fs = std::filesystem;
using namespace moert::testing;

moert_plugin_api g_table;
const moert_plugin_api* entry_table(uint32_t, uint32_t, const moert_host_services*) { return &g_table; }
const moert_plugin_api* entry_null(uint32_t, uint32_t, const moert_host_services*) { return nullptr; }

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

LoadOutcome load(const moert_plugin_api& t) {
  g_table = t;
  return load_plugin_entry(&entry_table, "libfoo.so", nullptr);
}

TEST(Loader, ValidTableLoadsAndInitializes) {
  const int before = g_initialized;
  LoadOutcome o = load(valid_table("foo"));
  ASSERT_EQ(o.kind, RejectKind::kNone) << o.reason;
  ASSERT_TRUE(o.plugin);
  EXPECT_TRUE(o.plugin->initialized);
  EXPECT_EQ(o.plugin->path, "libfoo.so");
  EXPECT_EQ(o.plugin->api, &g_table);
  EXPECT_EQ(g_initialized, before + 1);
}

TEST(Loader, NullTable) {
  LoadOutcome o = load_plugin_entry(&entry_null, "libfoo.so", nullptr);
  EXPECT_EQ(o.kind, RejectKind::kNullTable);
  EXPECT_TRUE(contains(o.reason, "libfoo.so: entry moert_plugin_entry_v1 returned NULL")) << o.reason;
}

TEST(Loader, AbiMajorMismatchNamesBothVersionsAndFix) {
  moert_plugin_api t = valid_table("foo");
  t.abi_major = 2;
  t.abi_minor = 0;
  LoadOutcome o = load(t);
  EXPECT_EQ(o.kind, RejectKind::kAbiMajorMismatch);
  EXPECT_EQ(o.reason, "libfoo.so: ABI major mismatch: plugin built against moert ABI 2.0, this host speaks 1.1 "
                      "(rebuild the plugin against plugin_api/moert/moert_plugin.h 1.x)");
}

TEST(Loader, NewerMinorRefused) {
  moert_plugin_api t = valid_table("foo");
  t.abi_minor = MOERT_ABI_MINOR + 1;
  LoadOutcome o = load(t);
  EXPECT_EQ(o.kind, RejectKind::kAbiMinorOutOfWindow);
  EXPECT_TRUE(contains(o.reason, "libfoo.so: ABI minor outside the window: plugin built against moert ABI 1.2, "
                                 "this host loads 1.0 to 1.1 (the plugin is newer than the host"))
      << o.reason;
}

TEST(Loader, StructTooSmallForItsMinor) {
  moert_plugin_api t = valid_table("foo");
  t.struct_size = offsetof(moert_plugin_api, event_create);  // a 1.0 table claiming 1.1
  LoadOutcome o = load(t);
  EXPECT_EQ(o.kind, RejectKind::kStructTooSmall);
  EXPECT_EQ(o.reason, "libfoo.so: plugin table struct_size is 192 bytes, but a table of ABI 1.1 has at least 256 bytes");
  t.struct_size = 12;
  o = load(t);
  EXPECT_EQ(o.kind, RejectKind::kStructTooSmall);
  EXPECT_TRUE(contains(o.reason, "too small to hold even the ABI version")) << o.reason;
}

TEST(Loader, Abi10TableLoadsWithoutReadingBeyondItsSize) {
  moert_plugin_api t = valid_table("old");
  t.abi_minor = 0;
  t.struct_size = offsetof(moert_plugin_api, event_create);
  // Poison the 1.1 fields: the host must not look at them.
  std::memset(reinterpret_cast<char*>(&t) + t.struct_size, 0xAB, sizeof t - t.struct_size);
  LoadOutcome o = load(t);
  EXPECT_EQ(o.kind, RejectKind::kNone) << o.reason;
}

TEST(Loader, BadTableNamesTheMissingFunction) {
  moert_plugin_api t = valid_table("foo");
  t.copy_device_to_host = nullptr;
  LoadOutcome o = load(t);
  EXPECT_EQ(o.kind, RejectKind::kBadTable);
  EXPECT_EQ(o.reason, "libfoo.so: plugin 'foo': mandatory function 'copy_device_to_host' is NULL");

  t = valid_table("");
  EXPECT_EQ(load(t).kind, RejectKind::kBadTable);

  static moert_runner_ops r = runner_ops("fast");
  r.forward = nullptr;
  static const moert_runner_ops* const rs[] = {&r};
  t = valid_table("foo", rs, 1);
  o = load(t);
  EXPECT_EQ(o.kind, RejectKind::kBadTable);
  EXPECT_EQ(o.reason, "libfoo.so: plugin 'foo': runner 'fast': mandatory function 'forward' is NULL");

  static moert_runner_ops a = runner_ops("same"), b = runner_ops("same");
  static const moert_runner_ops* const twice[] = {&a, &b};
  o = load(valid_table("foo", twice, 2));
  EXPECT_EQ(o.kind, RejectKind::kBadTable);
  EXPECT_TRUE(contains(o.reason, "registers runner 'same' twice")) << o.reason;

  t = valid_table("foo");
  t.num_runners = 2;  // but runners is NULL
  EXPECT_EQ(load(t).kind, RejectKind::kBadTable);
}

TEST(Loader, ProbeUnusableKeepsReasonAndTable) {
  moert_plugin_api t = valid_table("bar");
  t.probe = probe_no;
  LoadOutcome o = load(t);
  EXPECT_EQ(o.kind, RejectKind::kProbeUnusable);
  EXPECT_EQ(o.reason, "libfoo.so: probe: plugin 'bar' is not usable on this machine: no BarAccelerator found");
  EXPECT_EQ(o.table, &g_table);
  EXPECT_FALSE(o.plugin);
}

TEST(Loader, InitFailedKeepsMessage) {
  moert_plugin_api t = valid_table("bar");
  t.initialize = init_fail;
  LoadOutcome o = load(t);
  EXPECT_EQ(o.kind, RejectKind::kInitFailed);
  EXPECT_EQ(o.reason, "libfoo.so: initialize of plugin 'bar' failed (UNAVAILABLE): driver version 1 too old");
  EXPECT_EQ(o.table, &g_table);
}

TEST(Loader, MissingAndNonElfFiles) {
  LoadOutcome o = load_plugin_file("/nonexistent/libmoert-x.so", nullptr);
  EXPECT_EQ(o.kind, RejectKind::kNotSharedObject);
  EXPECT_EQ(o.reason, "/nonexistent/libmoert-x.so: no such file");
  // This very test source is not a shared object.
  const std::string src = std::string(MOERT_SOURCE_DIR) + "/tests/host/test_loader.cpp";
  o = load_plugin_file(src, nullptr);
  EXPECT_EQ(o.kind, RejectKind::kNotSharedObject);
  EXPECT_TRUE(contains(o.reason, src + ": cannot be loaded as a shared object: ")) << o.reason;
}

TEST(Loader, RejectKindNamesAreDistinct) {
  EXPECT_STREQ(reject_kind_name(RejectKind::kAbiMajorMismatch), "ABI major mismatch");
  EXPECT_STREQ(reject_kind_name(RejectKind::kDuplicateName), "duplicate name");
  EXPECT_STRNE(reject_kind_name(RejectKind::kNoEntrySymbol), reject_kind_name(RejectKind::kNullTable));
}

TEST(Loader, HostServicesSpeakThisAbi) {
  const moert_host_services* s = default_host_services();
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->struct_size, sizeof(moert_host_services));
  EXPECT_EQ(s->abi_major, static_cast<uint32_t>(MOERT_ABI_MAJOR));
  EXPECT_EQ(s->abi_minor, static_cast<uint32_t>(MOERT_ABI_MINOR));
  ASSERT_NE(s->log, nullptr);
  s->log(s->host_context, MOERT_LOG_DEBUG, "test", "below the default threshold: not printed");
}

// ---- the same kinds through real files (tests/plugins) ----

std::string test_plugin(const std::string& name) {
  return std::string(MOERT_TEST_PLUGIN_DIR) + "/libmoert-test-" + name + ".so";
}

struct FileCase {
  const char* name;
  RejectKind kind;
  const char* reason_part;
};

class LoaderFiles : public ::testing::TestWithParam<FileCase> {};

TEST_P(LoaderFiles, RejectsWithReason) {
  const FileCase& c = GetParam();
  const std::string path = test_plugin(c.name);
  if (!fs::exists(path)) GTEST_SKIP() << path << " not built (target moert-test-plugins)";
  LoadOutcome o = load_plugin_file(path, nullptr);
  EXPECT_EQ(o.kind, c.kind) << o.reason;
  if (c.kind != RejectKind::kNone) EXPECT_TRUE(contains(o.reason, path + ": ")) << o.reason;
  EXPECT_TRUE(contains(o.reason, c.reason_part)) << o.reason;
  if (o.plugin) {
    EXPECT_TRUE(o.reason.empty()) << o.reason;
    EXPECT_EQ(o.plugin->api->shutdown(), nullptr);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Kinds, LoaderFiles,
    ::testing::Values(
        FileCase{"good", RejectKind::kNone, ""},
        FileCase{"v1_0", RejectKind::kNone, ""},
        FileCase{"notso", RejectKind::kNotSharedObject, "cannot be loaded as a shared object"},
        FileCase{"noentry", RejectKind::kNoEntrySymbol, "no exported symbol moert_plugin_entry_v1"},
        FileCase{"abi-major", RejectKind::kAbiMajorMismatch, "plugin built against moert ABI 2.0, this host speaks 1.1"},
        FileCase{"abi-minor", RejectKind::kAbiMinorOutOfWindow, "moert ABI 1.99"},
        FileCase{"small-table", RejectKind::kStructTooSmall, "struct_size is 16"},
        FileCase{"unusable", RejectKind::kProbeUnusable, "no FooAccelerator device found"},
        FileCase{"init-fails", RejectKind::kInitFailed, "foo-fw-3.bin not found"}),
    [](const ::testing::TestParamInfo<FileCase>& i) {
      std::string n = i.param.name;
      for (char& ch : n)
        if (ch == '-') ch = '_';
      return n;
    });

}  // namespace
}  // namespace moert
