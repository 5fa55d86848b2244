// How failover spends its moves, against the real mock: a refused connection (a late agent, not
// yet listening) moves the request without using one of failover_attempts; a request whose
// moves are spent and whose caller can send it elsewhere (wait_for_healthy false) fails at
// once instead of backing off on its failing agent, while one that waits retries there.

#include <vector>

#include "pool_test_util.hpp"

namespace swarm::pool_test {
namespace {

constexpr const char* kChat = "/v1/chat/completions";

TEST(PoolFailoverMoves, ARefusedConnectionUsesNoMove) {
  // Agent 0 refuses connections (late, for far longer than the test), agent 1 answers 503 to
  // everything, agent 2 answers.
  TempDir dir;
  MockProcess mock(concat({"--count", "3", "--late-agents", "0", "--late-after-seconds", "600",
                           "--dead-agents", "1"},
                          script_mode(dir)));
  auto o = test_options();
  o.failover = true;
  o.failover_attempts = 1;
  o.retries = 0;
  AgentPool pool(mock.agents(), o);
  // Agent 0 refuses; the least-loaded other agent is 1 (the first of the idle ones), whose 503
  // needs the one move, to agent 2. Had the refusal used it, the prompt would fail on agent 1.
  const auto r = pool.post(0, "x");
  ASSERT_TRUE(r.success) << r.error;
  EXPECT_EQ(r.agent_index, 2);
  EXPECT_EQ(r.text, "agent 2: x");
  EXPECT_EQ(r.attempts, 3);
  EXPECT_EQ(pool.stats().failovers, 2u);
}

/// Agent 1 answers 503 to everything (agent 0 serves /metrics); no moves allowed, three retries.
struct SpentMoves {
  MockProcess mock{{"--count", "2", "--dead-agents", "1"}};
  PoolOptions options() const {
    auto o = test_options();
    o.failover = true;
    o.failover_attempts = 0;
    o.retries = 3;
    return o;
  }
};

TEST(PoolFailoverMoves, SpentMovesFailAtOnceWhenTheCallerCanSendItElsewhere) {
  SpentMoves f;
  AgentPool pool(f.mock.agents(), f.options());
  CallOptions call;
  call.wait_for_healthy = false;
  std::vector<Response> results;
  pool.submit(1, "p", [&](Response&& r) { results.push_back(std::move(r)); }, call);
  pool.wait_all();
  ASSERT_EQ(results.size(), 1u);
  EXPECT_FALSE(results[0].success);
  EXPECT_EQ(results[0].http_status, 503);
  EXPECT_EQ(results[0].attempts, 1);  // not 1 + retries on an agent that is failing
  EXPECT_EQ(requests(metrics_of(f.mock), f.mock, 1, kChat), 1);
}

TEST(PoolFailoverMoves, SpentMovesRetryTheAgentWhenTheCallerWaits) {
  SpentMoves f;
  AgentPool pool(f.mock.agents(), f.options());
  const auto r = pool.post(1, "p");  // wait_for_healthy: true
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.http_status, 503);
  EXPECT_EQ(r.attempts, 4);
  EXPECT_EQ(requests(metrics_of(f.mock), f.mock, 1, kChat), 4);
}

}  // namespace
}  // namespace swarm::pool_test
