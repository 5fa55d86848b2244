// The adaptive swarm under mpiexec at 1-4 ranks against a real aswarm-mock-agent: both schedules
// answer every input once in input order with the same texts; in dynamic mode a rank whose
// agents are all dead gives its work to the others (scatter-gather and tree-reduce leaves), a
// slow rank gives its unstarted prompts to faster ones at the end, an agent that starts listening
// late joins, and when every agent is dead each prompt fails after give_up_after instead of
// hanging.

#include <mpi.h>

#include <cctype>
#include <set>
#include <span>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "http_client.hpp"
#include "mock_swarm.hpp"
#include "swarm/mpi/scatter_gather.hpp"
#include "swarm/mpi/shard.hpp"
#include "swarm/mpi/swarm.hpp"
#include "swarm/mpi/tree_reduce.hpp"

namespace {

using swarm::Response;
using swarm::Seconds;
using swarm::mpi::Communicator;
using swarm::mpi::Schedule;
using swarm::mpi::Swarm;
using swarm::mpi_test::MockSwarm;
using swarm::mpi_test::who;

swarm::PoolOptions adaptive_options() {
  swarm::PoolOptions o = MockSwarm::options();
  o.failover = true;
  o.cooldown_failures = 1;
  o.per_agent_concurrency = 2;
  o.probe_interval = Seconds(0.1);
  o.probe_interval_max = Seconds(0.2);
  return o;
}

std::vector<std::string> numbered(const std::string& stem, int n) {
  std::vector<std::string> prompts;
  for (int i = 0; i < n; ++i) prompts.push_back(stem + std::to_string(i));
  return prompts;
}

/// Completion requests agent `agent` of the root's mock received (root only), scraped through
/// agent `via` (a dead agent answers 503 to /metrics too).
double completions_of(const MockSwarm& mock, std::size_t agent, std::size_t via = 0) {
  const auto& p = mock.process();
  const auto text = swarm::mock::test::http_get(p.url(via, "/metrics")).body;
  return swarm::mock::test::metric(text, "aswarm_mock_requests_total{port=\"" +
                                             std::to_string(p.port(agent)) +
                                             "\",route=\"/v1/chat/completions\"}");
}

TEST(MpiAdaptive, BothSchedulesAnswerEveryInputOnceInOrderWithTheSameTexts) {
  MockSwarm mock({"--count", "5", "--mode", "echo"});
  Swarm s = Swarm::from_hostfile(Communicator(), mock.hostfile(), adaptive_options());
  const auto prompts = numbered("e", 60);
  const auto fixed = swarm::mpi::scatter_gather(s, prompts, {}, 16, Schedule::fixed);
  const auto dynamic = swarm::mpi::scatter_gather(s, prompts, {}, 16, Schedule::dynamic);
  if (!Communicator().is_root()) return;
  ASSERT_EQ(fixed.size(), prompts.size());
  ASSERT_EQ(dynamic.size(), prompts.size());
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    ASSERT_TRUE(fixed[i].success) << fixed[i].error;
    ASSERT_TRUE(dynamic[i].success) << dynamic[i].error;
    // The echo depends on the prompt only, so it is the same at every rank count.
    EXPECT_EQ(fixed[i].text, "completion: " + prompts[i]);
    EXPECT_EQ(dynamic[i].text, fixed[i].text);
    EXPECT_EQ(fixed[i].agent_index, static_cast<std::int64_t>(i % 5));  // the seed's i mod N
  }
}

TEST(MpiAdaptive, SlowAgentsBenchedAtTheEndTakeOverWhenTheFastOnesDie) {
  // Odd agents are 8x slower (160 ms): once their latency is known they are benched whenever
  // the fast ones would finish the work left sooner (least_loaded.hpp). The fast ones die after
  // 12 requests each, so the slow ones must be brought back and finish everything.
  MockSwarm mock({"--count", "8", "--latency", "fixed:20", "--slow-agents", "1,3,5,7",
                  "--slow-factor", "8", "--dying-agents", "0,2,4,6", "--die-after-requests", "12"});
  Swarm s = Swarm::from_hostfile(Communicator(), mock.hostfile(), adaptive_options());
  const auto prompts = numbered("s", 120);
  const auto results = swarm::mpi::scatter_gather(s, prompts, {}, 64, Schedule::dynamic);
  if (!Communicator().is_root()) return;
  ASSERT_EQ(results.size(), prompts.size());
  double slow = 0;
  for (const std::size_t a : {1, 3, 5, 7}) slow += completions_of(mock, a, 1);
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    ASSERT_TRUE(results[i].success) << i << ": " << results[i].error;
    EXPECT_EQ(results[i].text, who(static_cast<std::size_t>(results[i].agent_index), prompts[i]));
  }
  EXPECT_GE(slow, 120.0 - 4 * 12) << "the slow agents did the dead ones' share";
}

