// What an adaptive swarm sees change under it: agents that die (--dying-agents), agents that come
// up late (--late-agents), the aswarm_mock_agent_up gauge, and per-request answer lengths
// (--output-tokens). Timings are lower bounds or bounded waits: the CI machine is noisy.

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <thread>

#include "http_client.hpp"
#include "mock_process.hpp"
#include "words.hpp"

namespace swarm::mock::test {
namespace {

using Seconds = std::chrono::duration<double>;

std::string up_series(const MockProcess& mock, std::size_t agent) {
  return "aswarm_mock_agent_up{port=\"" + std::to_string(mock.port(agent)) + "\"}";
}

/// The gauge as agent `via` renders it (any live agent renders every agent's series).
double agent_up(const MockProcess& mock, std::size_t agent, std::size_t via) {
  const auto r = http_get(mock.url(via, "/metrics"));
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find(up_series(mock, agent)), std::string::npos) << r.body;
  return metric(r.body, up_series(mock, agent));
}

HttpResponse chat(const MockProcess& mock, std::size_t agent, std::string_view prompt = "x",
                  int max_tokens = 0) {
  return http_post(mock.url(agent, "/v1/chat/completions"), chat_body(prompt, max_tokens));
}

/// Polls `path` on `agent` until it answers `status` (bounded); returns the last status.
long wait_for_status(const MockProcess& mock, std::size_t agent, long status,
                     std::chrono::seconds limit = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  long last = -1;
  while (std::chrono::steady_clock::now() < deadline) {
    last = http_get(mock.url(agent, "/health"), 2s).status;
    if (last == status) break;
    std::this_thread::sleep_for(20ms);
  }
  return last;
}

TEST(MockDying, AgentAnswersNGenerationRequestsThenAnswers503) {
  MockProcess mock({"--count", "2", "--dying-agents", "1", "--die-after-requests", "3"});
  // Health checks and scrapes do not use up the agent's requests.
  for (int i = 0; i < 3; ++i) EXPECT_EQ(http_get(mock.url(1, "/health")).status, 200);
  EXPECT_EQ(agent_up(mock, 1, 1), 1);
  EXPECT_EQ(chat(mock, 1).status, 200);
  EXPECT_EQ(http_post(mock.url(1, "/generate"), R"({"prompt": "x"})").status, 200);
  EXPECT_EQ(chat(mock, 1).status, 200);
  for (int i = 0; i < 3; ++i) {
    const auto r = chat(mock, 1);
    EXPECT_EQ(r.status, 503) << r.body;
    EXPECT_EQ(r.json()["error"]["type"], "ServiceUnavailableError");
  }
  EXPECT_EQ(http_get(mock.url(1, "/health")).status, 503);
  EXPECT_EQ(http_get(mock.url(1, "/v1/models")).status, 503);
  // The other agent is untouched, and reports who is up.
  EXPECT_EQ(chat(mock, 0).status, 200);
  EXPECT_EQ(agent_up(mock, 1, 0), 0);
  EXPECT_EQ(agent_up(mock, 0, 0), 1);
  const std::string m = http_get(mock.url(0, "/metrics")).body;
  EXPECT_EQ(metric(m, "aswarm_mock_requests_total{port=\"" + std::to_string(mock.port(1)) +
                          "\",route=\"/v1/chat/completions\"}"),
            5);  // a dead agent still counts what it refused
}

TEST(MockDying, AgentDiesAfterSeconds) {
  MockProcess mock({"--dying-agents", "0", "--die-after-seconds", "1.5"});
  const auto ready = std::chrono::steady_clock::now();
  EXPECT_EQ(chat(mock, 0).status, 200);
  EXPECT_EQ(wait_for_status(mock, 0, 503), 503);
  EXPECT_GE(Seconds(std::chrono::steady_clock::now() - ready).count(), 1.4);
  EXPECT_EQ(chat(mock, 0).status, 503);
}

TEST(MockDying, CloseModeStopsListening) {
  MockProcess mock(
      {"--count", "2", "--dying-agents", "0", "--die-after-requests", "2", "--die-mode", "close"});
  EXPECT_EQ(chat(mock, 0).status, 200);
  EXPECT_EQ(chat(mock, 0).status, 200);
  for (const char* path : {"/v1/chat/completions", "/health"}) {
    const auto r = http_request(path[1] == 'v' ? "POST" : "GET", mock.url(0, path),
                                path[1] == 'v' ? chat_body("x") : "");
    EXPECT_EQ(r.status, 0) << path;
    EXPECT_EQ(r.error, CURLE_COULDNT_CONNECT) << path << ": " << curl_easy_strerror(r.error);
  }
  EXPECT_EQ(agent_up(mock, 0, 1), 0);
  EXPECT_EQ(http_get(mock.url(1, "/health")).status, 200);
}

TEST(MockLate, LateAgentRefusesConnectionsUntilItComesUp) {
  constexpr double kLate = 1.0;
  MockProcess mock({"--count", "2", "--late-agents", "1", "--late-after-seconds", "1"});
  const auto ready = std::chrono::steady_clock::now();
  // Its port is in the hostfile from the start.
  ASSERT_EQ(mock.agents().size(), 2U);
  ASSERT_NE(mock.port(1), 0);
  // Each check only means something if it starts well before the agent is due (the machine
  // may be slow); a short timeout keeps an accepted-but-unserved connection from passing late.
  const auto since_ready = [&] { return Seconds(std::chrono::steady_clock::now() - ready); };
  if (since_ready().count() < kLate - 0.4) {
    const auto early = http_get(mock.url(1, "/health"), 300ms);
    EXPECT_EQ(early.status, 0);
    EXPECT_EQ(early.error, CURLE_COULDNT_CONNECT) << curl_easy_strerror(early.error);
  }
  if (since_ready().count() < kLate - 0.4) {
    EXPECT_EQ(agent_up(mock, 1, 0), 0);
  }
  EXPECT_EQ(http_get(mock.url(0, "/health")).status, 200);  // the others serve at once
  EXPECT_EQ(wait_for_status(mock, 1, 200), 200);
  EXPECT_GE(Seconds(std::chrono::steady_clock::now() - ready).count(), kLate - 0.1);
  const auto r = chat(mock, 1, "late");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["choices"][0]["message"]["content"], "completion: late");
  EXPECT_EQ(agent_up(mock, 1, 1), 1);
}

