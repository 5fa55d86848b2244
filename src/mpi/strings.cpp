#include "swarm/mpi/strings.hpp"

#include "progress.hpp"
#include "transport.hpp"

namespace swarm::mpi {

void broadcast_string(std::string& text, Communicator comm, int root) {
  MpiStats unused;
  detail::Progress progress(unused);
  detail::broadcast_bytes(text, root, comm.mpi_communicator(), progress);
}

}  // namespace swarm::mpi
