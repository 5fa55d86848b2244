// Scatter-gather and map-gather under mpiexec at 1-4 ranks, against a real aswarm-mock-agent
// started by rank 0 (script answers "agent <k>: <prompt>"): results must not depend on the
// number of ranks.

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
#include "swarm/mpi/scatter_gather.hpp"
#include "swarm/mpi/swarm.hpp"

namespace {

using swarm::Response;
using swarm::mpi::Communicator;
using swarm::mpi::Swarm;
using swarm::mpi_test::MockSwarm;
using swarm::mpi_test::who;

TEST(MpiScatterGather, PromptIGoesToAgentIModNInInputOrder) {
  MockSwarm mock({"--count", "7"});
  Swarm s = mock.swarm();
  std::vector<std::string> prompts;
  for (int i = 0; i < 25; ++i) prompts.push_back("p" + std::to_string(i));
  for (const std::size_t window : {std::size_t{4}, swarm::mpi::kDefaultWindow}) {
    const auto results = swarm::mpi::scatter_gather(s, prompts, {}, window);
    if (!Communicator().is_root()) continue;
    ASSERT_EQ(results.size(), 25u);
    for (std::size_t i = 0; i < 25; ++i) {
      EXPECT_EQ(results[i].text, who(i % 7, prompts[i])) << "window " << window;
      EXPECT_EQ(results[i].agent_index, static_cast<std::int64_t>(i % 7));
    }
  }
}

TEST(MpiScatterGather, BatchedListRequestsKeepTheMapping) {
  MockSwarm mock({"--count", "3"});
  Swarm s = mock.swarm(swarm::Protocol::completions);
  std::vector<std::string> prompts;
  for (int i = 0; i < 20; ++i) prompts.push_back("b" + std::to_string(i));
  std::vector<Response> results;
  std::vector<std::uint64_t> order;
  swarm::mpi::scatter_gather_windows(
      s,
      [&, next = std::size_t{0}](std::size_t max) mutable {
        std::vector<swarm::mpi::Work> w;
        for (; next < prompts.size() && w.size() < max; ++next)
          w.push_back({next, prompts[next], {}});
        return w;
      },
      [&](std::vector<std::uint64_t>&& indices, std::vector<Response>&& rs) {
        for (std::size_t k = 0; k < indices.size(); ++k) {
          order.push_back(indices[k]);
          results.push_back(std::move(rs[k]));
        }
      },
      /*window=*/8, {.max_tokens = 64}, /*batch_size=*/2);
  if (!Communicator().is_root()) return;
  ASSERT_EQ(results.size(), 20u);
  for (std::size_t i = 0; i < 20; ++i) {
    EXPECT_EQ(order[i], i);
    EXPECT_TRUE(results[i].success) << results[i].error;
    EXPECT_EQ(results[i].text, who(i % 3, prompts[i]));
    EXPECT_EQ(results[i].agent_index, static_cast<std::int64_t>(i % 3));
  }
}

// Windows overlap: a rank receives window w+1 while window w's requests are in flight and
// sends it at once. Agent 0 is slow, so window 0 stays open on the root while window 1 arrives;
// the root then has more requests in flight at once than any single window gives it. Run one
// window at a time, it never could.
TEST(MpiScatterGather, NextWindowStartsWhileTheCurrentOneDrains) {
  const auto n = 2 * static_cast<std::size_t>(Communicator().size());
  std::string slow = "0";
  for (std::size_t k = 2; k < n; k += 2) slow += "," + std::to_string(k);
  MockSwarm mock({"--count", std::to_string(n), "--latency", "fixed:20", "--slow-agents", slow,
                  "--slow-factor", "50"});
  Swarm s = mock.swarm();
  const std::size_t total = 3 * n;
  std::vector<std::vector<std::uint64_t>> windows;  // root: each window's input indices
  std::size_t next = 0;
  std::size_t answered = 0;
  swarm::mpi::scatter_gather_windows(
      s,
      [&](std::size_t max) {
        std::vector<swarm::mpi::Work> w;
        std::vector<std::uint64_t> indices;
        for (; next < total && w.size() < max; ++next) {
          w.push_back({next, "p" + std::to_string(next), {}});
          indices.push_back(next);
        }
        if (!w.empty()) windows.push_back(indices);
        return w;
      },
      [&](std::vector<std::uint64_t>&& indices, std::vector<Response>&& rs) {
        for (std::size_t k = 0; k < rs.size(); ++k) {
          EXPECT_EQ(rs[k].text, who(indices[k] % n, "p" + std::to_string(indices[k])));
        }
        answered += rs.size();
      },
      /*window=*/2 * n);
  if (!Communicator().is_root()) return;
  EXPECT_EQ(answered, total);
  ASSERT_GE(windows.size(), 2u);
  std::size_t biggest = 0;  // the most prompts one window gave the root
  for (const auto& w : windows) {
    const auto mine =
        std::count_if(w.begin(), w.end(), [&](std::uint64_t i) { return s.owner_of(i % n) == 0; });
    biggest = std::max(biggest, static_cast<std::size_t>(mine));
  }
  EXPECT_GT(s.local_pool().stats().max_in_flight, biggest);
}

TEST(MpiScatterGather, EmptyInputReturnsOnEveryRank) {
  MockSwarm mock({"--count", "3"});
  Swarm s = mock.swarm();
  // The root reads nothing and marks the end at once: every rank returns, nobody waits.
  EXPECT_TRUE(swarm::mpi::scatter_gather(s, std::vector<std::string>{}).empty());
  EXPECT_EQ(s.mpi_stats().bytes_sent, 0u);
}

TEST(MpiScatterGather, MapGatherFillsItems) {
  MockSwarm mock({"--count", "2"});
  Swarm s = mock.swarm();
  const std::vector<std::string> items = {"x", "y", "z"};
  const auto results = swarm::mpi::map_gather(s, items, "do {item} now");
  if (Communicator().is_root()) {
    ASSERT_EQ(results.size(), 3u);
    EXPECT_EQ(results[2].text, who(0, "do z now"));
  }
}

TEST(MpiScatterGather, RanksWithoutAgentsTakePart) {
  MockSwarm mock({"--count", "2"});
  Swarm s = mock.swarm();
  const std::vector<std::string> prompts = {"a", "b", "c", "d", "e"};
  const auto results = swarm::mpi::scatter_gather(s, prompts);
  const auto bcast = swarm::mpi::broadcast(s, "all");
  if (Communicator().is_root()) {
    ASSERT_EQ(results.size(), 5u);
    for (std::size_t i = 0; i < 5; ++i) EXPECT_EQ(results[i].text, who(i % 2, prompts[i]));
    ASSERT_EQ(bcast.size(), 2u);
  }
}

TEST(MpiScatterGather, AFailingAgentIsAFailedResponseNotAnError) {
  MockSwarm mock({"--count", "4", "--dead-agents", "2"});
  Swarm s = mock.swarm();
  std::vector<std::string> prompts(8, "x");
  const auto results = swarm::mpi::scatter_gather(s, prompts);
  if (!Communicator().is_root()) return;
  for (std::size_t i = 0; i < 8; ++i) {
    EXPECT_EQ(results[i].success, i % 4 != 2) << i;
    if (i % 4 == 2) {
      EXPECT_EQ(results[i].http_status, 503);
    }
  }
}

TEST(MpiScatterGatherDynamic, EveryInputOnceInOrderAnsweredByWhoeverHadRoom) {
  MockSwarm mock({"--count", "5"});
  Swarm s = mock.swarm();
  std::vector<std::string> prompts;
  for (int i = 0; i < 50; ++i) prompts.push_back("q" + std::to_string(i));
  const auto results =
      swarm::mpi::scatter_gather(s, prompts, {}, /*window=*/7, swarm::mpi::Schedule::dynamic);
  if (!Communicator().is_root()) {
    EXPECT_TRUE(results.empty());
    return;
  }
  ASSERT_EQ(results.size(), prompts.size());
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    ASSERT_TRUE(results[i].success) << results[i].error;
    ASSERT_GE(results[i].agent_index, 0);
    EXPECT_EQ(results[i].text, who(static_cast<std::size_t>(results[i].agent_index), prompts[i]));
  }
}

