# Fails unless the defined dynamic symbols of LIB are exactly EXPECT (a
# version script hides everything else, libstdc++ included).
execute_process(COMMAND ${NM} -D --defined-only ${LIB} OUTPUT_VARIABLE out RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "nm failed on ${LIB}")
endif()
string(REGEX MATCHALL "[^\n]+" lines "${out}")
set(names)
foreach(l ${lines})
  string(REGEX REPLACE "^[0-9a-fA-F]* *[A-Za-z] +" "" n "${l}")
  # Version-node symbols (e.g. an ABS version name) are not functions.
  if(NOT l MATCHES " A ")
    list(APPEND names ${n})
  endif()
endforeach()
if(NOT "${names}" STREQUAL "${EXPECT}")
  message(FATAL_ERROR "${LIB} exports [${names}], expected exactly [${EXPECT}]")
endif()
message(STATUS "${LIB} exports [${names}]")
