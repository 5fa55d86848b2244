// LocalRunner and the Swarm's addressing at 1-4 ranks against the mock (script mode answers
// "agent <k>: <prompt>"): work for this rank's agents, batch after batch, agent_index stamped
// with the swarm index, list requests per agent with batch_size > 1.

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "local_runner.hpp"
#include "mock_swarm.hpp"

namespace {

using swarm::mpi::Work;
using swarm::mpi_test::MockSwarm;
using swarm::mpi_test::Swarm;

using swarm::mpi_test::who;

/// This rank's share of `count` prompts under the prompt i -> agent i mod N rule.
std::vector<Work> my_work(const Swarm& s, std::size_t count, std::size_t first) {
  std::vector<Work> work;
  for (std::size_t i = first; i < first + count; ++i) {
    if (s.is_mine(i % s.size())) work.push_back(Work{i, "p" + std::to_string(i), {}});
  }
  return work;
}

TEST(LocalRunner, BatchesRunInOrderAndStampTheSwarmIndex) {
  MockSwarm mock({"--count", "5"});
  Swarm s = mock.swarm();
  swarm::mpi::detail::LocalRunner runner(s, {}, 1);
  const auto first = my_work(s, 12, 0);
  const auto second = my_work(s, 12, 12);
  std::vector<swarm::Response> a(first.size());
  std::vector<swarm::Response> b(second.size());
  runner.add(first, [&](std::size_t k, swarm::Response&& r) { a[k] = std::move(r); });
  runner.add(second, [&](std::size_t k, swarm::Response&& r) { b[k] = std::move(r); });
  EXPECT_EQ(runner.batches(), 2u);
  for (int guard = 0; guard < 2000 && runner.batches() > 0; ++guard) {
    runner.step(std::chrono::milliseconds(50));
    while (runner.front_done()) runner.pop_front();
  }
  ASSERT_EQ(runner.batches(), 0u);
  for (std::size_t k = 0; k < first.size(); ++k) {
    const auto agent = first[k].index % s.size();
    EXPECT_EQ(a[k].text, who(agent, first[k].prompt));
    EXPECT_EQ(a[k].agent_index, static_cast<std::int64_t>(agent));
  }
  for (std::size_t k = 0; k < second.size(); ++k) {
    EXPECT_EQ(b[k].text, who(second[k].index % s.size(), second[k].prompt));
  }
}

TEST(LocalRunner, ListRequestsKeepEachAgentsOrder) {
  MockSwarm mock({"--count", "3"});
  Swarm s = mock.swarm(swarm::Protocol::completions);
  const auto work = my_work(s, 10, 0);
  const auto results = swarm::mpi::detail::run_local(s, work, {}, 2);
  ASSERT_EQ(results.size(), work.size());
  for (std::size_t k = 0; k < work.size(); ++k) {
    EXPECT_TRUE(results[k].success) << results[k].error;
    EXPECT_EQ(results[k].agent_index, static_cast<std::int64_t>(work[k].index % s.size()));
  }
}

TEST(SwarmAddressing, AViewsAgentsKeepTheirRankAndAnswerAsTheViewsIndex) {
  MockSwarm mock({"--count", "7"});
  Swarm s = mock.swarm();
  const std::vector<std::size_t> picks = {6, 0, 3};
  Swarm v = s.select(picks);
  for (std::size_t k = 0; k < v.size(); ++k) {
    EXPECT_EQ(v.placement(k), s.placement(picks[k]));
    EXPECT_EQ(v.is_mine(k), s.is_mine(picks[k]));
  }
  std::size_t total = 0;
  for (int r = 0; r < s.communicator().size(); ++r) total += v.count_on(r);
  EXPECT_EQ(total, 3u);
  if (!v.local_agents().empty()) {
    const auto answers = v.ask(v.local_agents(), "hi");
    for (std::size_t j = 0; j < answers.size(); ++j) {
      const auto k = v.local_agents()[j];
      EXPECT_EQ(answers[j].agent_index, static_cast<std::int64_t>(k));
      EXPECT_EQ(answers[j].text, who(picks[k], "hi"));
    }
    // One engine per rank: the view's pool is the rank pool's.
    EXPECT_GE(s.rank_pool().stats().completed, answers.size());
  }
  for (std::size_t k = 0; k < v.size(); ++k) {
    if (!v.is_mine(k)) {
      EXPECT_THROW(v.submit(k, "x", [](swarm::Response&&) {}), std::logic_error);
    }
  }
}

}  // namespace