TEST(MockLate, LateDyingAgentCountsItsLifeFromComingUp) {
  MockProcess mock({"--late-agents", "0", "--late-after-seconds", "0.5", "--dying-agents", "0",
                    "--die-after-requests", "1"});
  EXPECT_EQ(wait_for_status(mock, 0, 200), 200);
  EXPECT_EQ(chat(mock, 0).status, 200);
  EXPECT_EQ(chat(mock, 0).status, 503);
}

TEST(MockAgentUp, DeadAgentsAreDownFromTheStart) {
  MockProcess mock({"--count", "3", "--dead-agents", "2"});
  EXPECT_EQ(agent_up(mock, 0, 0), 1);
  EXPECT_EQ(agent_up(mock, 1, 0), 1);  // listed even before anyone contacted it
  EXPECT_EQ(agent_up(mock, 2, 0), 0);
}

std::vector<std::size_t> lengths(const MockProcess& mock, int n) {
  std::vector<std::size_t> out;
  for (int i = 0; i < n; ++i) {
    const auto r = chat(mock, 0, "one two three");
    EXPECT_EQ(r.status, 200) << r.body;
    const auto body = r.json();
    const std::size_t reported = body["usage"]["completion_tokens"];
    EXPECT_EQ(words(body["choices"][0]["message"]["content"].get<std::string>()), reported);
    out.push_back(reported);
  }
  return out;
}

TEST(MockOutputTokens, FixedPadsAndCutsEveryAnswer) {
  MockProcess mock({"--output-tokens", "fixed:7"});
  // Echo of a short prompt is padded with its own words, a long one is cut.
  const auto short_answer = chat(mock, 0, "a b").json();
  EXPECT_EQ(short_answer["choices"][0]["message"]["content"],
            "completion: a b completion: a b "
            "completion:");
  EXPECT_EQ(short_answer["usage"]["completion_tokens"], 7);
  EXPECT_EQ(short_answer["choices"][0]["finish_reason"], "stop");
  const auto long_answer = chat(mock, 0, "1 2 3 4 5 6 7 8 9 10 11 12").json();
  EXPECT_EQ(long_answer["choices"][0]["message"]["content"], "completion: 1 2 3 4 5 6");
  EXPECT_EQ(long_answer["usage"]["completion_tokens"], 7);
  // max_tokens still caps what the distribution asked for.
  const auto capped = chat(mock, 0, "a", 3).json();
  EXPECT_EQ(capped["usage"]["completion_tokens"], 3);
  EXPECT_EQ(capped["choices"][0]["finish_reason"], "length");
  // Every prompt of a /v1/completions batch gets its own length.
  const auto batch =
      http_post(mock.url(0, "/v1/completions"), R"({"prompt": ["a", "b"], "max_tokens": 100})")
          .json();
  EXPECT_EQ(batch["usage"]["completion_tokens"], 14);
}

