# moert_add_plugin(<name> SOURCES <src>... [LINK <lib>...] [OUTPUT_DIR <dir>]
#                  [INCLUDE <dir>...] [NO_INSTALL])
#
# Builds a backend as a MODULE library named libmoert-<name>.so with hidden
# visibility, exporting only the entry symbol (moert_plugin_entry_v1) through
# a version script. The target is called moert-plugin-<name>. Plugins land in
# ${MOERT_PLUGIN_OUTPUT_DIR} (found by `moert` next to bin/) unless OUTPUT_DIR
# says otherwise (the test plugins use that to stay out of discovery).
set(MOERT_PLUGIN_VERSION_SCRIPT ${CMAKE_CURRENT_LIST_DIR}/moert_plugin.map)

function(moert_add_plugin name)
  cmake_parse_arguments(P "NO_INSTALL" "OUTPUT_DIR" "SOURCES;LINK;INCLUDE" ${ARGN})
  if(NOT P_SOURCES)
    message(FATAL_ERROR "moert_add_plugin(${name}): SOURCES is required")
  endif()
  set(target moert-plugin-${name})
  add_library(${target} MODULE ${P_SOURCES})
  set_target_properties(${target} PROPERTIES
    OUTPUT_NAME moert-${name}
    PREFIX lib
    C_VISIBILITY_PRESET hidden
    CXX_VISIBILITY_PRESET hidden
    CUDA_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  if(P_OUTPUT_DIR)
    set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${P_OUTPUT_DIR})
  else()
    set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${MOERT_PLUGIN_OUTPUT_DIR})
  endif()
  target_include_directories(${target} PRIVATE ${CMAKE_SOURCE_DIR}/plugin_api ${P_INCLUDE})
  target_link_options(${target} PRIVATE
    "LINKER:--version-script=${MOERT_PLUGIN_VERSION_SCRIPT}"
    "LINKER:--no-undefined"
    # Keep libstdc++/libgcc symbols private so two plugins with different
    # copies of a library cannot clash through us.
    "LINKER:--exclude-libs,ALL")
  if(P_LINK)
    target_link_libraries(${target} PRIVATE ${P_LINK})
  endif()
  if(NOT P_NO_INSTALL AND NOT P_OUTPUT_DIR)
    install(TARGETS ${target} LIBRARY DESTINATION lib/moert/plugins)
  endif()
endfunction()