TEST(MpiAdaptive, ARankWhoseAgentsAreAllDeadHasItsWorkDoneElsewhere) {
  const Communicator world;
  if (world.size() == 1) GTEST_SKIP() << "needs a second rank to take the work";
  // 8 agents; the last rank's block is dead (503 to everything).
  constexpr std::int64_t n = 8;
  std::set<std::int64_t> dead;
  std::string dead_list;
  for (std::int64_t i = 0; i < n; ++i) {
    if (swarm::mpi::block_owner(n, world.size(), i) != world.size() - 1) continue;
    dead.insert(i);
    dead_list += (dead_list.empty() ? "" : ",") + std::to_string(i);
  }
  MockSwarm mock({"--count", std::to_string(n), "--dead-agents", dead_list});
  Swarm s = Swarm::from_hostfile(world, mock.hostfile(), adaptive_options());
  const auto prompts = numbered("d", 80);
  const auto results = swarm::mpi::scatter_gather(s, prompts, {}, 32, Schedule::dynamic);
  if (!world.is_root()) return;
  ASSERT_EQ(results.size(), prompts.size());
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    ASSERT_TRUE(results[i].success) << i << ": " << results[i].error;
    EXPECT_EQ(dead.count(results[i].agent_index), 0u) << i;
    EXPECT_EQ(results[i].text, who(static_cast<std::size_t>(results[i].agent_index), prompts[i]));
  }
  // A dead agent sees what it held when its first failure cooled it: its 2 slots, each perhaps
  // taken once more by a prompt failing over from a dead neighbour before that (no retries
  // here). The static rule would have sent it 10.
  for (const auto d : dead) EXPECT_LE(completions_of(mock, static_cast<std::size_t>(d)), 4.0) << d;
}

TEST(MpiAdaptive, AtTheEndARankGivesItsUnstartedPromptsToRanksWithFreeSlots) {
  const Communicator world;
  if (world.size() == 1) GTEST_SKIP() << "needs a second rank to take the work";
  // The last rank's agents answer in 2 s, the others in 10 ms. The last rank holds twice what it
  // can run (its 2 slots per agent in flight, as many queued); once the root has handed out its
  // last prompt it takes the queued ones back for the fast ranks, so each slow slot serves one
  // prompt. Without the steal the slow agents would serve both rounds (4 s).
  constexpr std::int64_t n = 8;
  std::string slow_list;
  std::size_t slow_agents = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    if (swarm::mpi::block_owner(n, world.size(), i) != world.size() - 1) continue;
    slow_list += (slow_list.empty() ? "" : ",") + std::to_string(i);
    ++slow_agents;
  }
  MockSwarm mock({"--count", std::to_string(n), "--latency", "fixed:10", "--slow-agents",
                  slow_list, "--slow-factor", "200"});
  const auto options = adaptive_options();
  Swarm s = Swarm::from_hostfile(world, mock.hostfile(), options);
  const auto prompts = numbered("q", 120);
  const auto results = swarm::mpi::scatter_gather(s, prompts, {}, 128, Schedule::dynamic);
  if (!world.is_root()) return;
  ASSERT_EQ(results.size(), prompts.size());
  std::size_t by_slow = 0;
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    ASSERT_TRUE(results[i].success) << i << ": " << results[i].error;
    EXPECT_EQ(results[i].text, who(static_cast<std::size_t>(results[i].agent_index), prompts[i]));
    by_slow += swarm::mpi::block_owner(n, world.size(), results[i].agent_index) == world.size() - 1;
  }
  double slow_requests = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    if (swarm::mpi::block_owner(n, world.size(), i) != world.size() - 1) continue;
    slow_requests += completions_of(mock, static_cast<std::size_t>(i));
  }
  const auto slots = static_cast<double>(slow_agents * options.per_agent_concurrency);
  EXPECT_EQ(static_cast<double>(by_slow), slow_requests);
  EXPECT_LE(slow_requests, slots) << "the slow rank ran its queued prompts itself";
}

