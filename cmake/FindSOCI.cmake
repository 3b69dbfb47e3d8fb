# FindSOCI: SOCI 4.0 as Debian packages it (no CMake config is shipped).
#
# Components: core sqlite3 postgresql mysql
# Imported targets: SOCI::core, SOCI::sqlite3, SOCI::postgresql, SOCI::mysql
# (each backend target carries its client library's include directory).
include(FindPackageHandleStandardArgs)

find_path(SOCI_INCLUDE_DIR NAMES soci/soci.h)
find_library(SOCI_core_LIBRARY NAMES soci_core)
if(SOCI_INCLUDE_DIR AND EXISTS "${SOCI_INCLUDE_DIR}/soci/version.h")
  file(STRINGS "${SOCI_INCLUDE_DIR}/soci/version.h" _soci_ver
       REGEX "^#define SOCI_LIB_VERSION \"[0-9_]+\"")
  string(REGEX REPLACE ".*\"([0-9_]+)\".*" "\\1" _soci_ver "${_soci_ver}")
  string(REPLACE "_" "." SOCI_VERSION "${_soci_ver}")
endif()

set(_soci_required SOCI_INCLUDE_DIR SOCI_core_LIBRARY)
if(SOCI_core_LIBRARY AND NOT TARGET SOCI::core)
  add_library(SOCI::core UNKNOWN IMPORTED)
  set_target_properties(SOCI::core PROPERTIES
    IMPORTED_LOCATION "${SOCI_core_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${SOCI_INCLUDE_DIR}")
endif()
set(SOCI_core_FOUND ${SOCI_core_LIBRARY})

foreach(_backend IN ITEMS sqlite3 postgresql mysql)
  if(NOT _backend IN_LIST SOCI_FIND_COMPONENTS)
    continue()
  endif()
  find_library(SOCI_${_backend}_LIBRARY NAMES soci_${_backend})
  set(_extra_inc "")
  if(_backend STREQUAL "postgresql")
    find_path(_pq_inc NAMES libpq-fe.h PATH_SUFFIXES postgresql)
    set(_extra_inc ${_pq_inc})
  elseif(_backend STREQUAL "mysql")
    find_path(_my_inc NAMES mysql.h PATH_SUFFIXES mariadb mysql)
    set(_extra_inc ${_my_inc})
  endif()
  if(SOCI_${_backend}_LIBRARY)
    set(SOCI_${_backend}_FOUND TRUE)
    if(NOT TARGET SOCI::${_backend})
      add_library(SOCI::${_backend} UNKNOWN IMPORTED)
      set_target_properties(SOCI::${_backend} PROPERTIES
        IMPORTED_LOCATION "${SOCI_${_backend}_LIBRARY}"
        INTERFACE_INCLUDE_DIRECTORIES "${SOCI_INCLUDE_DIR};${_extra_inc}"
        INTERFACE_LINK_LIBRARIES SOCI::core)
    endif()
  endif()
endforeach()

find_package_handle_standard_args(SOCI
  REQUIRED_VARS ${_soci_required}
  VERSION_VAR SOCI_VERSION
  HANDLE_COMPONENTS)
mark_as_advanced(SOCI_INCLUDE_DIR SOCI_core_LIBRARY)