TEST(MockOutputTokens, FixedModeTextIsPaddedToo) {
  MockProcess mock({"--mode", "fixed", "--text", "hello world", "--output-tokens", "fixed:5"});
  const auto r = chat(mock, 0).json();
  EXPECT_EQ(r["choices"][0]["message"]["content"], "hello world hello world hello");
  EXPECT_EQ(r["usage"]["completion_tokens"], 5);
}

TEST(MockOutputTokens, UniformStaysInItsBoundsAndFollowsTheSeed) {
  std::vector<std::size_t> first;
  {
    MockProcess mock({"--output-tokens", "uniform:3:9", "--seed", "7"});
    first = lengths(mock, 40);
  }
  for (const std::size_t n : first) {
    EXPECT_GE(n, 3U);
    EXPECT_LE(n, 9U);
  }
  EXPECT_GE(std::set<std::size_t>(first.begin(), first.end()).size(), 3U);  // really drawn
  MockProcess again({"--output-tokens", "uniform:3:9", "--seed", "7"});
  EXPECT_EQ(lengths(again, 40), first);
  MockProcess other({"--output-tokens", "uniform:3:9", "--seed", "8"});
  EXPECT_NE(lengths(other, 40), first);
}

TEST(MockOutputTokens, LognormalWithASmallSigmaStaysNearItsMedian) {
  MockProcess mock({"--output-tokens", "lognormal:20:0.01"});
  for (const std::size_t n : lengths(mock, 5)) {
    EXPECT_GE(n, 19U);
    EXPECT_LE(n, 21U);
  }
}

TEST(MockOutputTokens, TokenLatencyChargesTheDrawnLength) {
  // Echo of "x" is 2 tokens (40 ms at 20 ms a token); padded to 20 tokens it costs 400 ms.
  MockProcess mock({"--output-tokens", "fixed:20", "--latency", "tokens:0:20"});
  const auto r = chat(mock, 0);
  EXPECT_EQ(r.status, 200);
  EXPECT_GE(r.elapsed.count(), 0.39);
}

void expect_flag_error(const std::vector<std::string>& args, std::string_view message) {
  std::vector<std::string> full = {"--port-base", "0"};
  full.insert(full.end(), args.begin(), args.end());
  const RunResult r = run_mock(full);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find(message), std::string::npos) << r.err;
}

TEST(MockFleetFlags, BadCombinationsAreRejectedWithTheFlagNamed) {
  expect_flag_error({"--dying-agents", "0"},
                    "--dying-agents: needs --die-after-requests or --die-after-seconds");
  expect_flag_error({"--die-after-requests", "3"}, "--die-after-requests: needs --dying-agents");
  expect_flag_error({"--count", "2", "--dying-agents", "2", "--die-after-seconds", "1"},
                    "--dying-agents: agent 2 does not exist");
  expect_flag_error({"--dead-agents", "0", "--dying-agents", "0", "--die-after-seconds", "1"},
                    "--dying-agents: agent 0 is also in --dead-agents");
  expect_flag_error({"--late-agents", "0"}, "--late-agents: needs --late-after-seconds");
  expect_flag_error({"--late-after-seconds", "1"}, "--late-after-seconds: needs --late-agents");
  expect_flag_error({"--output-tokens", "uniform:9:3"},
                    "--output-tokens: uniform needs LO_TOKENS <= HI_TOKENS");
  expect_flag_error({"--output-tokens", "fixed:2.5"}, "--output-tokens: 'fixed:2.5' needs whole");
  expect_flag_error({"--output-tokens", "tokens:1:2"},
                    "--output-tokens: unknown distribution 'tokens'");
}

}  // namespace
}  // namespace swarm::mock::test
