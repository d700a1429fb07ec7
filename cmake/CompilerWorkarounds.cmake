# Flags for known compiler false positives, kept as narrow as the bug.
#
# GCC 12 and later at -O2/-O3 (Release, distribution flags) warn -Wrestrict inside libstdc++'s
# std::string when a string literal is prepended to a temporary string (`"x" + std::string(...)`,
# operator+ -> insert -> _M_replace inlined), where no overlapping copy exists (GCC bugs 105329,
# 105651). With -Werror that fails the build of every file that does so (engine/trace/
# line_parsers.cc, handler/gateway_config.cc, ...). Only GCC >= 12, only this warning; -Werror
# stays on for everything else.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_GREATER_EQUAL 12)
  add_compile_options($<$<COMPILE_LANGUAGE:CXX>:-Wno-restrict>)
endif()
