// safetensors reader and writer. The header is validated completely before
// any tensor is read, so a bad file fails with one precise message instead of
// a short read later.
#include "moert/safetensors.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "io/json.h"
#include "moert/error.h"

namespace moert {
namespace safetensors {

namespace {

struct DtypeEntry {
  const char* st;
  moert_dtype dtype;
};
constexpr DtypeEntry kDtypes[] = {
    {"F64", kF64}, {"F32", kF32}, {"F16", kF16}, {"BF16", kBF16}, {"I64", kI64},
    {"I32", kI32}, {"U8", kU8},   {"F8_E4M3", kFP8E4M3},           {"F8_E8M0", kE8M0},
};

// safetensors' own limit on the header size (100 MB).
constexpr uint64_t kMaxHeaderBytes = 100ull << 20;

std::string describe(moert_dtype d, const std::vector<int64_t>& shape) {
  return dtype_name(d) + " " + shape_string(shape);
}

// Elements of a shape, or -1 on overflow.
int64_t checked_numel(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) return -1;
    if (d != 0 && n > INT64_MAX / d) return -1;
    n *= d;
  }
  return n;
}

// The form an fp4 tensor of logical `shape` is stored in: U8, last dim / 2.
std::vector<int64_t> packed_fp4_shape(std::vector<int64_t> shape) {
  if (!shape.empty()) shape.back() /= 2;
  return shape;
}

}  // namespace

std::string to_st_dtype(moert_dtype d) {
  for (const auto& e : kDtypes)
    if (e.dtype == d) return e.st;
  if (d == kFP4E2M1) return "U8";  // packed, see the header comment
  throw Error("safetensors: dtype " + dtype_name(d) + " has no safetensors name");
}

moert_dtype from_st_dtype(const std::string& s) {
  for (const auto& e : kDtypes)
    if (s == e.st) return e.dtype;
  std::string all;
  for (const auto& e : kDtypes) all += std::string(all.empty() ? "" : ", ") + e.st;
  throw Error("unsupported dtype \"" + s + "\" (moert reads: " + all + ")");
}

// ---------------------------------------------------------------- Reader

