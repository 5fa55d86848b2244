// Swarm, selections, broadcast and scatter-gather under mpiexec at 1-4 ranks, against a real
// aswarm-mock-agent started by rank 0. The mock's script answers "agent <k>: <prompt>", so every
// test sees which hostfile agent answered which prompt; results must not depend on the number
// of ranks.

#include <mpi.h>

#include <algorithm>
#include <memory>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "mock_swarm.hpp"
#include "swarm/hostfile.hpp"
#include "swarm/mpi/broadcast.hpp"
#include "swarm/mpi/scatter_gather.hpp"
#include "swarm/mpi/strings.hpp"
#include "swarm/mpi/swarm.hpp"

namespace {

using swarm::Response;
using swarm::mock::test::TempDir;
using swarm::mpi::Communicator;
using swarm::mpi::Swarm;
using swarm::mpi_test::MockSwarm;

std::string who(std::size_t agent, const std::string& prompt) {
  return "agent " + std::to_string(agent) + ": " + prompt;
}

TEST(MpiSwarm, EveryRankKnowsAllEndpointsAndItsBlock) {
  MockSwarm mock({"--count", "10"});
  Swarm s = mock.swarm();
  const Communicator world;
  ASSERT_EQ(s.size(), 10u);
  const auto block = swarm::mpi::block_of(10, world.size(), world.rank());
  std::vector<std::size_t> expected(static_cast<std::size_t>(block.count));
  std::iota(expected.begin(), expected.end(), static_cast<std::size_t>(block.begin));
  EXPECT_EQ(s.local_agents(), expected);
  for (std::size_t a = 0; a < 10; ++a) {
    const auto owner = s.owner_of(a);
    const auto b = swarm::mpi::block_of(10, world.size(), owner);
    EXPECT_GE(static_cast<std::int64_t>(a), b.begin);
    EXPECT_LT(static_cast<std::int64_t>(a), b.begin + b.count);
  }
  // The endpoint list is identical everywhere: compare each rank's text with the root's.
  std::vector<swarm::Endpoint> mine;
  for (std::size_t a = 0; a < s.size(); ++a) mine.push_back(s.endpoint(a));
  const std::string text = swarm::format_hostfile(mine);
  std::string root_text = text;
  swarm::mpi::broadcast_string(root_text, world);
  EXPECT_EQ(text, root_text);
}

TEST(MpiSwarm, BadHostfileGivesTheSameErrorOnEveryRank) {
  const Communicator world;
  std::string path;
  TempDir dir;  // each rank has its own; only the root's file is read
  if (world.is_root()) {
    path = (dir.path() / "bad.hostfile").string();
    swarm::mock::test::write_file(path, "a:1\nb:99999\n");
  }
  swarm::mpi::broadcast_string(path, world);
  try {
    (void)Swarm::from_hostfile(world, path);
    FAIL() << "no error";
  } catch (const swarm::HostfileError& e) {
    EXPECT_EQ(std::string(e.what()), path + ":2: port 99999 is out of range (1-65535)");
    EXPECT_EQ(e.line(), 2u);
  }
  try {
    (void)Swarm::from_hostfile(world, path + ".missing");
    FAIL() << "no error";
  } catch (const swarm::HostfileError& e) {
    EXPECT_EQ(std::string(e.what()),
              path + ".missing: cannot read hostfile: No such file or directory");
  }
}

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

TEST(MpiSelections, ViewsKeepTheirAgentsRanksAndMapToTheirOwnAgents) {
  MockSwarm mock({"--count", "6", "--roles", "a,b"});
  Swarm s = mock.swarm();
  Swarm b = s.by_tag("role", "b");  // hostfile agents 1, 3, 5
  ASSERT_EQ(b.size(), 3u);
  // A view renumbers its agents but each stays with the rank that drives its hostfile position.
  std::vector<std::size_t> mine;
  for (std::size_t k = 0; k < b.size(); ++k) {
    EXPECT_EQ(b.owner_of(k), s.owner_of(b.hostfile_index(k))) << k;
    if (b.is_mine(k)) mine.push_back(k);
  }
  EXPECT_EQ(b.local_agents(), mine);
  std::vector<std::string> prompts = {"p0", "p1", "p2", "p3"};
  auto results = swarm::mpi::scatter_gather(b, prompts);
  if (Communicator().is_root()) {
    EXPECT_EQ(results[0].text, who(1, "p0"));
    EXPECT_EQ(results[1].text, who(3, "p1"));
    EXPECT_EQ(results[2].text, who(5, "p2"));
    EXPECT_EQ(results[3].text, who(1, "p3"));
    EXPECT_EQ(results[1].agent_index, 1);  // index within the view
  }
  const std::vector<std::size_t> picks = {4, 0};
  Swarm selected = s.select(picks);
  auto chosen = swarm::mpi::broadcast(selected, "s");
  Swarm sliced = s.slice(2, 5);
  auto sl = swarm::mpi::broadcast(sliced, "t");
  Swarm sampled = s.sample(3, 11);
  auto sa = swarm::mpi::broadcast(sampled, "u");
  if (Communicator().is_root()) {
    EXPECT_EQ(chosen[0].text, who(4, "s"));
    EXPECT_EQ(chosen[1].text, who(0, "s"));
    ASSERT_EQ(sl.size(), 3u);
    EXPECT_EQ(sl[0].text, who(2, "t"));
    EXPECT_EQ(sl[2].text, who(4, "t"));
    ASSERT_EQ(sa.size(), 3u);
  }
  // The sample is the same on every rank: compare each rank's endpoint ports with the root's.
  std::string ports;
  for (std::size_t k = 0; k < sampled.size(); ++k)
    ports += std::to_string(sampled.endpoint(k).port) + ",";
  std::string root_ports = ports;
  swarm::mpi::broadcast_string(root_ports, Communicator());
  EXPECT_EQ(ports, root_ports);
}

TEST(MpiSelections, EmptyViewIsRejectedOnEveryRank) {
  MockSwarm mock({"--count", "2"});
  Swarm s = mock.swarm();
  Swarm none = s.by_tag("role", "nobody");
  EXPECT_EQ(none.size(), 0u);
  const std::vector<std::string> prompts = {"x"};
  EXPECT_THROW(swarm::mpi::scatter_gather(none, prompts), std::logic_error);
  EXPECT_THROW(swarm::mpi::broadcast_and_reduce(none, "x", "y"), std::logic_error);
}

}  // namespace
