# Tree-reduce (issue 6): MPI tests at 1-4 ranks, one at 64 oversubscribed ranks, and the
# end-to-end tests of `aswarm-mpi --pattern tree-reduce` (registered here because this fragment
# is the pattern's own; they carry the e2e label like the others).
aswarm_add_mpi_test(aswarm_mpi_tree_reduce SOURCES test_tree_reduce.cpp RANKS 1 2 3 4
  LIBRARIES aswarm_test_support)
aswarm_add_mpi_test(aswarm_mpi_tree_reduce_64 SOURCES test_tree_reduce_64.cpp RANKS 64
  LIBRARIES aswarm_test_support TIMEOUT 300)

if(TARGET aswarm-mpi AND TARGET aswarm-mock-agent)
  foreach(case basic items output errors failures seed-options)
    add_test(NAME e2e.cli.tree-reduce.${case}
      COMMAND bash ${PROJECT_SOURCE_DIR}/tests/e2e/cli_tree_reduce.sh ${MPIEXEC_EXECUTABLE}
              $<TARGET_FILE:aswarm-mpi> $<TARGET_FILE:aswarm-mock-agent>
              ${CMAKE_CURRENT_BINARY_DIR}/cli_tree_reduce ${case})
    set_tests_properties(e2e.cli.tree-reduce.${case} PROPERTIES LABELS e2e TIMEOUT 120)
  endforeach()
endif()
