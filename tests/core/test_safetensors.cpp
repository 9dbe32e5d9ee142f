// safetensors reader/writer and the JSON parser beneath it: round trips,
// a hand-built file in the reference layout, and precise errors for
// malformed, truncated and mismatched files.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <functional>
#include <cstring>
#include <fstream>
#include <string>
#include <unistd.h>

#include "io/json.h"
#include "moert/error.h"
#include "moert/safetensors.h"

using namespace moert;

namespace {

std::string temp_path(const std::string& name) {
  return "/tmp/moert_coreb_" + std::to_string(::getpid()) + "_" + name;
}

// Writes 8-byte length + header + data exactly as given.
void write_raw(const std::string& path, const std::string& header, const std::string& data,
               uint64_t claimed_len = UINT64_MAX) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  uint64_t n = claimed_len == UINT64_MAX ? header.size() : claimed_len;
  for (int i = 0; i < 8; ++i, n >>= 8) out.put(static_cast<char>(n & 0xFF));
  out << header << data;
}

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

HostTensor filled(moert_dtype d, std::vector<int64_t> shape) {
  HostTensor t(d, std::move(shape));
  for (size_t i = 0; i < t.nbytes(); ++i) static_cast<uint8_t*>(t.data())[i] = static_cast<uint8_t>(i * 37 + 11);
  return t;
}

}  // namespace

TEST(Json, ParsesAndWritesTheSubsetSafetensorsUses) {
  const json::Value v = json::parse(
      R"( {"a": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]}, "s": "x\"\\\n\u00e9\ud83d\ude00", "n": null,
           "b": [true, false], "f": -1.5e3, "big": 9007199254740993} )");
  ASSERT_TRUE(v.is_object());
  int64_t big = 0;
  ASSERT_TRUE(v.find("big")->as_int64(&big));
  EXPECT_EQ(big, 9007199254740993LL);  // exact beyond 2^53
  EXPECT_EQ(v.find("s")->as_string(), "x\"\\\n\xC3\xA9\xF0\x9F\x98\x80");
  EXPECT_DOUBLE_EQ(v.find("f")->as_double(), -1500.0);
  int64_t i = 0;
  EXPECT_FALSE(v.find("f")->as_int64(&i));
  EXPECT_TRUE(v.find("n")->is_null());
  // write -> parse is the identity on structure.
  const json::Value again = json::parse(json::write(v));
  EXPECT_EQ(json::write(again), json::write(v));
  EXPECT_EQ(json::write(json::Value::number(std::nan(""))), "null");
  EXPECT_EQ(json::write(json::Value::number(310.2)), "310.2");  // shortest exact form
  EXPECT_EQ(json::parse(json::write(json::Value::number(0.1 + 0.2))).as_double(), 0.1 + 0.2);
}

TEST(Json, RejectsMalformedTextWithThePosition) {
  EXPECT_NE(error_of([] { json::parse("{\"a\": 1,}"); }).find("byte 8"), std::string::npos);
  EXPECT_NE(error_of([] { json::parse("{\"a\": 1, \"a\": 2}"); }).find("duplicate key \"a\""), std::string::npos);
  EXPECT_NE(error_of([] { json::parse("[1, 2"); }).find("unexpected end"), std::string::npos);
  EXPECT_NE(error_of([] { json::parse("01"); }).find("unexpected text"), std::string::npos);
  EXPECT_NE(error_of([] { json::parse("\"abc"); }).find("unterminated"), std::string::npos);
  EXPECT_NE(error_of([] { json::parse(std::string(100, '[') + std::string(100, ']')); }).find("nesting"),
            std::string::npos);
}