TEST(MpiScatterGatherDynamic, SlowAgentsReceiveFewerPrompts) {
  // Agent 1 answers in 150 ms, the others in 5 ms; two slots per agent, as vLLM's max_num_seqs.
  MockSwarm mock(
      {"--count", "4", "--latency", "fixed:5", "--slow-agents", "1", "--slow-factor", "30"});
  swarm::PoolOptions o = MockSwarm::options();
  o.per_agent_concurrency = 2;
  Swarm s = Swarm::from_hostfile(Communicator(), mock.hostfile(), o);
  const std::vector<std::string> prompts(120, "p");
  const auto results = swarm::mpi::scatter_gather(s, prompts, {}, swarm::mpi::kDefaultWindow,
                                                  swarm::mpi::Schedule::dynamic);
  if (!Communicator().is_root()) return;
  ASSERT_EQ(results.size(), prompts.size());
  std::vector<std::size_t> per_agent(4, 0);
  for (const auto& r : results) {
    ASSERT_TRUE(r.success) << r.error;
    ++per_agent.at(static_cast<std::size_t>(r.agent_index));
  }
  // The static rule would give it 30.
  EXPECT_LT(per_agent[1], 15u) << per_agent[0] << " " << per_agent[1] << " " << per_agent[2];
}

TEST(MpiScatterGather, WithFailoverADeadAgentsPromptsAreAnsweredByItsRanksOtherAgents) {
  // 8 agents: at up to 4 ranks the dead agent 2 always shares its rank with agent 3.
  MockSwarm mock({"--count", "8", "--dead-agents", "2"});
  swarm::PoolOptions o = MockSwarm::options();
  o.failover = true;
  o.cooldown_failures = 1;
  Swarm s = Swarm::from_hostfile(Communicator(), mock.hostfile(), o);
  std::vector<std::string> prompts;
  for (int i = 0; i < 40; ++i) prompts.push_back("f" + std::to_string(i));
  for (const auto schedule : {swarm::mpi::Schedule::fixed, swarm::mpi::Schedule::dynamic}) {
    const auto results = swarm::mpi::scatter_gather(s, prompts, {}, 16, schedule);
    if (!Communicator().is_root()) continue;
    ASSERT_EQ(results.size(), prompts.size());
    for (std::size_t i = 0; i < prompts.size(); ++i) {
      ASSERT_TRUE(results[i].success) << i << ": " << results[i].error;
      EXPECT_NE(results[i].agent_index, 2);
      EXPECT_EQ(results[i].text, who(static_cast<std::size_t>(results[i].agent_index), prompts[i]));
    }
  }
}

}  // namespace
