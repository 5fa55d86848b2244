// Latency distributions, --max-concurrent queueing, slow agents, --health-delay and dead
// agents. Timings are checked as lower bounds only: the CI machine is shared and noisy.

#include <gtest/gtest.h>

#include <string>
#include <thread>

#include "http_client.hpp"
#include "mock_process.hpp"

namespace swarm::mock::test {
namespace {

using nlohmann::json;
using Seconds = std::chrono::duration<double>;

std::string port_label(const MockProcess& mock, std::size_t agent) {
  return "{port=\"" + std::to_string(mock.port(agent)) + "\"}";
}

Seconds chat_time(const MockProcess& mock, std::size_t agent, int max_tokens = 0) {
  const auto r =
      http_post(mock.url(agent, "/v1/chat/completions"), chat_body("one two three", max_tokens));
  EXPECT_EQ(r.status, 200) << r.body;
  return r.elapsed;
}

TEST(MockLatency, FixedDelaysEveryGenerationRoute) {
  MockProcess mock({"--latency", "fixed:200"});
  EXPECT_GE(chat_time(mock, 0).count(), 0.19);
  EXPECT_GE(http_post(mock.url(0, "/generate"), R"({"prompt": "x"})").elapsed.count(), 0.19);
  EXPECT_GE(http_post(mock.url(0, "/v1/embeddings"), R"({"input": "x"})").elapsed.count(), 0.19);
  // Latency is for generation only.
  const auto health = http_get(mock.url(0, "/health"));
  EXPECT_EQ(health.status, 200);
}

TEST(MockLatency, UniformIsAtLeastTheLowBound) {
  MockProcess mock({"--latency", "uniform:150:250"});
  for (int i = 0; i < 3; ++i) EXPECT_GE(chat_time(mock, 0).count(), 0.14);
}

TEST(MockLatency, LognormalStaysNearItsMedianWithASmallSigma) {
  // sigma 0.01: below 0.96 x median only 4 standard deviations out.
  MockProcess mock({"--latency", "lognormal:200:0.01"});
  for (int i = 0; i < 3; ++i) EXPECT_GE(chat_time(mock, 0).count(), 0.18);
}

TEST(MockLatency, TokensChargesTimeToFirstTokenPlusPerToken) {
  // echo of "one two three" is 4 tokens: 50 + 4 x 60 = 290 ms; max_tokens 1: 50 + 60 = 110 ms.
  MockProcess mock({"--latency", "tokens:50:60"});
  EXPECT_GE(chat_time(mock, 0).count(), 0.28);
  EXPECT_GE(chat_time(mock, 0, 1).count(), 0.10);
}

TEST(MockConcurrency, RequestsBeyondMaxConcurrentWaitInFifoOrder) {
  MockProcess mock({"--max-concurrent", "2", "--latency", "fixed:300"});
  const std::vector<std::string> urls(5, mock.url(0, "/v1/chat/completions"));
  const std::vector<std::string> bodies(5, chat_body("q"));
  const auto start = std::chrono::steady_clock::now();
  const auto responses = post_concurrently(urls, bodies);
  const Seconds total = std::chrono::steady_clock::now() - start;
  for (const auto& r : responses) EXPECT_EQ(r.status, 200) << r.body;  // queued, never refused
  // Five requests, two at a time: three rounds of 300 ms.
  EXPECT_GE(total.count(), 0.89);
  const std::string m = http_get(mock.url(0, "/metrics")).body;
  EXPECT_EQ(metric(m, "aswarm_mock_running_max" + port_label(mock, 0)), 2);
  EXPECT_EQ(metric(m, "aswarm_mock_in_flight_max" + port_label(mock, 0)), 5);
  EXPECT_EQ(metric(m, "aswarm_mock_in_flight" + port_label(mock, 0)), 0);
  EXPECT_EQ(metric(m, "aswarm_mock_running" + port_label(mock, 0)), 0);
}

TEST(MockConcurrency, AbandonedRequestsGiveBackTheirSlots) {
  // One slot, 1 s per answer; three clients give up after 300 ms: one was running, two waiting.
  MockProcess mock({"--max-concurrent", "1", "--latency", "fixed:1000"});
  std::vector<std::jthread> clients;
  std::vector<HttpResponse> gave_up(3);
  for (std::size_t i = 0; i < 3; ++i) {
    clients.emplace_back([&, i] {
      gave_up[i] = http_post(mock.url(0, "/v1/chat/completions"), chat_body("q"), 300ms);
    });
  }
  clients.clear();
  for (const auto& r : gave_up) EXPECT_EQ(r.error, CURLE_OPERATION_TIMEDOUT);
  const std::string gone = "aswarm_mock_client_disconnects_total" + port_label(mock, 0);
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (metric(http_get(mock.url(0, "/metrics")).body, gone) < 3 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  const std::string m = http_get(mock.url(0, "/metrics")).body;
  EXPECT_EQ(metric(m, gone), 3);
  EXPECT_EQ(metric(m, "aswarm_mock_in_flight" + port_label(mock, 0)), 0);
  EXPECT_EQ(metric(m, "aswarm_mock_running" + port_label(mock, 0)), 0);
  // The slot is free again: a new request is served after one latency, not after the others.
  const auto r = http_post(mock.url(0, "/v1/chat/completions"), chat_body("q"), 10s);
  EXPECT_EQ(r.status, 200);
}

TEST(MockConcurrency, UnlimitedAgentsRunEverythingAtOnce) {
  MockProcess mock({"--latency", "fixed:300"});
  const std::vector<std::string> urls(4, mock.url(0, "/v1/chat/completions"));
  const auto responses = post_concurrently(urls, std::vector<std::string>(4, chat_body("q")));
  for (const auto& r : responses) EXPECT_EQ(r.status, 200);
  const std::string m = http_get(mock.url(0, "/metrics")).body;
  EXPECT_EQ(metric(m, "aswarm_mock_running_max" + port_label(mock, 0)), 4);
}

TEST(MockSlowAgents, SlowAgentsMultiplyTheirLatency) {
  MockProcess mock(
      {"--count", "3", "--slow-agents", "1", "--slow-factor", "4", "--latency", "fixed:100"});
  EXPECT_GE(chat_time(mock, 1).count(), 0.39);
  EXPECT_GE(chat_time(mock, 0).count(), 0.09);
  const std::string m = http_get(mock.url(0, "/metrics")).body;
  for (std::size_t k = 0; k < 3; ++k) {
    const std::string info = "aswarm_mock_agent_info{agent=\"" + std::to_string(k) + "\",port=\"" +
                             std::to_string(mock.port(k)) + "\",role=\"\",slow=\"" +
                             (k == 1 ? "1" : "0") + "\",dead=\"0\"}";
    EXPECT_EQ(metric(m, info), 1) << info;
  }
}

std::vector<bool> slow_set(const MockProcess& mock, std::size_t agents) {
  const std::string m = http_get(mock.url(0, "/metrics")).body;
  std::vector<bool> slow;
  for (std::size_t k = 0; k < agents; ++k) {
    slow.push_back(m.find("agent=\"" + std::to_string(k) + "\",port=\"" +
                          std::to_string(mock.port(k)) + "\",role=\"\",slow=\"1\"") !=
                   std::string::npos);
  }
  return slow;
}

TEST(MockSlowAgents, SlowFractionPicksExactlyThatManyAgentsBySeed) {
  std::vector<bool> first;
  {
    MockProcess mock({"--count", "10", "--slow-fraction", "0.3", "--seed", "5"});
    first = slow_set(mock, 10);
  }
  EXPECT_EQ(std::count(first.begin(), first.end(), true), 3);
  MockProcess again({"--count", "10", "--slow-fraction", "0.3", "--seed", "5", "--latency",
                     "fixed:50", "--slow-factor", "6"});
  EXPECT_EQ(slow_set(again, 10), first);
  const auto slow_agent =
      static_cast<std::size_t>(std::find(first.begin(), first.end(), true) - first.begin());
  EXPECT_GE(chat_time(again, slow_agent).count(), 0.29);
}

TEST(MockHealth, HealthDelayAnswers503UntilTheDelayHasPassed) {
  MockProcess mock({"--health-delay", "1"});
  const auto ready = std::chrono::steady_clock::now();
  const auto early = http_get(mock.url(0, "/health"));
  EXPECT_EQ(early.status, 503);
  EXPECT_EQ(early.json()["error"]["type"], "ServiceUnavailableError");
  // Only /health is affected: the model answers while "starting".
  EXPECT_EQ(http_post(mock.url(0, "/v1/chat/completions"), chat_body("x")).status, 200);
  long status = 0;
  const auto deadline = ready + 10s;
  while (status != 200 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(50ms);
    status = http_get(mock.url(0, "/health")).status;
  }
  EXPECT_EQ(status, 200);
  EXPECT_GE(Seconds(std::chrono::steady_clock::now() - ready).count(), 0.9);
}

TEST(MockHealth, DeadAgentsAnswer503ToEverything) {
  MockProcess mock({"--count", "3", "--dead-agents", "0,2"});
  for (const std::size_t k : {0U, 2U}) {
    EXPECT_EQ(http_get(mock.url(k, "/health")).status, 503);
    EXPECT_EQ(http_get(mock.url(k, "/v1/models")).status, 503);
    const auto chat = http_post(mock.url(k, "/v1/chat/completions"), chat_body("x"));
    EXPECT_EQ(chat.status, 503);
    EXPECT_EQ(chat.json()["error"]["code"], 503);
    EXPECT_EQ(http_post(mock.url(k, "/generate"), R"({"prompt": "x"})").status, 503);
  }
  EXPECT_EQ(http_get(mock.url(1, "/health")).status, 200);
  EXPECT_EQ(http_post(mock.url(1, "/v1/chat/completions"), chat_body("x")).status, 200);
  // Dead agents still count what they refused.
  const std::string m = http_get(mock.url(1, "/metrics")).body;
  EXPECT_EQ(metric(m, "aswarm_mock_requests_total{port=\"" + std::to_string(mock.port(2)) +
                          "\",route=\"/health\"}"),
            1);
}

}  // namespace
}  // namespace swarm::mock::test
