// Errors inside the CUDA plugin: C++ exceptions carrying a moert_status,
// turned into moert_error objects at every ABI entry by call().
#pragma once

#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

#include "moert/moert_plugin.hpp"

namespace moert_cuda {

struct StatusError : std::runtime_error {
  StatusError(moert_status c, const std::string& m) : std::runtime_error(m), code(c) {}
  moert_status code;
};

[[noreturn]] inline void fail(moert_status code, const std::string& msg) { throw StatusError(code, msg); }
inline void invalid_if(bool bad, const std::string& msg) {
  if (bad) fail(MOERT_STATUS_INVALID_ARGUMENT, msg);
}
inline void cuda_ok(cudaError_t e, const std::string& what) {
  if (e == cudaSuccess) return;
  cudaGetLastError();  // clear a sticky-free error so the next call starts clean
  fail(e == cudaErrorMemoryAllocation ? MOERT_STATUS_OUT_OF_MEMORY
       : (e == cudaErrorNoDevice || e == cudaErrorInsufficientDriver) ? MOERT_STATUS_UNAVAILABLE
                                                                      : MOERT_STATUS_INTERNAL,
       what + ": " + cudaGetErrorString(e));
}

// Runs fn (returning void) and converts exceptions into moert_error objects.
template <class Fn>
moert_error* call(const char* where, Fn&& fn) noexcept {
  return moert::plugin::guard(where, [&]() -> moert_error* {
    try {
      fn();
      return nullptr;
    } catch (const StatusError& e) {
      return moert::plugin::make_error(e.code, "%s: %s", where, e.what());
    }
  });
}

}  // namespace moert_cuda