TEST(Safetensors, RoundTripKeepsEveryDtypeShapeAndByte) {
  const std::string path = temp_path("roundtrip.safetensors");
  safetensors::Writer w;
  const moert_dtype dtypes[] = {kF64, kF32, kF16, kBF16, kI64, kI32, kU8, kFP8E4M3, kE8M0};
  std::vector<HostTensor> originals;  // the writer borrows: keep them alive, unmoved
  originals.reserve(16);
  for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0]; ++i) {
    originals.push_back(filled(dtypes[i], {2, 3, static_cast<int64_t>(i + 1)}));
    w.add("t" + std::to_string(i), originals.back());
  }
  const HostTensor fp4 = filled(kFP4E2M1, {3, 64});
  w.add("layers.0.experts.w13", fp4);
  const HostTensor empty(kF32, {0, 5});
  w.add("empty", empty);
  w.add_metadata("format", "moert");
  w.write(path);

  const safetensors::Reader r(path);
  EXPECT_EQ(r.metadata().at("format"), "moert");
  for (size_t i = 0; i < originals.size(); ++i) {
    const HostTensor t = r.read("t" + std::to_string(i));
    EXPECT_EQ(dtype_name(t.dtype()), dtype_name(originals[i].dtype()));
    EXPECT_EQ(t.shape(), originals[i].shape());
    EXPECT_EQ(0, std::memcmp(t.data(), originals[i].data(), t.nbytes()));
  }
  // fp4 is stored as u8 with the last dim halved, and read back by its logical shape.
  EXPECT_EQ(r.info("layers.0.experts.w13").st_dtype, "U8");
  EXPECT_EQ(r.info("layers.0.experts.w13").shape, (std::vector<int64_t>{3, 32}));
  const HostTensor f = r.read("layers.0.experts.w13", kFP4E2M1, {3, 64});
  EXPECT_EQ(dtype_name(f.dtype()), dtype_name(kFP4E2M1));
  EXPECT_EQ(0, std::memcmp(f.data(), fp4.data(), fp4.nbytes()));
  EXPECT_EQ(r.read("empty").shape(), (std::vector<int64_t>{0, 5}));
  std::remove(path.c_str());
}

TEST(Safetensors, ReadsAHandBuiltFileInTheReferenceLayout) {
  // As written by the Python package: tensors in any order, offsets relative
  // to the data section, padding spaces in the header.
  const std::string path = temp_path("hand.safetensors");
  const float a[2] = {1.5f, -2.0f};
  const uint16_t b[3] = {0x3F80, 0x4000, 0xC040};  // bf16 1, 2, -3
  std::string data(reinterpret_cast<const char*>(b), 6);
  data.append(reinterpret_cast<const char*>(a), 8);
  write_raw(path,
            R"({"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[6,14]},)"
            R"("b":{"dtype":"BF16","shape":[1,3],"data_offsets":[0,6]}}   )",
            data);
  const safetensors::Reader r(path);
  EXPECT_EQ(r.names(), (std::vector<std::string>{"b", "a"}));  // data order
  const HostTensor ta = r.read("a", kF32, {2});
  EXPECT_EQ(ta.as<float>()[1], -2.0f);
  EXPECT_EQ(r.read("b").as<uint16_t>()[2], 0xC040);
  std::remove(path.c_str());
}

TEST(Safetensors, MismatchedTensorNamesFileTensorExpectedAndFound) {
  const std::string path = temp_path("weights.safetensors");
  safetensors::Writer w;
  const HostTensor w2(kBF16, {8, 14, 4});
  w.add("w2", w2);
  w.write(path);
  const safetensors::Reader r(path);
  EXPECT_EQ(error_of([&] { r.read("w2", kBF16, {8, 4, 14}); }),
            path + ": tensor 'w2': expected bf16 [8, 4, 14], got bf16 [8, 14, 4]");
  EXPECT_EQ(error_of([&] { r.read("w2", kF32, {8, 14, 4}); }),
            path + ": tensor 'w2': expected f32 [8, 14, 4], got bf16 [8, 14, 4]");
  EXPECT_EQ(error_of([&] { r.read("w13"); }), path + ": no tensor 'w13' (the file holds: w2)");
  EXPECT_NE(error_of([&] { r.read("w2", kFP4E2M1, {8, 14, 8}); }).find("(stored as u8 [8, 14, 4])"),
            std::string::npos);
  std::remove(path.c_str());
}

TEST(Safetensors, E8m0ScalesMayBeStoredAsU8) {
  // gpt-oss checkpoints keep MX scales as uint8: same bits, accepted as e8m0.
  const std::string path = temp_path("u8scales.safetensors");
  const HostTensor scales = filled(kU8, {2, 4});
  safetensors::Writer w;
  w.add("s", scales);
  w.write(path);
  const HostTensor r = safetensors::Reader(path).read("s", kE8M0, {2, 4});
  EXPECT_EQ(dtype_name(r.dtype()), "e8m0");
  EXPECT_EQ(0, std::memcmp(r.data(), scales.data(), scales.nbytes()));
  EXPECT_THROW(safetensors::Reader(path).read("s", kI32, {2, 1}), Error);
  std::remove(path.c_str());
}

