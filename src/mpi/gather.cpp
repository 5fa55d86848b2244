#include "swarm/mpi/gather.hpp"

#include "collectives.hpp"

namespace swarm::mpi {

std::vector<Response> gather_responses(Swarm& swarm, const std::vector<Response>& mine) {
  return detail::gather_responses(swarm, mine);
}

}  // namespace swarm::mpi
