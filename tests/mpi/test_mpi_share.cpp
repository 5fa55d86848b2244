// The per-rank MPI share (--summary's mpi_share) is complete: with the last rank's agents
// deliberately slow, the other ranks' waiting for it shows in their MpiStats, for the streaming
// pipeline (point-to-point farm) and the blackboard (collectives between steps). A wait with no
// request of its own outstanding is also counted as idle (MpiStats::idle_seconds).

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "mock_swarm.hpp"
#include "swarm/mpi/blackboard.hpp"
#include "swarm/mpi/pipeline.hpp"
#include "swarm/mpi/shard.hpp"

namespace {

using swarm::mpi_test::Communicator;
using swarm::mpi_test::MockSwarm;
using swarm::mpi_test::Swarm;

constexpr int kAgents = 4;
constexpr double kSlowSeconds = 0.4;  // fixed:20 ms x factor 20

/// 4 agents answering in 20 ms, except those of the last rank: 400 ms.
MockSwarm slow_last_rank(const std::string& roles = "") {
  const Communicator world;
  const auto last = swarm::mpi::block_of(kAgents, world.size(), world.size() - 1);
  std::string slow;
  for (auto a = last.begin; a < last.begin + last.count; ++a) {
    slow += (slow.empty() ? "" : ",") + std::to_string(a);
  }
  std::vector<std::string> args = {
      "--count", std::to_string(kAgents), "--latency", "fixed:20", "--slow-agents",
      slow,      "--slow-factor",         "20"};
  if (!roles.empty()) args.insert(args.end(), {"--roles", roles});
  return MockSwarm(args);
}

bool slow_rank() {
  const Communicator world;
  return world.rank() == world.size() - 1;
}

TEST(MpiShare, StreamingPipelineWaitsShowOnTheFastRanks) {
  MockSwarm mock = slow_last_rank();
  Swarm s = mock.swarm();
  swarm::mpi::Stage all;
  all.name = "all";
  all.prompt_template = "{input}";
  const std::vector<std::string> items = {"a", "b", "c"};
  const double before = s.mpi_stats().seconds;
  const auto r = swarm::mpi::run_pipeline_items(
      s, {all}, Communicator().is_root() ? items : std::vector<std::string>{});
  for (const auto& item : r.items) EXPECT_TRUE(item.success) << item.error;
  const double waited = s.mpi_stats().seconds - before;
  // Every item needs the slow agents' answers: the other ranks wait about 380 ms in MPI.
  if (!slow_rank()) {
    EXPECT_GT(waited, kSlowSeconds / 2) << "rank " << Communicator().rank();
  }
}

TEST(MpiShare, BlackboardWaitsShowOnTheFastRanks) {
  MockSwarm mock = slow_last_rank("hypotheses,critiques");
  Swarm s = mock.swarm();
  swarm::mpi::Blackboard board(
      s, {"hypotheses", "critiques"},
      [](const std::string& section, const swarm::mpi::BoardState&) { return "write " + section; });
  const double before = s.mpi_stats().seconds;
  const double idle_before = s.mpi_stats().idle_seconds;
  board.run(1);
  EXPECT_EQ(board.answers_ok(), static_cast<std::uint64_t>(kAgents));
  const double waited = s.mpi_stats().seconds - before;
  const double idle = s.mpi_stats().idle_seconds - idle_before;
  EXPECT_LE(idle, waited + 1e-9) << "idle time is a part of the MPI time";
  // The last rank drives agent 3 (a critic) at least: the critiques step waits ~380 ms for it,
  // with its own answers in, so idle.
  if (!slow_rank()) {
    EXPECT_GT(waited, kSlowSeconds / 2) << "rank " << Communicator().rank();
    EXPECT_GT(idle, kSlowSeconds / 2) << "rank " << Communicator().rank();
  }
}

}  // namespace
