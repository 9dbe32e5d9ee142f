// Reading and writing safetensors files (https://github.com/huggingface/safetensors):
//   8 bytes  little-endian u64 N = header length
//   N bytes  JSON object {"<name>": {"dtype": "BF16", "shape": [..], "data_offsets": [b, e]},
//                         "__metadata__": {"<key>": "<string>", ...} (optional)}
//   rest     raw little-endian tensor bytes; offsets are relative to its start
//
// dtypes: F64 F32 F16 BF16 I64 I32 U8 F8_E4M3 F8_E8M0 (moert names f64 f32
// f16 bf16 i64 i32 u8 fp8_e4m3 e8m0). 4-bit fp4_e2m1 tensors are stored as U8
// with the innermost dimension halved (two values per byte, low nibble = even
// element); read(name, kFP4E2M1, logical_shape) accepts that form.
// Every error is a moert::Error whose message starts with the file path and
// names the tensor, the expected and the found dtype/shape.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "moert/host_tensor.h"

namespace moert {
namespace safetensors {

struct TensorInfo {
  std::string name;
  std::string st_dtype;         // as in the file, e.g. "BF16"
  moert_dtype dtype;            // moert dtype of the stored elements
  std::vector<int64_t> shape;   // as stored
  uint64_t begin = 0, end = 0;  // byte range inside the data section
};

// moert dtype <-> safetensors dtype string; throw moert::Error when unknown.
std::string to_st_dtype(moert_dtype d);
moert_dtype from_st_dtype(const std::string& s);

// A parsed file. Tensor bytes are read from disk on demand.
class Reader {
 public:
  // Reads and validates the header: length within the file, valid JSON,
  // known dtypes, non-negative shapes, offsets inside the data section and
  // matching numel x element size, no overlapping tensors.
  explicit Reader(const std::string& path);

  const std::string& path() const { return path_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  // Tensor names in data order.
  std::vector<std::string> names() const;
  bool contains(const std::string& name) const { return index_.count(name) != 0; }
  // Throws "<path>: no tensor '<name>' (the file holds: a, b, ...)".
  const TensorInfo& info(const std::string& name) const;

  // The tensor as stored.
  HostTensor read(const std::string& name) const;
  // The tensor, checked against the expected dtype and shape (for fp4_e2m1,
  // the logical shape, stored as U8 with the last dim halved; e8m0 may also
  // be stored as U8 of the same shape). Throws
  // "<path>: tensor '<name>': expected bf16 [8, 4096], got f32 [8, 4096]".
  HostTensor read(const std::string& name, moert_dtype dtype, const std::vector<int64_t>& shape) const;
  // Same, but any shape of `ndim` dims is accepted (e.g. inputs of any T).
  HostTensor read_any_shape(const std::string& name, moert_dtype dtype, int ndim) const;

 private:
  HostTensor read_bytes(const TensorInfo& info, moert_dtype dtype, std::vector<int64_t> shape) const;
  std::string path_;
  uint64_t data_start_ = 0;
  std::map<std::string, std::string> metadata_;
  std::vector<TensorInfo> tensors_;            // data order
  std::map<std::string, size_t> index_;
};

// Collects tensors and writes one file. Tensors are borrowed, not copied (a
// layer's weights can be gigabytes): each must stay alive and unchanged until
// write() returns.
class Writer {
 public:
  // fp4_e2m1 tensors are written as U8 with the innermost dimension halved.
  // Throws on a duplicate or empty name, or a dtype safetensors cannot hold.
  void add(const std::string& name, const HostTensor& tensor);
  void add_metadata(const std::string& key, const std::string& value);
  // Writes the file (8-byte length, header padded to 8 bytes, data), checked.
  void write(const std::string& path) const;

 private:
  struct Entry {
    std::string name;
    std::string st_dtype;
    std::vector<int64_t> shape;  // as stored
    const void* data;
    size_t nbytes;
  };
  std::vector<Entry> entries_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace safetensors
}  // namespace moert
