aswarm_add_mpi_test(aswarm_mpi_pipeline SOURCES test_pipeline.cpp RANKS 1 2 3 4
  LIBRARIES aswarm_test_support)
# An embedding MPI code's own point-to-point traffic during a streaming pipeline.
aswarm_add_mpi_test(aswarm_mpi_embedding SOURCES test_embedding.cpp RANKS 2 3
  LIBRARIES aswarm_test_support)
