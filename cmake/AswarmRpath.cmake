# SPDX-License-Identifier: BSD-3-Clause
# Install RPATH for a top-level build (a parent project or Spack sets its own): installed
# binaries find our shared libraries next to them ($ORIGIN/../lib) and keep the directories of
# dependencies linked from outside the system paths (a Spack or $HOME prefix), so they run
# without LD_LIBRARY_PATH. System directories are never added.
include(GNUInstallDirs)
if(NOT DEFINED CMAKE_INSTALL_RPATH)
  file(RELATIVE_PATH _aswarm_bin_to_lib ${CMAKE_INSTALL_FULL_BINDIR} ${CMAKE_INSTALL_FULL_LIBDIR})
  set(CMAKE_INSTALL_RPATH "$ORIGIN/${_aswarm_bin_to_lib}")

endif()
if(NOT DEFINED CMAKE_INSTALL_RPATH_USE_LINK_PATH)
  set(CMAKE_INSTALL_RPATH_USE_LINK_PATH ON)
endif()
