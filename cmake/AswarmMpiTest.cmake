# aswarm_add_mpi_test(<name> SOURCES <src>... RANKS <n>... [LIBRARIES <lib>...] [TIMEOUT <s>])
#
# Builds one GoogleTest executable with the MPI-aware main (output on rank 0,
# every rank fails when one fails) and registers one ctest entry per rank
# count, `<name>.np<n>`, launched through mpiexec. Rank counts are explicit so
# that odd counts (3) that break naive block arithmetic are always exercised.

function(aswarm_add_mpi_test name)
  cmake_parse_arguments(ARG "" "TIMEOUT" "SOURCES;RANKS;LIBRARIES" ${ARGN})
  if(NOT ARG_RANKS)
    message(FATAL_ERROR "aswarm_add_mpi_test(${name}): RANKS is required")
  endif()
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 120)
  endif()
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE aswarm_mpi_gtest_main swarm::mpi ${ARG_LIBRARIES})
  aswarm_configure_target(${name})
  foreach(n IN LISTS ARG_RANKS)
    add_test(NAME ${name}.np${n}
      COMMAND ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} ${n} ${MPIEXEC_PREFLAGS}
              $<TARGET_FILE:${name}> ${MPIEXEC_POSTFLAGS})
    # PROCESSORS lets `ctest -j` account for oversubscribed ranks; capped at
    # 2 so a 64-rank test still schedules on a 2-core machine.
    set(procs ${n})
    if(procs GREATER 2)
      set(procs 2)
    endif()
    set_tests_properties(${name}.np${n} PROPERTIES
      LABELS "mpi" TIMEOUT ${ARG_TIMEOUT} PROCESSORS ${procs})
  endforeach()
endfunction()
