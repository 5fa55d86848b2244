# Install rules and the exported packages:
#   CMake:      find_package(aswarm CONFIG REQUIRED) -> swarm::core, swarm::mpi
#   pkg-config: pkg-config --cflags --libs aswarm   (cmake/aswarm.pc.in)
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(ASWARM_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/aswarm)

install(TARGETS swarm_core swarm_mpi EXPORT aswarmTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/swarm ${PROJECT_BINARY_DIR}/include/swarm
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
if(ASWARM_BUILD_APPS)
  install(TARGETS aswarm-mpi aswarm-stage RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()
install(FILES ${PROJECT_SOURCE_DIR}/LICENSE DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/aswarm)

# Static libraries carry their private dependencies to every consumer's link line; shared ones
# do not. Both the CMake config and the .pc file say only what the installed kind needs.
get_target_property(_aswarm_kind swarm_core TYPE)
if(_aswarm_kind STREQUAL "STATIC_LIBRARY")
  set(ASWARM_STATIC ON)
else()
  set(ASWARM_STATIC OFF)
endif()

install(EXPORT aswarmTargets NAMESPACE swarm:: DESTINATION ${ASWARM_CMAKE_DIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/aswarmConfig.cmake.in
  ${PROJECT_BINARY_DIR}/aswarmConfig.cmake INSTALL_DESTINATION ${ASWARM_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/aswarmConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/aswarmConfig.cmake ${PROJECT_BINARY_DIR}/aswarmConfigVersion.cmake
  DESTINATION ${ASWARM_CMAKE_DIR})

# aswarm.pc: paths relative to the file itself (${pcfiledir}), so `cmake --install --prefix`
# anywhere and a moved prefix both work. MPI comes from the mpicxx wrapper the user compiles with
# (or `pkg-config mpich`), as usual for MPI codes; everything else is named here.
file(RELATIVE_PATH ASWARM_PC_TO_PREFIX ${CMAKE_INSTALL_FULL_LIBDIR}/pkgconfig ${CMAKE_INSTALL_PREFIX})
string(REGEX REPLACE "/$" "" ASWARM_PC_TO_PREFIX "${ASWARM_PC_TO_PREFIX}")
set(ASWARM_PC_DEPS "libcurl fmt spdlog re2 libutf8proc mpfr")
if(ASWARM_STATIC)
  set(ASWARM_PC_REQUIRES "nlohmann_json ${ASWARM_PC_DEPS}")
  set(ASWARM_PC_REQUIRES_PRIVATE "")
else()
  set(ASWARM_PC_REQUIRES "nlohmann_json")
  set(ASWARM_PC_REQUIRES_PRIVATE "${ASWARM_PC_DEPS}")
endif()
configure_file(${PROJECT_SOURCE_DIR}/cmake/aswarm.pc.in ${PROJECT_BINARY_DIR}/aswarm.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/aswarm.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
