# Passes only when PROGRAM dies of a segmentation fault after saying it is
# about to read past the table (so it crashed on that read, not earlier).
execute_process(COMMAND ${PROGRAM} ${PLUGIN} OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
if(NOT rc MATCHES "Segmentation" OR NOT out MATCHES "reading the byte after it")
  message(FATAL_ERROR "expected a segmentation fault on the read past struct_size, got '${rc}':\n${out}${err}")
endif()
message(STATUS "guard page armed: ${rc}")
