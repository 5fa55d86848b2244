aswarm_add_mpi_test(aswarm_mpi_blackboard SOURCES test_blackboard.cpp RANKS 1 2 3 4
  LIBRARIES aswarm_test_support)