Reader::Reader(const std::string& path) : path_(path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw Error(path + ": is a directory, not a safetensors file");
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw Error(MOERT_STATUS_INVALID_ARGUMENT, path + ": cannot open the file for reading");
  const std::streamoff end_pos = in.tellg();
  if (end_pos < 0) throw Error(path + ": cannot read the file (a directory?)");
  const uint64_t file_size = static_cast<uint64_t>(end_pos);
  in.seekg(0);
  if (file_size < 8)
    throw Error(path + ": not a safetensors file: " + std::to_string(file_size) +
                " bytes, shorter than the 8-byte header length");
  unsigned char len_bytes[8];
  in.read(reinterpret_cast<char*>(len_bytes), 8);
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | len_bytes[i];
  if (header_len > kMaxHeaderBytes)
    throw Error(path + ": header length " + std::to_string(header_len) +
                " exceeds the 100 MB limit (not a safetensors file?)");
  if (header_len > file_size - 8)
    throw Error(path + ": truncated: header length " + std::to_string(header_len) + " bytes but only " +
                std::to_string(file_size - 8) + " bytes follow the length field");
  std::string header(static_cast<size_t>(header_len), '\0');
  in.read(&header[0], static_cast<std::streamsize>(header_len));
  if (!in) throw Error(path + ": read error in the header");
  data_start_ = 8 + header_len;
  const uint64_t data_size = file_size - data_start_;

  json::Value root;
  try {
    root = json::parse(header);
  } catch (const Error& e) {
    throw Error(path + ": header is not valid JSON: " + e.what());
  }
  if (!root.is_object())
    throw Error(path + ": header must be a JSON object, got " + json::Value::type_name(root.type()));

  for (const auto& member : root.members()) {
    const std::string& name = member.first;
    const json::Value& v = member.second;
    if (name == "__metadata__") {
      if (!v.is_object()) throw Error(path + ": __metadata__ must be an object of strings");
      for (const auto& kv : v.members()) {
        if (!kv.second.is_string())
          throw Error(path + ": __metadata__ value of '" + kv.first + "' must be a string, got " +
                      json::Value::type_name(kv.second.type()));
        metadata_[kv.first] = kv.second.as_string();
      }
      continue;
    }
    const std::string where = path + ": tensor '" + name + "'";
    if (!v.is_object()) throw Error(where + ": entry must be an object with dtype, shape, data_offsets");
    const json::Value* dt = v.find("dtype");
    const json::Value* shape = v.find("shape");
    const json::Value* offs = v.find("data_offsets");
    if (!dt || !dt->is_string()) throw Error(where + ": missing or non-string \"dtype\"");
    if (!shape || !shape->is_array()) throw Error(where + ": missing or non-array \"shape\"");
    if (!offs || !offs->is_array() || offs->items().size() != 2)
      throw Error(where + ": \"data_offsets\" must be an array [begin, end]");

    TensorInfo info;
    info.name = name;
    info.st_dtype = dt->as_string();
    try {
      info.dtype = from_st_dtype(info.st_dtype);
    } catch (const Error& e) {
      throw Error(where + ": " + e.what());
    }
    for (const auto& d : shape->items()) {
      int64_t n = 0;
      if (!d.as_int64(&n) || n < 0)
        throw Error(where + ": shape entries must be non-negative integers, got " + json::write(*shape));
      info.shape.push_back(n);
    }
    int64_t b = 0, e = 0;
    if (!offs->items()[0].as_int64(&b) || !offs->items()[1].as_int64(&e) || b < 0 || e < b)
      throw Error(where + ": data_offsets must be integers 0 <= begin <= end, got " + json::write(*offs));
    info.begin = static_cast<uint64_t>(b);
    info.end = static_cast<uint64_t>(e);
    const int64_t numel = checked_numel(info.shape);
    if (numel < 0) throw Error(where + ": shape " + shape_string(info.shape) + " overflows");
    const uint64_t expect_bytes = static_cast<uint64_t>(numel) * (info.dtype.bits / 8);
    if (info.end - info.begin != expect_bytes)
      throw Error(where + ": " + info.st_dtype + " " + shape_string(info.shape) + " needs " +
                  std::to_string(expect_bytes) + " bytes but data_offsets [" + std::to_string(b) + ", " +
                  std::to_string(e) + "] span " + std::to_string(info.end - info.begin));
    if (info.end > data_size)
      throw Error(where + ": truncated file: data_offsets end at byte " + std::to_string(info.end) +
                  " of the data section, which holds only " + std::to_string(data_size) + " bytes");
    index_[name] = tensors_.size();
    tensors_.push_back(std::move(info));
  }

  std::sort(tensors_.begin(), tensors_.end(),
            [](const TensorInfo& a, const TensorInfo& b) { return a.begin < b.begin; });
  // Sorted by begin, a non-empty tensor overlaps another iff it starts before
  // the furthest end seen so far (empty tensors occupy no bytes).
  uint64_t furthest_end = 0;
  size_t furthest = 0;
  for (size_t i = 0; i < tensors_.size(); ++i) {
    const TensorInfo& t = tensors_[i];
    index_[t.name] = i;
    if (t.begin == t.end) continue;
    if (t.begin < furthest_end)
      throw Error(path + ": tensors '" + tensors_[furthest].name + "' and '" + t.name +
                  "' overlap in the data section");
    furthest_end = t.end;
    furthest = i;
  }
}

std::vector<std::string> Reader::names() const {
  std::vector<std::string> out;
  for (const auto& t : tensors_) out.push_back(t.name);
  return out;
}

const TensorInfo& Reader::info(const std::string& name) const {
  auto it = index_.find(name);
  if (it == index_.end()) {
    std::string all;
    for (const auto& t : tensors_) all += std::string(all.empty() ? "" : ", ") + t.name;
    throw Error(path_ + ": no tensor '" + name + "' (the file holds: " + (all.empty() ? "nothing" : all) + ")");
  }
  return tensors_[it->second];
}

HostTensor Reader::read_bytes(const TensorInfo& info, moert_dtype dtype, std::vector<int64_t> shape) const {
  HostTensor t(dtype, std::move(shape));
  if (t.nbytes() != info.end - info.begin)
    throw Error(MOERT_STATUS_INTERNAL, path_ + ": tensor '" + info.name + "': size mismatch reading");
  if (t.nbytes() == 0) return t;
  std::ifstream in(path_, std::ios::binary);
  if (!in) throw Error(path_ + ": cannot reopen the file to read tensor '" + info.name + "'");
  in.seekg(static_cast<std::streamoff>(data_start_ + info.begin));
  in.read(static_cast<char*>(t.data()), static_cast<std::streamsize>(t.nbytes()));
  if (!in || static_cast<size_t>(in.gcount()) != t.nbytes())
    throw Error(path_ + ": tensor '" + info.name + "': truncated read (file changed while reading?)");
  return t;
}

