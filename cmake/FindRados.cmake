# FindRados: librados C API (Debian ships no pkg-config file for it).
# Defines Rados::rados.
find_path(RADOS_INCLUDE_DIR rados/librados.h)
find_library(RADOS_LIBRARY rados)
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(Rados DEFAULT_MSG RADOS_LIBRARY RADOS_INCLUDE_DIR)
if(Rados_FOUND AND NOT TARGET Rados::rados)
  add_library(Rados::rados UNKNOWN IMPORTED)
  set_target_properties(Rados::rados PROPERTIES IMPORTED_LOCATION "${RADOS_LIBRARY}"
                        INTERFACE_INCLUDE_DIRECTORIES "${RADOS_INCLUDE_DIR}")
endif()
