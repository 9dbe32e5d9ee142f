# Runs moert-conformance on PLUGIN and passes only when it FAILS (non-zero
# exit) AND its output matches EXPECT: a suite that fails for the wrong
# reason, or without saying why, does not pass.
execute_process(COMMAND ${CONFORMANCE} ${PLUGIN}
  OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
set(all "${out}${err}")
if(rc EQUAL 0)
  message(FATAL_ERROR "moert-conformance passed on ${PLUGIN}; expected a failure matching '${EXPECT}'.\n${all}")
endif()
if(NOT all MATCHES "${EXPECT}")
  message(FATAL_ERROR "moert-conformance failed on ${PLUGIN} (exit ${rc}) but its output does not match '${EXPECT}':\n${all}")
endif()
string(REGEX MATCH "[^\n]*${EXPECT}[^\n]*" line "${all}")
message(STATUS "failed as expected (exit ${rc}): ${line}")
