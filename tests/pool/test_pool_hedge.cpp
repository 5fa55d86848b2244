// Hedging near the tail (PoolOptions::hedge_quantile) against the real mock: a request running
// past the quantile of recent answers is sent once more to an idle agent; the first 2xx answers
// it and the other transfer is cancelled (the mock sees the client go away); a copy that fails
// leaves the original to answer; with hedging off nothing is sent twice.
//
// Setup of every test: agent 0 is 20x slower than the others (400 ms against 20 ms), 60 fast
// answers from agent 2 fill the latency window, then one prompt goes to agent 0 with nothing
// else queued. Agent 1 (the first idle sibling in agent 0's family) is where a copy goes.

#include <cmath>
#include <string>
#include <thread>

#include "pool_test_util.hpp"

namespace swarm::pool_test {
namespace {

constexpr const char* kChat = "/v1/chat/completions";
constexpr int kWarmUp = 60;

std::vector<std::string> fleet(const TempDir& dir, std::vector<std::string> extra = {}) {
  return concat(concat({"--count", "3", "--latency", "fixed:20", "--slow-agents", "0",
                        "--slow-factor", "20"},
                       script_mode(dir)),
                std::move(extra));
}

PoolOptions hedge_options(double quantile) {
  auto o = test_options();
  o.failover = true;
  o.hedge_quantile = quantile;
  o.retries = 0;
  return o;
}

// The warm-up's requests stay on agent 2 (may_fail_over = false: no family, so never copied).
// Otherwise the last few of them, running past the quantile of the others on a loaded machine,
// would be copied to agents 0 and 1 and move the engine's copy cursor.
void warm_up(AgentPool& pool) {
  std::size_t done = 0;
  CallOptions pinned;
  pinned.may_fail_over = false;
  for (int i = 0; i < kWarmUp; ++i) pool.submit(2, "warm", [&](Response&& r) {
      EXPECT_TRUE(r.success) << r.error;
      ++done;
    }, pinned);
  pool.wait_all();
  ASSERT_EQ(done, static_cast<std::size_t>(kWarmUp));
}

double metric_of(const MockProcess& mock, const std::string& name, std::size_t agent) {
  return mock::test::metric(metrics_of(mock),
                            name + "{port=\"" + std::to_string(mock.port(agent)) + "\"}");
}

TEST(PoolHedge, TheCopyOnAnIdleAgentWinsAndTheSlowTransferIsCancelled) {
  TempDir dir;
  MockProcess mock(fleet(dir));
  AgentPool pool(mock.agents(), hedge_options(0.9));
  warm_up(pool);
  const auto r = pool.post(0, "tail");
  ASSERT_TRUE(r.success) << r.error;
  EXPECT_EQ(r.agent_index, 1);  // the output's agent says who answered
  EXPECT_EQ(r.text, "agent 1: tail");
  EXPECT_EQ(r.attempts, 2);  // one on each agent
  EXPECT_EQ(pool.stats().hedges, 1u);
  EXPECT_EQ(pool.stats().hedge_wins, 1u);
  EXPECT_EQ(pool.stats().attempts, static_cast<std::uint64_t>(kWarmUp + 2));
  EXPECT_EQ(pool.outstanding(), 0u);
  EXPECT_EQ(pool.in_flight(0), 0u);  // the loser left the wire
  // The mock saw the client close the slow request's connection (bounded wait: the close may
  // reach it after the answer reached us).
  for (int i = 0; i < 100 && metric_of(mock, "aswarm_mock_client_disconnects_total", 0) < 1; ++i) {
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(metric_of(mock, "aswarm_mock_client_disconnects_total", 0), 1);
  const auto m = metrics_of(mock);
  EXPECT_EQ(requests(m, mock, 0, kChat), 1);
  EXPECT_EQ(requests(m, mock, 1, kChat), 1);
}

TEST(PoolHedge, ACopyThatFailsLeavesTheOriginalToAnswer) {
  TempDir dir;
  MockProcess mock(fleet(dir, {"--dead-agents", "1"}));  // 503 to everything
  AgentPool pool(mock.agents(), hedge_options(0.9));
  warm_up(pool);
  const auto r = pool.post(0, "tail");
  ASSERT_TRUE(r.success) << r.error;
  EXPECT_EQ(r.agent_index, 0);
  EXPECT_EQ(r.text, "agent 0: tail");
  EXPECT_EQ(pool.stats().hedges, 1u);
  EXPECT_EQ(pool.stats().hedge_wins, 0u);
  EXPECT_EQ(pool.stats().retries, 0u);  // the copy's 503 is not retried: it has one attempt
  EXPECT_EQ(pool.stats().attempts, static_cast<std::uint64_t>(kWarmUp + 2));
  const auto m = metrics_of(mock);
  EXPECT_EQ(requests(m, mock, 0, kChat), 1);
  EXPECT_EQ(requests(m, mock, 1, kChat), 1);
  EXPECT_EQ(pool.outstanding(), 0u);
}

TEST(PoolHedge, OffByDefaultNothingIsSentTwice) {
  TempDir dir;
  MockProcess mock(fleet(dir));
  AgentPool pool(mock.agents(), hedge_options(0.0));
  warm_up(pool);
  const auto r = pool.post(0, "tail");
  ASSERT_TRUE(r.success) << r.error;
  EXPECT_EQ(r.agent_index, 0);
  EXPECT_EQ(pool.stats().hedges, 0u);
  const auto m = metrics_of(mock);
  EXPECT_EQ(requests(m, mock, 1, kChat), 0);
}

TEST(PoolHedge, NoCopyWhileWorkIsQueued) {
  TempDir dir;
  MockProcess mock(fleet(dir));
  auto o = hedge_options(0.9);
  // One request per agent: the fast prompts queue (parked) behind agent 2's one slot while
  // agent 1 is idle and the pool has room, so only the queue check can keep the copy back.
  o.per_agent_concurrency = 1;
  AgentPool pool(mock.agents(), o);
  warm_up(pool);
  std::size_t tail = 0;
  std::size_t queued = 0;
  pool.submit(0, "tail", [&](Response&& r) {
    EXPECT_TRUE(r.success) << r.error;
    ++tail;
  });
  // 20 fast prompts go through agent 2's one slot in turn (about 20 ms each), past the 20 ms
  // threshold at which the slow one would be hedged. While 9 or more still wait, it must not
  // be; once the queue is empty it may be.
  for (int i = 0; i < 20; ++i) pool.submit(2, "queued", [&](Response&&) { ++queued; });
  for (int i = 0; i < 2000 && queued < 10; ++i) pool.poll(5ms);
  ASSERT_EQ(queued, 10u);
  EXPECT_EQ(pool.stats().hedges, 0u);
  pool.wait_all();
  EXPECT_EQ(queued + tail, 21u);
}

TEST(PoolHedge, QuantileOutOfRangeIsRefused) {
  for (double q : {-0.1, 1.0, 2.0, std::nan("")}) {
    auto o = test_options();
    o.hedge_quantile = q;
    EXPECT_THROW(o.validate(), std::invalid_argument) << q;
  }
}

}  // namespace
}  // namespace swarm::pool_test
