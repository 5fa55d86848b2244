// SPDX-License-Identifier: BSD-3-Clause
// Scatter-gather from inside a simulation's time loop: every step, each rank's local state
// becomes a prompt, the swarm answers them all (sharded over every rank's agents), and rank 0
// reads the answers in input order before the next step.
//
//   mpiexec -n 2 ./example_simulation_loop agents.hostfile
#include <mpi.h>

#include <cstdio>
#include <string>
#include <vector>

#include <swarm/mpi/communicator.hpp>
#include <swarm/mpi/environment.hpp>
#include <swarm/mpi/scatter_gather.hpp>
#include <swarm/mpi/swarm.hpp>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s HOSTFILE\n", argv[0]);
    return 2;
  }
  const swarm::mpi::Environment env(argc, argv);
  const swarm::mpi::Communicator world;
  swarm::mpi::Swarm agents = swarm::mpi::Swarm::from_hostfile(world, argv[1]);

  double temperature = 300.0 + world.rank();  // this rank's piece of the simulation
  for (int step = 0; step < 3; ++step) {
    temperature *= 1.01;  // ... the real physics goes here ...

    // Gather one observation per rank on the root: these are the step's prompts.
    std::vector<double> all(static_cast<std::size_t>(world.size()));
    MPI_Gather(&temperature, 1, MPI_DOUBLE, all.data(), 1, MPI_DOUBLE, 0, world.mpi_communicator());
    std::vector<std::string> prompts;  // significant on the root only
    if (world.is_root()) {
      for (std::size_t r = 0; r < all.size(); ++r) {
        prompts.push_back("step " + std::to_string(step) + " region " + std::to_string(r) +
                          ": temperature " + std::to_string(all[r]) + " K. Anomalous?");
      }
    }
    // Collective: every rank drives its own agents; the answers come back in prompt order.
    const auto answers = swarm::mpi::scatter_gather(agents, prompts);
    int anomalies = 0;
    if (world.is_root()) {
      for (std::size_t i = 0; i < answers.size(); ++i) {
        std::printf("step %d prompt %zu agent %lld: %s\n", step, i,
                    static_cast<long long>(answers[i].agent_index),
                    answers[i].success ? answers[i].text.c_str() : answers[i].error.c_str());
        anomalies += answers[i].success && answers[i].text.find("yes") != std::string::npos;
      }
    }
    // The root's decision steers every rank's next step.
    MPI_Bcast(&anomalies, 1, MPI_INT, 0, world.mpi_communicator());
    if (anomalies > 0) {
      temperature *= 0.99;
    }
  }
  return 0;
}
