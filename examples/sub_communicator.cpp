// SPDX-License-Identifier: BSD-3-Clause
// An MPI code that gives its last rank(s) to a swarm: the other ranks keep computing on their
// own communicator, the swarm ranks ask every agent one question on theirs, and the answers come
// back to the code's rank 0 as ordinary MPI messages.
//
//   mpiexec -n 2 ./example_sub_communicator agents.hostfile
#include <mpi.h>

#include <cstdio>
#include <string>

#include <swarm/mpi/broadcast.hpp>
#include <swarm/mpi/communicator.hpp>
#include <swarm/mpi/environment.hpp>
#include <swarm/mpi/swarm.hpp>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s HOSTFILE\n", argv[0]);
    return 2;
  }
  const swarm::mpi::Environment env(argc, argv);  // initialises MPI unless the code already did
  int rank = 0;
  int size = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const int swarm_ranks = size > 1 ? size / 2 : 1;  // the last half drives the agents
  const bool in_swarm = rank >= size - swarm_ranks;
  MPI_Comm part = MPI_COMM_NULL;  // this rank's half; the code owns and frees it
  MPI_Comm_split(MPI_COMM_WORLD, in_swarm ? 1 : 0, rank, &part);
  const int swarm_root = size - swarm_ranks;  // world rank of the swarm's rank 0

  if (in_swarm) {
    // Every collective of the swarm runs on `part` only: the simulation ranks never join them.
    swarm::mpi::Swarm agents = swarm::mpi::Swarm::from_hostfile(swarm::mpi::Communicator(part), argv[1]);
    const auto answers = swarm::mpi::broadcast(agents, "Name a prime number.");
    if (swarm::mpi::Communicator(part).is_root()) {  // the answers land on the swarm's root
      std::string joined;
      for (const auto& r : answers) {
        joined += (r.success ? r.text : "(failed: " + r.error + ")") + "\n";
      }
      MPI_Send(joined.data(), static_cast<int>(joined.size()), MPI_CHAR, 0, 1, MPI_COMM_WORLD);
    }
  }
  if (rank == 0) {  // the code's own rank 0 (a simulation rank when size > 1)
    MPI_Status status;
    MPI_Probe(swarm_root, 1, MPI_COMM_WORLD, &status);
    int n = 0;
    MPI_Get_count(&status, MPI_CHAR, &n);
    std::string joined(static_cast<std::size_t>(n), '\0');
    MPI_Recv(joined.data(), n, MPI_CHAR, swarm_root, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    std::printf("rank 0 got from the swarm (world ranks %d-%d):\n%s", swarm_root, size - 1,
                joined.c_str());
  }
  MPI_Comm_free(&part);
  return 0;
}