TEST(MpiAdaptive, TreeReduceLeavesInDynamicModeSurviveARankOfDeadAgents) {
  const Communicator world;
  if (world.size() == 1) GTEST_SKIP() << "needs a second rank to take the work";
  constexpr std::int64_t n = 8;
  std::string dead_list;
  for (std::int64_t i = 0; i < n; ++i) {
    if (swarm::mpi::block_owner(n, world.size(), i) != world.size() - 1) continue;
    dead_list += (dead_list.empty() ? "" : ",") + std::to_string(i);
  }
  MockSwarm mock({"--count", std::to_string(n), "--dead-agents", dead_list});
  auto options = adaptive_options();
  options.give_up_after = Seconds(1);  // the static run's dead leaves wait for a healthy agent
  Swarm s = Swarm::from_hostfile(world, mock.hostfile(), options);
  const auto items = numbered("t", 40);
  const std::span<const std::string> leaves(items);
  const auto dynamic = swarm::mpi::tree_reduce(s, "leaf {item}", "sum {responses}", 4, leaves, {},
                                               {.aggregation = true}, {}, Schedule::dynamic);
  // The same fleet under the static rule: the dead rank's share of the leaves fails.
  const auto fixed = swarm::mpi::tree_reduce(s, "leaf {item}", "sum {responses}", 4, leaves, {},
                                             {.aggregation = true}, {}, Schedule::fixed);
  ASSERT_TRUE(dynamic.response.success) << dynamic.response.error;
  EXPECT_EQ(dynamic.levels[0].inputs, items.size());  // every item exactly once
  EXPECT_EQ(dynamic.levels[0].ok, items.size());
  EXPECT_EQ(dynamic.levels[0].failed, 0u);
  EXPECT_EQ(fixed.levels[0].inputs, items.size());
  EXPECT_GT(fixed.levels[0].failed, 0u);
  // The final summary covers every leaf exactly once: the mock's answers quote their prompts.
  const std::string& text = dynamic.response.text;
  std::multiset<std::string> seen;
  for (auto at = text.find("leaf t"); at != std::string::npos; at = text.find("leaf t", at + 1)) {
    auto end = at + 6;
    while (end < text.size() && std::isdigit(static_cast<unsigned char>(text[end])) != 0) ++end;
    seen.insert(text.substr(at + 5, end - at - 5));
  }
  EXPECT_EQ(seen, std::multiset<std::string>(items.begin(), items.end()));
}

TEST(MpiAdaptive, AnAgentThatStartsListeningLateReceivesRequests) {
  // Agent 3 listens after 0.5 s; the run takes about 2 s (120 prompts, 3-4 agents with two
  // slots each, 50 ms per answer).
  MockSwarm mock({"--count", "4", "--latency", "fixed:50", "--late-agents", "3",
                  "--late-after-seconds", "0.5"});
  Swarm s = Swarm::from_hostfile(Communicator(), mock.hostfile(), adaptive_options());
  const auto prompts = numbered("l", 120);
  const auto results = swarm::mpi::scatter_gather(s, prompts, {}, 64, Schedule::dynamic);
  if (!Communicator().is_root()) return;
  ASSERT_EQ(results.size(), prompts.size());
  std::size_t by_late = 0;
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    ASSERT_TRUE(results[i].success) << i << ": " << results[i].error;
    EXPECT_EQ(results[i].text, who(static_cast<std::size_t>(results[i].agent_index), prompts[i]));
    by_late += results[i].agent_index == 3;
  }
  EXPECT_GT(by_late, 0u);
  EXPECT_GT(completions_of(mock, 3), 0.0);
}

TEST(MpiAdaptive, WithEveryAgentDeadEachPromptFailsAfterGiveUpInBothSchedules) {
  MockSwarm mock({"--count", "3", "--dead-agents", "0,1,2"});
  auto o = adaptive_options();
  o.give_up_after = Seconds(1);
  Swarm s = Swarm::from_hostfile(Communicator(), mock.hostfile(), o);
  const auto prompts = numbered("x", 12);
  for (const auto schedule : {Schedule::fixed, Schedule::dynamic}) {
    const auto results = swarm::mpi::scatter_gather(s, prompts, {}, 8, schedule);
    if (!Communicator().is_root()) continue;
    ASSERT_EQ(results.size(), prompts.size());
    for (std::size_t i = 0; i < prompts.size(); ++i) {
      const Response& r = results[i];
      EXPECT_FALSE(r.success) << i;
      EXPECT_EQ(r.kind, swarm::FailureKind::http_status) << i;
      // Those that reached an agent before every agent was cooling fail with its 503.
      if (r.error.starts_with("no healthy agent")) {
        EXPECT_EQ(r.error, "no healthy agent for 1 s: HTTP 503: this agent is down (--dead-agents)")
            << i;
      } else {
        EXPECT_EQ(r.error, "HTTP 503: this agent is down (--dead-agents)") << i;
      }
    }
  }
}

}  // namespace
