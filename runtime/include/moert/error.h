// Host-side error type. Plugin errors (moert_error objects) are converted into
// moert::Error at the ABI boundary by check(); nothing here crosses the ABI.
#pragma once

#include <stdexcept>
#include <string>

#include "moert/moert_plugin.h"

namespace moert {

class Error : public std::runtime_error {
 public:
  Error(moert_status code, const std::string& message)
      : std::runtime_error(message), code_(code) {}
  explicit Error(const std::string& message) : Error(MOERT_STATUS_INVALID_ARGUMENT, message) {}
  moert_status code() const { return code_; }

 private:
  moert_status code_;
};

// Name of a status code, e.g. "UNIMPLEMENTED".
const char* status_name(int32_t code);

// Takes ownership of `err` (may be NULL). If non-NULL: reads code and message
// through `api`, destroys the error, and throws moert::Error whose message is
// "<context>: <plugin message>".
void check(const moert_plugin_api* api, moert_error* err, const std::string& context);

// Same, but returns the message instead of throwing ("" when err is NULL).
std::string take_error_message(const moert_plugin_api* api, moert_error* err, int32_t* code = nullptr);

}  // namespace moert
