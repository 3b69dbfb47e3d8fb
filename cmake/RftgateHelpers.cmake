# Project helpers: warnings, sanitizers, visibility, adapters, tests.

# Warnings for a target of the project.
function(rftgate_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic)
  if(RFTGATE_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

# AddressSanitizer + UndefinedBehaviorSanitizer for the whole build tree.
macro(rftgate_enable_sanitizers)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endmacro()

# Hides every symbol of a shared library but those named in `version_script`
# and keeps the symbols of static dependencies out of its dynamic table.
function(rftgate_hide_symbols target version_script)
  set_target_properties(${target} PROPERTIES
    CXX_VISIBILITY_PRESET hidden
    C_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    LINK_DEPENDS "${version_script}")
  target_link_options(${target} PRIVATE
    "LINKER:--version-script=${version_script}"
    "LINKER:--exclude-libs,ALL"
    "LINKER:--no-undefined")
endfunction()

# rftgate_add_adapter(<name> SOURCES ... [LIBRARIES ...])
# Builds librftgate_adapter_<name>.so, which exports only rft_adapter_entry,
# into the build tree's adapter folder, and installs it into the adapter
# folder of the installation.
function(rftgate_add_adapter name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBRARIES" ${ARGN})
  set(target rftgate_adapter_${name})
  add_library(${target} MODULE ${ARG_SOURCES})
  set_target_properties(${target} PROPERTIES
    PREFIX "lib"
    OUTPUT_NAME "rftgate_adapter_${name}"
    LIBRARY_OUTPUT_DIRECTORY "${RFTGATE_BUILD_ADAPTER_DIR}")
  target_link_libraries(${target} PRIVATE rftgate::sdk ${ARG_LIBRARIES})
  rftgate_warnings(${target})
  rftgate_hide_symbols(${target} "${RFTGATE_SOURCE_DIR}/cmake/adapter.map")
  install(TARGETS ${target} LIBRARY DESTINATION "${RFTGATE_INSTALL_ADAPTER_DIR}")
endfunction()

# rftgate_add_test(<name> SOURCES ... [LIBRARIES ...] [LABELS ...])
# A GoogleTest executable registered with ctest, test by test.
function(rftgate_add_test name)
  cmake_parse_arguments(ARG "" "TIMEOUT" "SOURCES;LIBRARIES;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_LIBRARIES} GTest::gmock GTest::gtest_main)
  target_include_directories(${name} PRIVATE "${RFTGATE_SOURCE_DIR}")
  rftgate_warnings(${name})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  gtest_discover_tests(${name}
    DISCOVERY_MODE PRE_TEST
    PROPERTIES LABELS "${ARG_LABELS}" TIMEOUT ${ARG_TIMEOUT}
               ENVIRONMENT "RFTGATE_BUILD_DIR=${CMAKE_BINARY_DIR}")
endfunction()

# For a test executable that loads and unloads librftgate.so: links
# libspdlog so that it stays resident. LeakSanitizer (GCC 12) crashes at exit
# on the thread-local storage of a library that was unloaded (spdlog caches
# the thread id), and a host that logs with spdlog itself keeps it loaded
# anyway; the plugin is still loaded and unloaded through its entry symbol.
function(rftgate_keep_spdlog_resident target)
  target_link_libraries(${target} PRIVATE
    "-Wl,--no-as-needed" spdlog::spdlog "-Wl,--as-needed")
endfunction()
