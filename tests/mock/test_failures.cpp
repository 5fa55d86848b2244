// Failure injection: each kind at rate 1 (deterministic), mixed rates reproducible by seed,
// and the routes failures must leave alone.

#include <gtest/gtest.h>

#include <thread>

#include "http_client.hpp"
#include "mock_process.hpp"

namespace swarm::mock::test {
namespace {

using nlohmann::json;

std::string failures_series(std::string_view kind) {
  return "aswarm_mock_failures_injected_total{kind=\"" + std::string(kind) + "\"}";
}

double scrape(const MockProcess& mock, const std::string& series) {
  return metric(http_get(mock.url(0, "/metrics")).body, series);
}

TEST(MockFailures, Fail500AnswersAnInternalServerError) {
  MockProcess mock({"--fail-500", "1"});
  for (const char* route : {"/v1/chat/completions", "/generate"}) {
    const auto r =
        http_post(mock.url(0, route), route[1] == 'v' ? chat_body("x") : R"({"prompt": "x"})");
    EXPECT_EQ(r.status, 500) << r.body;
    EXPECT_EQ(r.json()["error"]["type"], "InternalServerError");
  }
  EXPECT_EQ(http_post(mock.url(0, "/v1/embeddings"), R"({"input": "x"})").status, 500);
  // Rate 1 means every request, not most of them.
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(http_post(mock.url(0, "/v1/completions"), R"({"prompt": "x"})").status, 500);
  }
  EXPECT_EQ(scrape(mock, failures_series("http_500")), 23);
}

TEST(MockFailures, Fail429SendsRetryAfter) {
  MockProcess mock({"--fail-429", "1", "--retry-after", "3"});
  const auto r = http_post(mock.url(0, "/v1/chat/completions"), chat_body("x"));
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.headers.at("retry-after"), "3");
  EXPECT_EQ(r.json()["error"]["type"], "RateLimitError");
  EXPECT_EQ(scrape(mock, failures_series("http_429")), 1);
}

TEST(MockFailures, FailResetClosesWithoutAnAnswer) {
  MockProcess mock({"--fail-reset", "1"});
  for (int i = 0; i < 3; ++i) {
    const auto r = http_post(mock.url(0, "/v1/chat/completions"), chat_body("x"));
    EXPECT_EQ(r.status, 0);
    EXPECT_EQ(r.error, CURLE_RECV_ERROR) << curl_easy_strerror(r.error);  // ECONNRESET
  }
  EXPECT_EQ(scrape(mock, failures_series("reset")), 3);
  EXPECT_EQ(scrape(mock, "aswarm_mock_in_flight{port=\"" + std::to_string(mock.port(0)) + "\"}"),
            0);
}

TEST(MockFailures, FailHangHoldsTheRequestUntilTheClientGivesUp) {
  MockProcess mock({"--fail-hang", "1"});
  const std::string in_flight =
      "aswarm_mock_in_flight{port=\"" + std::to_string(mock.port(0)) + "\"}";
  const std::string gone =
      "aswarm_mock_client_disconnects_total{port=\"" + std::to_string(mock.port(0)) + "\"}";
  const auto r = http_post(mock.url(0, "/v1/chat/completions"), chat_body("x"), 300ms);
  EXPECT_EQ(r.error, CURLE_OPERATION_TIMEDOUT);
  EXPECT_GE(r.elapsed.count(), 0.29);
  // The mock notices the hang-up and frees the request (bounded wait).
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (scrape(mock, in_flight) != 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  const std::string m = http_get(mock.url(0, "/metrics")).body;
  EXPECT_EQ(metric(m, in_flight), 0);
  EXPECT_EQ(metric(m, gone), 1);
  EXPECT_EQ(metric(m, failures_series("hang")), 1);
  // Health is unaffected by a hanging completion.
  EXPECT_EQ(http_get(mock.url(0, "/health")).status, 200);
}

TEST(MockFailures, FailMalformedIs200WithInvalidJson) {
  MockProcess mock({"--fail-malformed", "1"});
  const auto r = http_post(mock.url(0, "/v1/chat/completions"), chat_body("x"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.error, CURLE_OK);
  EXPECT_FALSE(json::accept(r.body)) << r.body;
  EXPECT_EQ(scrape(mock, failures_series("malformed")), 1);
}

TEST(MockFailures, FailTruncatedSendsLessThanContentLength) {
  MockProcess mock({"--fail-truncated", "1"});
  const auto r = http_post(mock.url(0, "/v1/chat/completions"), chat_body("x"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.error, CURLE_PARTIAL_FILE) << curl_easy_strerror(r.error);
  EXPECT_LT(r.body.size(), std::stoul(r.headers.at("content-length")));
  EXPECT_EQ(scrape(mock, failures_series("truncated")), 1);
}

TEST(MockFailures, HealthModelsAndMetricsNeverFail) {
  MockProcess mock({"--fail-500", "0.5", "--fail-reset", "0.5"});
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(http_get(mock.url(0, "/health")).status, 200);
    EXPECT_EQ(http_get(mock.url(0, "/v1/models")).status, 200);
    EXPECT_EQ(http_get(mock.url(0, "/metrics")).status, 200);
  }
  // Request errors are answered as such, not replaced by failures.
  EXPECT_EQ(http_post(mock.url(0, "/v1/chat/completions"), "{bad").status, 400);
}

std::vector<long> statuses(const MockProcess& mock, int n) {
  std::vector<long> out;
  for (int i = 0; i < n; ++i) {
    out.push_back(http_post(mock.url(0, "/v1/chat/completions"), chat_body("x")).status);
  }
  return out;
}

TEST(MockFailures, MixedRatesAreReproducibleAndCounted) {
  std::vector<long> first;
  {
    MockProcess mock({"--fail-500", "0.3", "--fail-429", "0.2", "--seed", "11"});
    first = statuses(mock, 40);
    const std::string m = http_get(mock.url(0, "/metrics")).body;
    EXPECT_EQ(metric(m, failures_series("http_500")), std::count(first.begin(), first.end(), 500));
    EXPECT_EQ(metric(m, failures_series("http_429")), std::count(first.begin(), first.end(), 429));
  }
  EXPECT_GT(std::count(first.begin(), first.end(), 200), 0);
  EXPECT_GT(std::count(first.begin(), first.end(), 500), 0);
  EXPECT_GT(std::count(first.begin(), first.end(), 429), 0);
  MockProcess again({"--fail-500", "0.3", "--fail-429", "0.2", "--seed", "11"});
  EXPECT_EQ(statuses(again, 40), first);
}

TEST(MockFailures, RatesAddingUpToMoreThanOneAreRejected) {
  const RunResult r = run_mock({"--port-base", "0", "--fail-500", "0.7", "--fail-hang", "0.4"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("aswarm-mock-agent: error: the --fail-* rates add up to 1.1"),
            std::string::npos)
      << r.err;
}

}  // namespace
}  // namespace swarm::mock::test
