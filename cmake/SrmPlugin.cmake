# srm_add_plugin(<network> SOURCES a.c b.c [LIBS target...])
# Builds <network>.so into build/plugins/ with hidden visibility, so that the
# only exported symbol is srm_plugin_entry.
function(srm_add_plugin name)
  cmake_parse_arguments(P "" "" "SOURCES;LIBS" ${ARGN})
  add_library(${name} MODULE ${P_SOURCES})
  set_target_properties(${name} PROPERTIES
    PREFIX ""
    C_VISIBILITY_PRESET hidden
    LIBRARY_OUTPUT_DIRECTORY ${SRM_PLUGIN_OUTPUT_DIR})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/include)
  target_link_libraries(${name} PRIVATE ${P_LIBS})
  install(TARGETS ${name} LIBRARY DESTINATION ${SRM_PLUGIN_INSTALL_DIR})
endfunction()
