# Runs one `moert` command line and checks its exit code and output.
#   -DCMD="bin|arg|arg"      the command, '|'-separated
#   -DEXPECT_RC=n            expected exit code
#   -DEXPECT="re1@@re2"      regexes that must all match stdout+stderr
#   -DCOPY_PLUGIN=file -DPLUGIN_DIR=dir   first copy one plugin into a fresh dir
string(REPLACE "|" ";" cmd "${CMD}")
if(COPY_PLUGIN)
  file(REMOVE_RECURSE "${PLUGIN_DIR}")
  file(MAKE_DIRECTORY "${PLUGIN_DIR}")
  file(COPY "${COPY_PLUGIN}" DESTINATION "${PLUGIN_DIR}")
endif()
execute_process(COMMAND ${cmd} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message("${out}${err}")
if(NOT rc STREQUAL "${EXPECT_RC}")
  message(FATAL_ERROR "exit code ${rc}, expected ${EXPECT_RC}")
endif()
if(EXPECT)
  string(REPLACE "@@" ";" regexes "${EXPECT}")
  foreach(re ${regexes})
    if(NOT "${out}${err}" MATCHES "${re}")
      message(FATAL_ERROR "output does not match '${re}'")
    endif()
  endforeach()
endif()
