// Argument checks shared by the test-good runner and experts kernel: each
// returns NULL or an INVALID_ARGUMENT error naming the call, the tensor and
// what was expected versus what came.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>

#include "moert/moert_plugin.hpp"

namespace moert_test_good {

constexpr moert_dtype kF32{MOERT_DTYPE_FLOAT, 32, 1};
constexpr moert_dtype kF16{MOERT_DTYPE_FLOAT, 16, 1};
constexpr moert_dtype kBF16{MOERT_DTYPE_BFLOAT, 16, 1};
constexpr moert_dtype kI32{MOERT_DTYPE_INT, 32, 1};
constexpr moert_dtype kU8{MOERT_DTYPE_UINT, 8, 1};

std::string dtype_str(moert_dtype d);
std::string shape_str(const moert_tensor& t);
std::string shape_str(std::initializer_list<int64_t> shape);

// A present, compact host tensor of exactly `dtype` and `shape`.
moert_error* expect_tensor(const char* call, const char* name, const moert_tensor& t,
                           moert_dtype dtype, std::initializer_list<int64_t> shape);

// A present 1-D u8 host workspace of at least `bytes` bytes.
moert_error* expect_workspace(const char* call, const moert_tensor& t, size_t bytes);

}  // namespace moert_test_good
