# Per-file flags for known compiler false positives, kept as narrow as the bug.
#
# GCC 12 at -O2/-O3 (Release, distribution flags) warns -Wrestrict inside libstdc++'s
# std::string (operator+ / _M_replace inlined) where no overlapping copy exists (GCC bugs
# 105329, 105651). With -Werror that fails the build of engine/trace/line_parsers.cc. Only that
# file, only GCC 12, only this warning.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_GREATER_EQUAL 12
   AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13 AND TARGET rbdtier_trace)
  set_source_files_properties(${CMAKE_SOURCE_DIR}/engine/trace/line_parsers.cc TARGET_DIRECTORY rbdtier_trace
    PROPERTIES COMPILE_OPTIONS -Wno-restrict)
endif()
