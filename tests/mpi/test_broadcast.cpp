// Broadcast and broadcast-and-reduce under mpiexec at 1-4 ranks, against a real
// aswarm-mock-agent started by rank 0 (script answers "agent <k>: <prompt>").

#include <mpi.h>

#include <algorithm>
#include <memory>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "mock_swarm.hpp"
#include "swarm/mpi/broadcast.hpp"
#include "swarm/mpi/swarm.hpp"

namespace {

using swarm::Response;
using swarm::mpi::Communicator;
using swarm::mpi::Swarm;
using swarm::mpi_test::MockSwarm;
using swarm::mpi_test::who;

TEST(MpiBroadcast, OneResponsePerAgentInOrderOnTheRoot) {
  MockSwarm mock({"--count", "7"});
  Swarm s = mock.swarm();
  const auto results = swarm::mpi::broadcast(s, Communicator().is_root() ? "hello" : "ignored");
  if (!Communicator().is_root()) {
    EXPECT_TRUE(results.empty());
    return;
  }
  ASSERT_EQ(results.size(), 7u);
  for (std::size_t k = 0; k < 7; ++k) {
    EXPECT_TRUE(results[k].success) << results[k].error;
    EXPECT_EQ(results[k].text, who(k, "hello"));
    EXPECT_EQ(results[k].agent_index, static_cast<std::int64_t>(k));
  }
}

TEST(MpiBroadcast, ReduceUsesTheChosenAgentAndEveryRankGetsTheAnswer) {
  MockSwarm mock({"--count", "3", "--dead-agents", "1"});
  Swarm s = mock.swarm();
  const auto out = swarm::mpi::broadcast_and_reduce(s, "q", "sum: {responses}", 2);
  // Agent 1 is dead: its failure is left out of {responses}.
  EXPECT_TRUE(out.reduced.success) << out.reduced.error;
  EXPECT_EQ(out.reduced.text, who(2, "sum: " + who(0, "q") + "\n---\n" + who(2, "q")));
  EXPECT_EQ(out.reduced.agent_index, 2);
  if (Communicator().is_root()) {
    ASSERT_EQ(out.responses.size(), 3u);
    EXPECT_FALSE(out.responses[1].success);
    EXPECT_EQ(out.responses[1].http_status, 503);
  }
}

TEST(MpiBroadcast, ADeadReducerFailsOverToAnotherAgentOfItsRank) {
  // 8 agents: agent 1 shares its rank with agent 0 at 1-4 ranks. It is dead; its 503 in the
  // broadcast cools it, so with failover the reduce call goes to a live agent of its rank.
  MockSwarm mock({"--count", "8", "--dead-agents", "1"});
  auto options = MockSwarm::options();
  options.failover = true;
  options.cooldown_failures = 1;
  Swarm s = Swarm::from_hostfile(Communicator(), mock.hostfile(), options);
  const auto out = swarm::mpi::broadcast_and_reduce(s, "q", "sum: {responses}", 1);
  EXPECT_TRUE(out.reduced.success) << out.reduced.error;
  EXPECT_EQ(out.reduced.agent_index, 0);
  EXPECT_EQ(out.reduced.text.rfind(who(0, "sum: "), 0), 0u) << out.reduced.text;
  // Without failover the chosen reducer is the only one asked.
  Swarm fixed = mock.swarm();
  const auto failed = swarm::mpi::broadcast_and_reduce(fixed, "q", "sum: {responses}", 1);
  EXPECT_FALSE(failed.reduced.success);
  EXPECT_EQ(failed.reduced.http_status, 503);
}

}  // namespace
