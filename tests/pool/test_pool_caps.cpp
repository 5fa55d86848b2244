// AgentPool's concurrency caps, FIFO order, connection reuse and the step API.

#include <vector>

#include "pool_test_util.hpp"

namespace swarm::pool_test {
namespace {

TEST(PoolCaps, PerEndpointCapBoundsWhatEachServerHolds) {
  MockProcess mock({"--count", "2", "--latency", "fixed:40"});
  auto o = test_options();
  o.concurrency = 64;
  o.per_agent_concurrency = 2;
  AgentPool pool(mock.agents(), o);
  const std::vector<std::string> prompts(24, "x");
  const auto results = pool.send_all(prompts);
  for (const auto& r : results) ASSERT_TRUE(r.success) << r.error;
  const auto m = metrics_of(mock);
  for (std::size_t a = 0; a < 2; ++a) {
    EXPECT_EQ(max_in_flight(m, mock, a), 2) << "agent " << a;  // reached, never exceeded
    EXPECT_EQ(requests(m, mock, a, "/v1/chat/completions"), 12);
  }
  EXPECT_LE(pool.stats().max_in_flight, 4u);
}

TEST(PoolCaps, PoolWideCapBoundsInFlight) {
  MockProcess mock({"--count", "8", "--latency", "fixed:30"});
  auto o = test_options();
  o.concurrency = 3;
  AgentPool pool(mock.agents(), o);
  const std::vector<std::string> prompts(30, "x");
  for (const auto& r : pool.send_all(prompts)) ASSERT_TRUE(r.success) << r.error;
  EXPECT_EQ(pool.stats().max_in_flight, 3u);
  const auto m = metrics_of(mock);
  double held = 0;
  for (std::size_t a = 0; a < 8; ++a) held += max_in_flight(m, mock, a);
  EXPECT_LE(held, 8);  // each agent held at most one at a time here (3 over 8 round-robin)
}

TEST(PoolCaps, PendingRequestsStartInFifoOrder) {
  MockProcess mock({"--count", "1", "--latency", "fixed:5"});
  auto o = test_options();
  o.concurrency = 1;
  AgentPool pool(mock.agents(), o);
  std::vector<int> order;
  for (int i = 0; i < 15; ++i) {
    pool.submit(0, "p" + std::to_string(i), [&order, i](Response&& r) {
      EXPECT_EQ(r.text, "completion: p" + std::to_string(i));
      order.push_back(i);
    });
  }
  pool.wait_all();
  std::vector<int> expected(15);
  for (int i = 0; i < 15; ++i) expected[static_cast<std::size_t>(i)] = i;
  EXPECT_EQ(order, expected);
}

TEST(PoolCaps, ParkedRequestsKeepPerEndpointFifoOrder) {
  MockProcess mock({"--count", "2", "--latency", "fixed:5"});
  auto o = test_options();
  o.per_agent_concurrency = 1;
  AgentPool pool(mock.agents(), o);
  std::vector<std::vector<int>> order(2);
  for (int i = 0; i < 20; ++i) {
    const std::size_t agent = (i % 5 == 0) ? 1 : 0;  // agent 0 gets bursts, agent 1 a trickle
    pool.submit(agent, "p", [&order, agent, i](Response&&) { order[agent].push_back(i); });
  }
  pool.wait_all();
  for (const auto& seq : order) EXPECT_TRUE(std::is_sorted(seq.begin(), seq.end()));
  EXPECT_EQ(order[0].size() + order[1].size(), 20u);
  const auto m = metrics_of(mock);
  EXPECT_EQ(max_in_flight(m, mock, 0), 1);
  EXPECT_EQ(max_in_flight(m, mock, 1), 1);
}

TEST(PoolCaps, ConnectionsAreReusedNotChurned) {
  MockProcess mock({"--count", "10"});
  auto o = test_options();
  o.per_agent_concurrency = 1;  // one slot per endpoint -> at most one connection each
  AgentPool pool(mock.agents(), o);
  const std::vector<std::string> prompts(500, "x");
  for (const auto& r : pool.send_all(prompts)) ASSERT_TRUE(r.success) << r.error;
  const auto stats = pool.stats();
  EXPECT_EQ(stats.completed, 500u);
  EXPECT_LE(stats.new_connections, 10u) << "connections churned";
  EXPECT_GE(stats.new_connections, 10u);
}

TEST(PoolStep, PollInterleavesAndCallbacksMaySubmit) {
  MockProcess mock({"--count", "2", "--latency", "fixed:20"});
  AgentPool pool(mock.agents(), test_options());
  int chained = 0;
  std::string last;
  pool.submit(0, "first", [&](Response&& r) {
    ASSERT_TRUE(r.success);
    // A completion submitting the next stage, as pipelines do.
    pool.submit(1, r.text, [&](Response&& r2) {
      ++chained;
      last = r2.text;
    });
  });
  EXPECT_EQ(pool.outstanding(), 1u);
  EXPECT_EQ(pool.poll(0ms), 0u);  // non-blocking pass: the 20 ms answer is not there yet
  int polls = 0;
  while (pool.outstanding() > 0 && polls++ < 500) pool.poll(50ms);
  EXPECT_EQ(chained, 1);
  EXPECT_EQ(last, "completion: completion: first");
}

TEST(PoolStep, StreamKeepsAtMostWindowOutstanding) {
  MockProcess mock({"--count", "4", "--latency", "fixed:5"});
  AgentPool pool(mock.agents(), test_options());
  std::size_t seen = 0;
  std::size_t max_outstanding = 0;
  pool.stream(
      200,
      [&](std::size_t i) {
        max_outstanding = std::max(max_outstanding, pool.outstanding() + 1);
        return "q" + std::to_string(i);
      },
      [&](std::size_t i, Response&& r) {
        EXPECT_EQ(r.text, "completion: q" + std::to_string(i));
        ++seen;
      },
      {}, /*window=*/8);
  EXPECT_EQ(seen, 200u);
  EXPECT_LE(max_outstanding, 8u);
}

TEST(PoolStep, StreamRethrowsCallbackExceptionsAfterDraining) {
  MockProcess mock({"--count", "2"});
  AgentPool pool(mock.agents(), test_options());
  EXPECT_THROW(pool.stream(
                   50, [](std::size_t) { return std::string("x"); },
                   [](std::size_t i, Response&&) {
                     if (i == 3) throw std::runtime_error("user callback failed");
                   }),
               std::runtime_error);
  EXPECT_EQ(pool.outstanding(), 0u);  // nothing left referring to the unwound frame
  EXPECT_TRUE(pool.post(0, "still works").success);
}

}  // namespace
}  // namespace swarm::pool_test
