# Runs moert-conformance on PLUGIN and passes only when it exits 0 AND its
# output matches EXPECT (the probe's reason on every skipped test).
execute_process(COMMAND ${CONFORMANCE} ${PLUGIN}
  OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "moert-conformance exited ${rc} on ${PLUGIN}; a plugin whose probe says "
                      "'not usable' must give exit code 0 (all tests skipped):\n${out}${err}")
endif()
if(NOT "${out}${err}" MATCHES "${EXPECT}")
  message(FATAL_ERROR "output does not match '${EXPECT}':\n${out}${err}")
endif()
message(STATUS "exit 0 and the probe's reason in the output")