HostTensor Reader::read(const std::string& name) const {
  const TensorInfo& i = info(name);
  return read_bytes(i, i.dtype, i.shape);
}

HostTensor Reader::read(const std::string& name, moert_dtype dtype, const std::vector<int64_t>& shape) const {
  const TensorInfo& i = info(name);
  const bool fp4 = dtype == kFP4E2M1;
  // e8m0 scales often come as U8 (gpt-oss checkpoints): same bits, accepted.
  const bool e8m0_as_u8 = dtype == kE8M0 && i.dtype == kU8;
  const moert_dtype stored_dtype = (fp4 || e8m0_as_u8) ? kU8 : dtype;
  const std::vector<int64_t> stored_shape = fp4 ? packed_fp4_shape(shape) : shape;
  if (i.dtype != stored_dtype || i.shape != stored_shape) {
    std::string expected = describe(dtype, shape);
    if (fp4) expected += " (stored as u8 " + shape_string(stored_shape) + ")";
    throw Error(path_ + ": tensor '" + name + "': expected " + expected + ", got " + describe(i.dtype, i.shape));
  }
  return read_bytes(i, dtype, shape);
}

HostTensor Reader::read_any_shape(const std::string& name, moert_dtype dtype, int ndim) const {
  const TensorInfo& i = info(name);
  if (i.dtype != dtype || static_cast<int>(i.shape.size()) != ndim) {
    std::string dims;
    for (int k = 0; k < ndim; ++k) dims += std::string(k ? ", " : "") + "*";
    throw Error(path_ + ": tensor '" + name + "': expected " + dtype_name(dtype) + " [" + dims + "], got " +
                describe(i.dtype, i.shape));
  }
  return read_bytes(i, i.dtype, i.shape);
}

// ---------------------------------------------------------------- Writer

void Writer::add(const std::string& name, const HostTensor& tensor) {
  if (name.empty()) throw Error("safetensors writer: empty tensor name");
  if (name == "__metadata__") throw Error("safetensors writer: '__metadata__' is reserved");
  for (const auto& e : entries_)
    if (e.name == name) throw Error("safetensors writer: tensor '" + name + "' added twice");
  std::vector<int64_t> shape = tensor.shape();
  if (tensor.dtype() == kFP4E2M1) {
    // The bytes are already packed two per byte; only the shape changes.
    if (shape.empty() || shape.back() % 2 != 0)
      throw Error("safetensors writer: fp4_e2m1 tensor '" + name + "' needs an even last dimension, got " +
                  shape_string(shape));
    shape = packed_fp4_shape(shape);
  }
  entries_.push_back({name, to_st_dtype(tensor.dtype()), std::move(shape), tensor.data(), tensor.nbytes()});
}

void Writer::add_metadata(const std::string& key, const std::string& value) { metadata_[key] = value; }

void Writer::write(const std::string& path) const {
  json::Value header = json::Value::object();
  if (!metadata_.empty()) {
    json::Value meta = json::Value::object();
    for (const auto& kv : metadata_) meta.set(kv.first, json::Value::string(kv.second));
    header.set("__metadata__", std::move(meta));
  }
  uint64_t offset = 0;
  for (const auto& e : entries_) {
    json::Value t = json::Value::object();
    t.set("dtype", json::Value::string(e.st_dtype));
    json::Value shape = json::Value::array();
    for (int64_t d : e.shape) shape.push(json::Value::integer(d));
    t.set("shape", std::move(shape));
    json::Value offs = json::Value::array();
    offs.push(json::Value::integer(static_cast<int64_t>(offset)));
    offset += e.nbytes;
    offs.push(json::Value::integer(static_cast<int64_t>(offset)));
    t.set("data_offsets", std::move(offs));
    header.set(e.name, std::move(t));
  }
  std::string text = json::write(header);
  // Pad with spaces so the data section starts 8-byte aligned (as the
  // reference implementation does); JSON ignores trailing whitespace.
  while ((8 + text.size()) % 8 != 0) text += ' ';

  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw Error(path + ": cannot open the file for writing");
  unsigned char len_bytes[8];
  uint64_t n = text.size();
  for (int i = 0; i < 8; ++i, n >>= 8) len_bytes[i] = static_cast<unsigned char>(n & 0xFF);
  out.write(reinterpret_cast<const char*>(len_bytes), 8);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  for (const auto& e : entries_)
    out.write(static_cast<const char*>(e.data), static_cast<std::streamsize>(e.nbytes));
  out.flush();
  if (!out) throw Error(path + ": write failed (disk full?)");
}

}  // namespace safetensors
}  // namespace moert
