// Checks on borrowed moert_tensors with messages that say what is wrong,
// where, and what was expected (internal to moert_core).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "moert/moert_plugin.h"

namespace moert {
namespace checks {

std::vector<int64_t> shape_of(const moert_tensor& t);
// Present (data != NULL), ndim and every dimension equal to `shape`.
// expected_desc names the dims, e.g. "[T, hidden_size=128]".
void expect_shape(const moert_tensor& t, const std::string& name, const std::vector<int64_t>& shape,
                  const std::string& expected_desc);
void expect_dtype(const moert_tensor& t, const std::string& name, std::initializer_list<moert_dtype> allowed);
// Host-accessible memory: CPU, CUDA_HOST or ROCM_HOST.
void expect_host(const moert_tensor& t, const std::string& name);
// All three; the common case.
void expect(const moert_tensor& t, const std::string& name, std::initializer_list<moert_dtype> allowed,
            const std::vector<int64_t>& shape, const std::string& expected_desc);
std::string dim(const char* name, int64_t value);  // "hidden_size=128"

}  // namespace checks
}  // namespace moert
