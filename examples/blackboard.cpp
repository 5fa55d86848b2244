// SPDX-License-Identifier: BSD-3-Clause
// A blackboard: agents tagged role=hypotheses propose, agents tagged role=critiques criticise
// the proposals, for two rounds; the board lives in MPI window memory spread over the ranks.
//
//   mpiexec -n 2 ./example_blackboard agents.hostfile   # hostfile lines carry role=... tags
#include <cstdio>
#include <string>

#include <swarm/mpi/blackboard.hpp>
#include <swarm/mpi/communicator.hpp>
#include <swarm/mpi/environment.hpp>
#include <swarm/mpi/swarm.hpp>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s HOSTFILE\n", argv[0]);
    return 2;
  }
  const swarm::mpi::Environment env(argc, argv);
  const swarm::mpi::Communicator world;
  swarm::mpi::Swarm agents = swarm::mpi::Swarm::from_hostfile(world, argv[1]);

  // Runs on rank 0 only: the prompt for one section, built from the board as it stands (so the
  // critics of round r see the hypotheses of round r).
  auto prompt = [](const std::string& section, const swarm::mpi::BoardState& board) {
    std::string known;
    for (const std::string& h : board.texts("hypotheses")) {
      known += "\n- " + h;
    }
    if (section == "hypotheses") {
      return "Propose a new hypothesis about protein design. Known:" + known;
    }
    return "Criticise the weakest of these hypotheses:" + known;
  };
  swarm::mpi::Blackboard board(agents, {"hypotheses", "critiques"}, prompt);
  board.seed({{"hypotheses", "Stable folds need a hydrophobic core."}});
  const swarm::mpi::BoardState final_board = board.run(/*max_rounds=*/2);
  if (world.is_root()) {
    std::printf("%d rounds, %llu answers, %llu failed\n%s\n", board.round(),
                static_cast<unsigned long long>(board.answers_ok()),
                static_cast<unsigned long long>(board.answers_failed()),
                final_board.snapshot().dump(2).c_str());
  }
  return 0;
}
