aswarm_add_mpi_test(aswarm_mpi_pipeline SOURCES test_pipeline.cpp RANKS 1 2 3 4
  LIBRARIES aswarm_test_support)
