// Benchmark: time of a full blackboard read (passive-target MPI_Get of every rank's window) with
// N entries on the board, every rank reading at once. Reported, never asserted.
//
//   mpiexec -n 64 build/bench/bench_board_read [entries=10000] [bytes_per_entry=200] [repeats=5]
//
// The entries are seeded by rank 0 (Blackboard::seed), so they all live in rank 0's window: the
// worst case for the owner, and no agents are needed (the endpoints are never contacted).

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <mpi.h>

#include "swarm/mpi/blackboard.hpp"
#include "swarm/mpi/environment.hpp"

int main(int argc, char** argv) {
  swarm::mpi::Environment env(argc, argv);
  const swarm::mpi::Communicator world;
  const long entries = argc > 1 ? std::atol(argv[1]) : 10000;
  const long bytes = argc > 2 ? std::atol(argv[2]) : 200;
  const int repeats = argc > 3 ? std::atoi(argv[3]) : 5;

  std::vector<swarm::Endpoint> none;  // no agents: only the board is exercised
  auto swarm = swarm::mpi::Swarm::from_endpoints(world, none);
  swarm::mpi::Blackboard board(swarm, {"hypotheses", "critiques"},
                               [](const std::string&, const swarm::mpi::BoardState&) {
                                 return std::string();
                               });
  std::vector<std::pair<std::string, std::string>> initial;
  if (world.is_root()) {
    for (long i = 0; i < entries; ++i) {
      initial.emplace_back(i % 2 == 0 ? "hypotheses" : "critiques",
                           std::string(static_cast<std::size_t>(bytes), static_cast<char>('a' + i % 26)));
    }
  }
  board.seed(initial);

  std::vector<double> mine;
  std::size_t seen = 0;
  for (int r = 0; r < repeats; ++r) {
    world.barrier();
    const auto t0 = std::chrono::steady_clock::now();
    const auto state = board.read();
    mine.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    seen = state.entries().size();
  }
  std::sort(mine.begin(), mine.end());
  double median = mine[mine.size() / 2];
  std::vector<double> all(static_cast<std::size_t>(world.size()));
  MPI_Gather(&median, 1, MPI_DOUBLE, all.data(), 1, MPI_DOUBLE, 0, MPI_COMM_WORLD);
  if (world.is_root()) {
    std::sort(all.begin(), all.end());
    fmt::print("board read: {} ranks, {} entries x {} B ({:.1f} MiB), all ranks reading at once\n",
               world.size(), seen, bytes, static_cast<double>(entries * bytes) / (1 << 20));
    fmt::print("  per-rank median of {} reads: min {:.1f} ms  median {:.1f} ms  max {:.1f} ms\n",
               repeats, all.front() * 1e3, all[all.size() / 2] * 1e3, all.back() * 1e3);
  }
  return 0;
}
