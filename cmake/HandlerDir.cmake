# RBDTIER_HANDLER_DIR: where `cmake --install` puts handler_rbdtier.so. tcmu-runner loads
# handlers from one directory fixed when it was built (Debian/Ubuntu:
# /usr/lib/<multiarch>/tcmu-runner, Fedora/RHEL: /usr/lib64/tcmu-runner), not from the install
# prefix. Default: <libdir>/tcmu-runner when installing into /usr (what packages do); under any
# other prefix (/usr/local by default), the handler directory of the tcmu-runner installed on
# this machine when one is found, since tcmu-runner would not look under the prefix.
# Override with -DRBDTIER_HANDLER_DIR=PATH.
set(_handler_dir ${CMAKE_INSTALL_FULL_LIBDIR}/tcmu-runner)
if(NOT CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(_candidates /usr/lib64/tcmu-runner /usr/lib/tcmu-runner)
  if(CMAKE_LIBRARY_ARCHITECTURE)
    list(PREPEND _candidates /usr/lib/${CMAKE_LIBRARY_ARCHITECTURE}/tcmu-runner)
  endif()
  foreach(dir ${_candidates})
    file(GLOB _handlers ${dir}/handler_*.so)
    if(_handlers)
      set(_handler_dir ${dir})
      break()
    endif()
  endforeach()
endif()
set(RBDTIER_HANDLER_DIR ${_handler_dir} CACHE PATH "Where tcmu-runner loads handler_*.so from")
message(STATUS "handler_rbdtier.so installs into ${RBDTIER_HANDLER_DIR}")
