# FindRbd: librbd C API (Debian ships no pkg-config file for it).
# Defines Rbd::rbd.
find_path(RBD_INCLUDE_DIR rbd/librbd.h)
find_library(RBD_LIBRARY rbd)
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(Rbd DEFAULT_MSG RBD_LIBRARY RBD_INCLUDE_DIR)
if(Rbd_FOUND AND NOT TARGET Rbd::rbd)
  add_library(Rbd::rbd UNKNOWN IMPORTED)
  set_target_properties(Rbd::rbd PROPERTIES IMPORTED_LOCATION "${RBD_LIBRARY}"
                        INTERFACE_INCLUDE_DIRECTORIES "${RBD_INCLUDE_DIR}")
endif()
