#include "swarm/mpi/strings.hpp"

#include <climits>
#include <cstdint>
#include <stdexcept>

#include "swarm/mpi/error.hpp"

namespace swarm::mpi {

void broadcast(std::string& text, Communicator comm, int root) {
  const bool is_root = comm.rank() == root;
  // -1 tells the other ranks the root could not send, so nobody waits for data that never comes.
  std::int64_t length = is_root ? static_cast<std::int64_t>(text.size()) : 0;
  if (is_root && length > INT_MAX) length = -1;
  check(MPI_Bcast(&length, 1, MPI_INT64_T, root, comm.mpi_communicator()), "MPI_Bcast");
  if (length < 0) {
    throw std::length_error("swarm::mpi::broadcast: string longer than INT_MAX bytes");
  }
  if (!is_root) text.resize(static_cast<std::size_t>(length));
  if (length > 0) {
    check(MPI_Bcast(text.data(), static_cast<int>(length), MPI_CHAR, root, comm.mpi_communicator()),
          "MPI_Bcast");
  }
}

}  // namespace swarm::mpi