TEST(Safetensors, MalformedAndTruncatedFilesGivePreciseErrors) {
  const std::string path = temp_path("bad.safetensors");
  auto err = [&] { return error_of([&] { safetensors::Reader r(path); }); };
  auto contains = [](const std::string& s, const std::string& part) {
    return s.find(part) != std::string::npos;
  };

  EXPECT_TRUE(contains(error_of([&] { safetensors::Reader r(temp_path("missing")); }), "cannot open"));
  EXPECT_EQ(error_of([&] { safetensors::Reader r("/tmp"); }), "/tmp: is a directory, not a safetensors file");

  { std::ofstream(path, std::ios::binary | std::ios::trunc) << "abc"; }
  EXPECT_TRUE(contains(err(), "3 bytes, shorter than the 8-byte header length")) << err();

  write_raw(path, "{}", "", 500);
  EXPECT_TRUE(contains(err(), "truncated: header length 500 bytes but only 2 bytes follow")) << err();

  write_raw(path, "{}", "", 1ull << 40);
  EXPECT_TRUE(contains(err(), "exceeds the 100 MB limit")) << err();

  write_raw(path, "{\"a\": ", "");
  EXPECT_TRUE(contains(err(), "header is not valid JSON")) << err();

  write_raw(path, "[1]", "");
  EXPECT_TRUE(contains(err(), "header must be a JSON object, got array")) << err();

  write_raw(path, R"({"w":{"dtype":"Q4","shape":[2],"data_offsets":[0,2]}})", "xx");
  EXPECT_TRUE(contains(err(), "tensor 'w': unsupported dtype \"Q4\"")) << err();

  write_raw(path, R"({"w":{"dtype":"F32","shape":[2,-1],"data_offsets":[0,8]}})", std::string(8, 'x'));
  EXPECT_TRUE(contains(err(), "tensor 'w': shape entries must be non-negative integers")) << err();

  write_raw(path, R"({"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,20]}})", std::string(20, 'x'));
  EXPECT_TRUE(contains(err(), "tensor 'w': F32 [2, 3] needs 24 bytes but data_offsets [0, 20] span 20")) << err();

  write_raw(path, R"({"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}})", std::string(10, 'x'));
  EXPECT_TRUE(contains(err(), "tensor 'w': truncated file: data_offsets end at byte 24 of the data section, "
                              "which holds only 10 bytes")) << err();

  write_raw(path,
            R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
            std::string(12, 'x'));
  EXPECT_TRUE(contains(err(), "tensors 'a' and 'b' overlap")) << err();

  write_raw(path, R"({"w":{"dtype":"F32","shape":[2]}})", "");
  EXPECT_TRUE(contains(err(), "tensor 'w': \"data_offsets\" must be an array [begin, end]")) << err();

  write_raw(path, R"({"__metadata__":{"k":1}})", "");
  EXPECT_TRUE(contains(err(), "__metadata__ value of 'k' must be a string")) << err();

  // Every error starts with the file path.
  EXPECT_EQ(err().rfind(path, 0), 0u) << err();
  std::remove(path.c_str());
}

TEST(Safetensors, WriterRefusesWhatCannotBeWritten) {
  safetensors::Writer w;
  const HostTensor a(kF32, {1});
  w.add("a", a);
  EXPECT_NE(error_of([&] { w.add("a", HostTensor(kF32, {1})); }).find("added twice"), std::string::npos);
  EXPECT_NE(error_of([&] { w.add("", HostTensor(kF32, {1})); }).find("empty tensor name"), std::string::npos);
  EXPECT_NE(error_of([&] { w.add("f", HostTensor(kFP4E2M1, {3})); }).find("even last dimension"), std::string::npos);
  EXPECT_NE(error_of([&] { w.write("/nonexistent-dir/x.safetensors"); }).find("cannot open the file for writing"),
            std::string::npos);
}
