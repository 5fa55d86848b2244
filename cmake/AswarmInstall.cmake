# Install rules and the exported CMake package:
#   find_package(aswarm CONFIG REQUIRED) -> swarm::core, swarm::mpi
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(ASWARM_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/aswarm)

install(TARGETS swarm_core swarm_mpi EXPORT aswarmTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/swarm ${PROJECT_BINARY_DIR}/include/swarm
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS aswarm-mpi RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

install(EXPORT aswarmTargets NAMESPACE swarm:: DESTINATION ${ASWARM_CMAKE_DIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/aswarmConfig.cmake.in
  ${PROJECT_BINARY_DIR}/aswarmConfig.cmake INSTALL_DESTINATION ${ASWARM_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/aswarmConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/aswarmConfig.cmake ${PROJECT_BINARY_DIR}/aswarmConfigVersion.cmake
  DESTINATION ${ASWARM_CMAKE_DIR})
