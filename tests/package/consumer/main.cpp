// Uses the installed headers and libraries of both swarm::mpi and (transitively) swarm::core.
#include <cstdio>

#include <swarm/hostfile.hpp>
#include <swarm/mpi/communicator.hpp>
#include <swarm/mpi/environment.hpp>
#include <swarm/mpi/strings.hpp>
#include <swarm/version.hpp>

int main(int argc, char** argv) {
  swarm::mpi::Environment env(argc, argv);
  const swarm::mpi::Communicator world;
  std::string summary;
  if (world.is_root()) {
    const auto endpoints = swarm::parse_hostfile(argv[1]);
    summary = std::to_string(endpoints.size()) + " endpoints, first " + endpoints[0].url() +
              " role=" + std::string(endpoints[0].tag("role"));
  }
  swarm::mpi::broadcast_string(summary, world);
  if (world.rank() == world.size() - 1) {  // printed by the last rank: the broadcast arrived
    std::printf("consumer: %d ranks, %s (aswarm %s)\n", world.size(), summary.c_str(),
                swarm::kVersion);
  }
  return 0;
}
