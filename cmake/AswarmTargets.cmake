# Per-target build settings shared by every aswarm library, app, test and bench.
#
# Warnings go on our own targets only (never globally), so third-party headers
# and consumers of the installed package are not affected by our flags.

if(ASWARM_SANITIZE)
  # Global on purpose: every object in a sanitized binary must agree on the
  # ASan ABI, including test mains and gtest glue.
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()

# Debug information: "full" (-g, the default) or "lines" (-g1: line tables only, which is what
# sanitizer reports and crash backtraces need, and about a quarter less compile time on
# template-heavy sources; CI builds use it). Global, as the sanitizer flags are.
set(ASWARM_DEBUG_INFO "full" CACHE STRING "Debug information in -g builds: full or lines")
set_property(CACHE ASWARM_DEBUG_INFO PROPERTY STRINGS full lines)
if(ASWARM_DEBUG_INFO STREQUAL "lines")
  add_compile_options(-g1)  # after the build type's -g on the command line: the last one wins
elseif(NOT ASWARM_DEBUG_INFO STREQUAL "full")
  message(FATAL_ERROR "ASWARM_DEBUG_INFO must be full or lines, not '${ASWARM_DEBUG_INFO}'")
endif()

# aswarm_configure_target(<target>)
#   Warning flags (plus -Werror when ASWARM_WERROR is ON) for one of our targets.
function(aswarm_configure_target target)
  # -Wno-missing-field-initializers: GCC 12 warns when a designated initializer omits a member
  # that has a default member initializer, which is the options-struct style we use on purpose.
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic
    -Wno-missing-field-initializers
    $<$<BOOL:${ASWARM_WERROR}>:-Werror>)
endfunction()

# aswarm_uses_std_regex(<source>...)
#   GCC 12 with -fsanitize=address warns "may be used uninitialized" inside <regex>'s own
#   std::function members (a false positive in the standard library). Sources that instantiate
#   std::regex keep the warning but do not fail -Werror builds on it; nothing else is relaxed.
function(aswarm_uses_std_regex)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    set_source_files_properties(${ARGN} DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}
      PROPERTIES COMPILE_OPTIONS -Wno-error=maybe-uninitialized)
  endif()
endfunction()

# aswarm_add_library(<name> EXPORT_NAME <export> SOURCES ...)
#   A library `swarm_<name>` with the alias `swarm::<export>`, the public
#   include tree in both build and install interfaces, and our warning flags.
function(aswarm_add_library name)
  cmake_parse_arguments(ARG "" "EXPORT_NAME" "SOURCES" ${ARGN})
  add_library(swarm_${name} ${ARG_SOURCES})
  add_library(swarm::${ARG_EXPORT_NAME} ALIAS swarm_${name})
  set_target_properties(swarm_${name} PROPERTIES
    EXPORT_NAME ${ARG_EXPORT_NAME}
    VERSION ${PROJECT_VERSION}
    SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR}  # 0.x: minors may break the ABI
    POSITION_INDEPENDENT_CODE ON)
  target_include_directories(swarm_${name} PUBLIC
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
    $<BUILD_INTERFACE:${PROJECT_BINARY_DIR}/include>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_compile_features(swarm_${name} PUBLIC cxx_std_20)
  aswarm_configure_target(swarm_${name})
endfunction()

# aswarm_precompile(<target> <header>...)
#   A precompiled header for one of our many-source targets (ASWARM_PCH, on when aswarm is the
#   project). nlohmann/json, gtest and fmt cost 1-3 s of parsing in each source that includes
#   them (json alone is in ~140), about a third of a cold build on two cores, and CI builds the
#   tree three times. Call it only on targets with many sources (one or two would not repay the
#   header's own compile), with the headers most of that target's sources already include:
#   ASWARM_PCH_COMMON, plus fmt, gtest, CLI11, mpi.h or pybind11 where they are used, never a
#   header of a dependency the target does not link. A parent project (FetchContent) builds
#   without it, so the libraries' sources keep including what they use (package.fetchcontent).
set(ASWARM_PCH_COMMON <nlohmann/json.hpp> <chrono> <functional> <map> <memory> <optional> <string>
  <string_view> <vector>)
function(aswarm_precompile target)
  if(ASWARM_PCH)
    target_precompile_headers(${target} PRIVATE ${ARGN})
  endif()
endfunction()
