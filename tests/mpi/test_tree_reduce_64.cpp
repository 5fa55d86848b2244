// tree_reduce at 64 (oversubscribed) ranks over 256 mock agents, fanin 8: the answer must be the
// seed's (256 -> 32 -> 4 -> 1) and identical on every rank.
//
// Also the benchmark of bench/tree_reduce_bench.sh (disabled here, run by the script with
// --gtest_also_run_disabled_tests): bytes and MPI time at the root for tree_reduce versus
// gathering every leaf answer at the root (mpi::broadcast), against the agents of
// $ASWARM_BENCH_HOSTFILE.

#include <mpi.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <gtest/gtest.h>

#include "swarm/mpi/broadcast.hpp"
#include "tree_reduce_reference.hpp"

namespace {

using swarm::mpi::Communicator;

TEST(MpiTreeReduce64, ManyRanksAgreeOnTheAnswer) {
  constexpr std::size_t kAgents = 256;
  constexpr std::size_t kFanin = 8;
  tree_test::MockSwarm mock(kAgents, {});
  auto s = mock.swarm();
  const Communicator world;
  const tree_test::MockModel model{.agents = kAgents};
  const auto want = tree_test::seed_tree_reduce(model, "q", kFanin, {});
  const auto got = swarm::mpi::tree_reduce(s, "q", tree_test::kReducePrompt, kFanin);
  // Short messages: a failure would otherwise print kilobytes of diff from each of 64 ranks.
  EXPECT_TRUE(got.response.success) << got.response.error;
  EXPECT_TRUE(got.response.text == want.text)
      << got.response.text.size() << " bytes, reference " << want.text.size();
  EXPECT_EQ(got.levels, want.levels);
  // The same bytes on every rank: compare with the root's copy.
  std::string root_text = got.response.text;
  swarm::mpi::broadcast_string(root_text, world);
  EXPECT_TRUE(got.response.text == root_text);
  EXPECT_EQ(got.levels.size(), 4u);
  if (world.is_root()) {
    EXPECT_EQ(mock.requests_per_agent(), want.calls);
  }
}

struct RootCost {
  double wall = 0;
  double mpi_seconds = 0;
  std::uint64_t bytes = 0;
};

template <typename F>
RootCost measure(swarm::mpi::Swarm& s, F&& run) {
  MPI_Barrier(MPI_COMM_WORLD);
  const auto before = s.mpi_stats();
  const auto start = std::chrono::steady_clock::now();
  run();
  const auto& after = s.mpi_stats();
  return {std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(),
          after.seconds - before.seconds, after.bytes_received - before.bytes_received};
}

TEST(MpiTreeReduceBench, DISABLED_RootTrafficTreeVersusGather) {
  const char* hostfile = std::getenv("ASWARM_BENCH_HOSTFILE");
  if (hostfile == nullptr) GTEST_SKIP() << "set ASWARM_BENCH_HOSTFILE";
  const char* fanin_env = std::getenv("ASWARM_BENCH_FANIN");
  const std::size_t fanin = fanin_env ? std::stoul(fanin_env) : 50;
  const Communicator world;
  swarm::PoolOptions o;
  o.model = "mock-model";
  o.model_max_context = 32768;
  o.max_tokens = 1024;  // the mock cuts answers at max_tokens: keep the ~1 KB answers whole
  auto s = swarm::mpi::Swarm::from_hostfile(world, hostfile, o);

  std::size_t gathered = 0;
  const auto gather = measure(s, [&] { gathered = swarm::mpi::broadcast(s, "q").size(); });
  swarm::mpi::TreeReduceResult result;
  const auto tree = measure(s, [&] {
    result = swarm::mpi::tree_reduce(s, "q", "summarise level {level}: {responses}", fanin);
  });
  if (!world.is_root()) return;
  ASSERT_TRUE(result.response.success) << result.response.error;
  std::uint64_t supervisor_calls = 0;
  for (const auto& l : result.levels) supervisor_calls += l.level > 0 ? l.calls : 0;
  std::printf("agents %zu, ranks %d, fanin %zu, answer %zu bytes\n", s.size(), world.size(), fanin,
              result.response.text.size());
  std::printf("%-34s root received %10llu bytes, root MPI %.3f s, wall %.3f s (%zu answers)\n",
              "gather every leaf (broadcast):", static_cast<unsigned long long>(gather.bytes),
              gather.mpi_seconds, gather.wall, gathered);
  std::printf(
      "%-34s root received %10llu bytes, root MPI %.3f s, wall %.3f s (%llu supervisor "
      "calls, %zu supervisor levels)\n",
      "tree_reduce:", static_cast<unsigned long long>(tree.bytes), tree.mpi_seconds,
      tree.wall, static_cast<unsigned long long>(supervisor_calls), result.levels.size() - 1);
}

}  // namespace
