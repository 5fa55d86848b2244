// Endpoint health and failover against the real mock: dead agents go cooling after
// cooldown_failures failed requests and are probed on /health (the mock counts the probes), a
// probe that answers 2xx brings an agent back, failover moves prompts to healthy agents of the
// submitting pool, and a pool with no healthy agent gives up after give_up_after.

#include <thread>
#include <vector>

#include "pool_test_util.hpp"

namespace swarm::pool_test {
namespace {

constexpr const char* kChat = "/v1/chat/completions";

PoolOptions health_options() {
  auto o = test_options();
  o.retries = 0;
  o.probe_interval = Seconds(0.05);
  o.probe_interval_max = Seconds(0.1);
  return o;
}

/// poll()s (which returns at once when no request is outstanding, so the loop sleeps too)
/// until `done()` or about `limit`; bounded either way.
template <typename Done>
void drive(AgentPool& pool, Done&& done, std::chrono::milliseconds limit = 15s) {
  for (auto waited = 0ms; waited < limit && !done(); waited += 20ms) {
    pool.poll(20ms);
    std::this_thread::sleep_for(20ms);
  }
}

TEST(PoolHealth, ADeadAgentCoolsAfterKFailuresAndIsProbed) {
  MockProcess mock({"--count", "2", "--dead-agents", "1"});
  auto o = health_options();
  o.cooldown_failures = 3;
  AgentPool pool(mock.agents(), o);
  EXPECT_EQ(pool.healthy_count(), 2u);
  for (int i = 0; i < 2; ++i) EXPECT_FALSE(pool.post(1, "x").success);
  EXPECT_EQ(pool.health(1), AgentHealth::healthy);  // two failures are not yet three
  EXPECT_FALSE(pool.post(1, "x").success);
  EXPECT_EQ(pool.health(1), AgentHealth::cooling);
  EXPECT_EQ(pool.health(0), AgentHealth::healthy);
  EXPECT_EQ(pool.healthy_count(), 1u);
  EXPECT_EQ(pool.stats().cooldowns, 1u);

  drive(pool, [&] { return pool.stats().probes >= 3; });
  EXPECT_GE(pool.stats().probes, 3u);
  EXPECT_EQ(pool.health(1), AgentHealth::cooling);  // /health answers 503 too
  const auto m = metrics_of(mock);
  EXPECT_GE(requests(m, mock, 1, "/health"), 2);  // the last probe may still be on its way
  EXPECT_LE(requests(m, mock, 1, "/health"), static_cast<double>(pool.stats().probes));
  EXPECT_EQ(requests(m, mock, 0, "/health"), 0);
  EXPECT_EQ(requests(m, mock, 1, kChat), 3);
  // Probes are the engine's own: not requests, not attempts.
  EXPECT_EQ(pool.outstanding(), 0u);
  EXPECT_EQ(pool.stats().attempts, 3u);
}

TEST(PoolHealth, InFlightAndRecentLatency) {
  MockProcess mock({"--count", "2"});
  AgentPool pool(mock.agents(), health_options());
  EXPECT_EQ(pool.recent_latency(0).count(), 0.0);
  std::size_t done = 0;
  for (int i = 0; i < 5; ++i) pool.submit(0, "x", [&](Response&&) { ++done; });
  EXPECT_EQ(pool.in_flight(0), 5u);
  EXPECT_EQ(pool.in_flight(1), 0u);
  pool.wait_all();
  EXPECT_EQ(done, 5u);
  EXPECT_EQ(pool.in_flight(0), 0u);
  EXPECT_GT(pool.recent_latency(0).count(), 0.0);
  EXPECT_LT(pool.recent_latency(0).count(), 10.0);
  EXPECT_EQ(pool.recent_latency(1).count(), 0.0);
}

TEST(PoolHealth, FailoverOffKeepsEveryRequestOnItsAgent) {
  MockProcess mock({"--count", "2", "--dead-agents", "1"});
  auto o = health_options();
  o.cooldown_failures = 1;
  AgentPool pool(mock.agents(), o);
  for (int round = 0; round < 3; ++round) {
    const auto r = pool.broadcast_prompt("x");
    EXPECT_TRUE(r[0].success);
    EXPECT_FALSE(r[1].success);
    EXPECT_EQ(r[1].agent_index, 1);
    EXPECT_EQ(r[1].http_status, 503);
    EXPECT_EQ(r[1].attempts, 1);
    EXPECT_EQ(r[1].error, "HTTP 503: this agent is down (--dead-agents)");
  }
  EXPECT_EQ(pool.health(1), AgentHealth::cooling);
  EXPECT_EQ(pool.stats().failovers, 0u);
  EXPECT_EQ(requests(metrics_of(mock), mock, 1, kChat), 3);
}

TEST(PoolHealth, FailoverAnswersADeadAgentsPromptsElsewhere) {
  TempDir dir;
  MockProcess mock(concat({"--count", "4", "--dead-agents", "1"}, script_mode(dir)));
  auto o = health_options();
  o.failover = true;
  o.retries = 1;
  o.cooldown_failures = 2;
  AgentPool pool(mock.agents(), o);
  for (int i = 0; i < 6; ++i) {
    const std::string prompt = "p" + std::to_string(i);
    const auto r = pool.post(1, prompt);
    ASSERT_TRUE(r.success) << r.error;
    EXPECT_NE(r.agent_index, 1);
    EXPECT_EQ(r.text, "agent " + std::to_string(r.agent_index) + ": " + prompt);
    // A refused connection moves the prompt at once, without the retry on the dead agent: one
    // attempt there and one on the agent that answered, until it cools after two such failures.
    EXPECT_EQ(r.attempts, i < 2 ? 2 : 1) << i;
  }
  EXPECT_EQ(pool.health(1), AgentHealth::cooling);
  EXPECT_EQ(pool.stats().failovers, 6u);
  // The dead agent saw cooldown_failures requests of one attempt each, and nothing since.
  EXPECT_EQ(requests(metrics_of(mock), mock, 1, kChat), 2);

  std::vector<std::string> prompts;
  for (int i = 0; i < 40; ++i) prompts.push_back("q" + std::to_string(i));
  const auto results = pool.send_all(prompts);
  for (std::size_t i = 0; i < results.size(); ++i) {
    ASSERT_TRUE(results[i].success) << i << ": " << results[i].error;
    EXPECT_NE(results[i].agent_index, 1);
  }
  EXPECT_EQ(requests(metrics_of(mock), mock, 1, kChat), 2);
}

TEST(PoolHealth, FailoverPicksTheLeastLoadedAgentAndStaysInTheSubPool) {
  TempDir dir;
  MockProcess mock(concat({"--count", "4", "--dead-agents", "0"}, script_mode(dir)));
  auto o = health_options();
  o.failover = true;
  AgentPool pool(mock.agents(), o);
  // Agent 1 is busy (or, if its answers come first, slower than the unmeasured agent 2).
  std::size_t busy = 0;
  for (int i = 0; i < 4; ++i) pool.submit(1, "busy", [&](Response&&) { ++busy; });
  auto sub = pool.slice(0, 3);  // agents 0, 1, 2: never agent 3
  const auto r = sub.post(0, "x");
  ASSERT_TRUE(r.success) << r.error;
  EXPECT_EQ(r.agent_index, 2);
  EXPECT_EQ(r.text, "agent 2: x");
  pool.wait_all();
  EXPECT_EQ(busy, 4u);

  // Sub-pool numbering: in select({0, 3}) the dead agent is 0 and the healthy one 1.
  const std::vector<std::size_t> pick{0, 3};
  auto pair = pool.select(pick);
  const auto s = pair.post(0, "y");
  ASSERT_TRUE(s.success) << s.error;
  EXPECT_EQ(s.agent_index, 1);
  EXPECT_EQ(s.text, "agent 3: y");
}

TEST(PoolHealth, AnAgentWhoseHealthComesUpLateIsHealthyAgain) {
  // Prompts fail with 500 (a cooling failure); /health answers 503 for the first 3 s.
  MockProcess mock({"--count", "1", "--fail-500", "1", "--health-delay", "3"});
  auto o = health_options();
  o.cooldown_failures = 2;
  AgentPool pool(mock.agents(), o);
  for (int i = 0; i < 2; ++i) EXPECT_FALSE(pool.post(0, "x").success);
  EXPECT_EQ(pool.health(0), AgentHealth::cooling);
  drive(
      pool, [&] { return pool.health(0) == AgentHealth::healthy; }, 20s);
  EXPECT_EQ(pool.health(0), AgentHealth::healthy);
  EXPECT_GE(pool.stats().probes, 1u);
  // Probing stops once it is back: every probe reached the mock.
  EXPECT_EQ(requests(metrics_of(mock), mock, 0, "/health"),
            static_cast<double>(pool.stats().probes));
}

TEST(PoolHealth, WithEveryAgentDeadRequestsGiveUpWithAClearError) {
  MockProcess mock({"--count", "2", "--dead-agents", "0,1"});
  auto o = health_options();
  o.failover = true;
  o.cooldown_failures = 1;
  o.give_up_after = Seconds(1);
  o.probe_interval = Seconds(0.2);
  o.probe_interval_max = Seconds(0.2);
  AgentPool pool(mock.agents(), o);
  const std::vector<std::string> prompts{"a", "b", "c", "d", "e", "f"};
  const auto start = std::chrono::steady_clock::now();
  const auto results = pool.send_all(prompts);
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
  for (const auto& r : results) {
    EXPECT_FALSE(r.success);
    EXPECT_EQ(r.error, "no healthy agent for 1 s: HTTP 503: this agent is down (--dead-agents)");
    EXPECT_EQ(r.kind, FailureKind::http_status);
    EXPECT_EQ(r.http_status, 503);
  }
  EXPECT_GE(took.count(), 0.9);  // they waited for the probes
  EXPECT_LT(took.count(), 15.0);
  EXPECT_EQ(pool.healthy_count(), 0u);
  EXPECT_EQ(pool.outstanding(), 0u);
  EXPECT_GE(pool.stats().probes, 1u);
}

TEST(PoolHealth, ProbeHealthFindsTheLiveAgentsAndALateOneJoinsWhenItListens) {
  // Agent 1 is dead (503 to everything), agent 2 starts listening after 1.5 s.
  MockProcess mock({"--count", "3", "--dead-agents", "1", "--late-agents", "2",
                    "--late-after-seconds", "1.5"});
  auto o = health_options();
  o.probe_interval = Seconds(0.2);
  o.probe_interval_max = Seconds(0.2);
  AgentPool pool(mock.agents(), o);
  pool.probe_health();
  EXPECT_EQ(pool.healthy_count(), 0u);  // until their probes answer
  drive(pool, [&] { return pool.health(0) == AgentHealth::healthy; });
  EXPECT_EQ(pool.health(0), AgentHealth::healthy);
  EXPECT_EQ(pool.health(1), AgentHealth::cooling);
  drive(pool, [&] { return pool.health(2) == AgentHealth::healthy; });
  EXPECT_EQ(pool.health(2), AgentHealth::healthy);
  EXPECT_EQ(pool.health(1), AgentHealth::cooling);
  EXPECT_GE(requests(metrics_of(mock), mock, 1, "/health"), 2);  // probed again and again
}

TEST(PoolHealth, WithoutWaitingForHealthyRequestsFailAtOnceWhenEveryAgentIsCooling) {
  MockProcess mock({"--count", "2", "--dead-agents", "0,1"});
  auto o = health_options();
  o.failover = true;
  o.cooldown_failures = 1;
  o.give_up_after = Seconds(600);  // a wait would outlast the test's bounded loop
  AgentPool pool(mock.agents(), o);
  CallOptions call;
  call.wait_for_healthy = false;
  std::vector<Response> results;
  for (std::size_t k = 0; k < 6; ++k) {
    pool.submit(k % 2, "p", [&](Response&& r) { results.push_back(std::move(r)); }, call);
  }
  drive(pool, [&] { return results.size() == 6; });
  ASSERT_EQ(results.size(), 6u);
  for (const auto& r : results) {
    EXPECT_FALSE(r.success);
    // Its own agent's reply, or (once both were cooling) the last one an agent gave.
    EXPECT_EQ(r.error, "HTTP 503: this agent is down (--dead-agents)");
    EXPECT_EQ(r.kind, FailureKind::http_status);
    EXPECT_EQ(r.http_status, 503);
  }
  EXPECT_EQ(pool.healthy_count(), 0u);
  EXPECT_EQ(pool.outstanding(), 0u);
}

}  // namespace
}  // namespace swarm::pool_test
