// SPDX-License-Identifier: BSD-3-Clause
// aswarm-stage: copy a model's weights (any directory tree) from the shared file system to
// node-local storage with one read of the shared file system, however many nodes the job has.
//
//   mpiexec -n <nodes> -ppn 1 aswarm-stage --source DIR --dest /tmp/DIR
//
// World rank 0 reads; the bytes go to one rank per node by MPI_Bcast; that rank writes them.
// Files land as "<name>.part" and are renamed when complete, so a half-staged tree never looks
// whole. Exit: 0 every node has the tree, 1 a read or write failed (each node says why), 2 usage.
#include <mpi.h>

#include <cstdio>
#include <exception>
#include <string>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "flags/number_flag.hpp"
#include "stage.hpp"
#include "swarm/mpi/communicator.hpp"
#include "swarm/mpi/environment.hpp"

int main(int argc, char** argv) {
  swarm::mpi::Environment env(argc, argv);
  const swarm::mpi::Communicator world;
  CLI::App app{"aswarm-stage: copy a directory tree from the shared file system to every node's "
               "local disk (one reader, an MPI broadcast to one writer per node)",
               "aswarm-stage"};
  swarm::stage::StageOptions options;
  std::size_t chunk_mib = 64;
  std::string source;
  app.add_option("--source", source, "directory to copy (read by rank 0 only)")
      ->required();
  app.add_option("--dest", options.dest,
                 "node-local directory to create; {node} becomes the node index")
      ->required();
  app.add_option("--chunk-mib", chunk_mib, "broadcast size, MiB")
      ->check(swarm::flags::positive<std::size_t>(2047));
  app.add_option("--simulate-nodes", options.simulate_nodes,
                 "tests on one machine: N contiguous blocks of ranks play N nodes")
      ->check(swarm::flags::in_range<int>(0, 1 << 20));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return world.is_root() ? app.exit(e) : 0;  // --help
    if (world.is_root()) {
      fmt::print(stderr, "aswarm-stage: error: {}\nRun with --help for more information.\n",
                 e.what());
    }
    return 2;
  }
  options.source = source;
  options.chunk_bytes = chunk_mib << 20;
  try {
    return swarm::stage::stage(options, world.mpi_communicator(), stderr);
  } catch (const std::exception& e) {
    // An MPI error: the other ranks may be inside a broadcast with this one; end them all.
    fmt::print(stderr, "aswarm-stage: rank {}: error: {}\n", world.rank(), e.what());
    MPI_Abort(world.mpi_communicator(), 1);
    return 1;
  }
}
