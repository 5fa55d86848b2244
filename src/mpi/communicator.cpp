#include "swarm/mpi/communicator.hpp"

#include "swarm/mpi/error.hpp"

namespace swarm::mpi {

int Communicator::rank() const {
  int r = 0;
  check(MPI_Comm_rank(comm_, &r), "MPI_Comm_rank");
  return r;
}

int Communicator::size() const {
  int s = 0;
  check(MPI_Comm_size(comm_, &s), "MPI_Comm_size");
  return s;
}

void Communicator::barrier() const {
  check(MPI_Barrier(comm_), "MPI_Barrier");
}

}  // namespace swarm::mpi
