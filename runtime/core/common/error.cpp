// Converting plugin error objects into host exceptions at the ABI boundary.
#include "moert/error.h"

namespace moert {

const char* status_name(int32_t code) {
  switch (code) {
    case MOERT_STATUS_OK: return "OK";
    case MOERT_STATUS_INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case MOERT_STATUS_UNIMPLEMENTED: return "UNIMPLEMENTED";
    case MOERT_STATUS_UNAVAILABLE: return "UNAVAILABLE";
    case MOERT_STATUS_OUT_OF_MEMORY: return "OUT_OF_MEMORY";
    case MOERT_STATUS_FAILED_PRECONDITION: return "FAILED_PRECONDITION";
    case MOERT_STATUS_INTERNAL: return "INTERNAL";
    default: return "UNKNOWN_STATUS";
  }
}

std::string take_error_message(const moert_plugin_api* api, moert_error* err, int32_t* code) {
  if (code) *code = MOERT_STATUS_OK;
  if (err == nullptr) return {};
  int32_t c = api->error_code ? api->error_code(err) : MOERT_STATUS_INTERNAL;
  const char* m = api->error_message ? api->error_message(err) : nullptr;
  // Copy before destroying: the message is owned by the error object.
  std::string message = (m && *m) ? m : "(plugin returned an error without a message)";
  if (api->error_destroy) api->error_destroy(err);
  if (c == MOERT_STATUS_OK) c = MOERT_STATUS_INTERNAL;  // an error object must not say OK
  if (code) *code = c;
  return message;
}

void check(const moert_plugin_api* api, moert_error* err, const std::string& context) {
  if (err == nullptr) return;
  int32_t code = MOERT_STATUS_OK;
  std::string message = take_error_message(api, err, &code);
  throw Error(static_cast<moert_status>(code), context + ": " + message);
}

}  // namespace moert
