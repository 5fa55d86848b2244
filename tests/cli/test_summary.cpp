// RunSummary and LatencyHistogram: totals, percentiles within the stated ~5%, failure tables.

#include <chrono>
#include <cmath>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "io/summary.hpp"
#include "test_util.hpp"

namespace swarm::cli {
namespace {

using nlohmann::json;
using Seconds = std::chrono::duration<double>;

swarm::Response ok_after(double seconds, int attempts = 1) {
  auto r = swarm::Response::ok("x");
  r.latency = Seconds(seconds);
  r.attempts = attempts;
  r.usage = {10, 2, 12};
  return r;
}

swarm::Response failed_with(const std::string& error, int attempts = 1) {
  auto r = swarm::Response::failure(error);
  r.latency = Seconds(0.001);
  r.attempts = attempts;
  return r;
}

TEST(LatencyHistogram, EmptyAndSingleValue) {
  LatencyHistogram h;
  EXPECT_EQ(h.count(), 0U);
  EXPECT_EQ(h.quantile(0.5).count(), 0.0);
  h.add(Seconds(0.2345));
  // One sample: every quantile is clamped to the exact min/max.
  EXPECT_EQ(h.quantile(0.0).count(), 0.2345);
  EXPECT_EQ(h.quantile(0.5).count(), 0.2345);
  EXPECT_EQ(h.quantile(1.0).count(), 0.2345);
}

TEST(LatencyHistogram, PercentilesWithinFivePercent) {
  LatencyHistogram h;
  for (int ms = 1000; ms >= 1; --ms) h.add(Seconds(ms / 1000.0));  // order does not matter
  const auto near = [](Seconds got, double want) {
    EXPECT_LE(std::abs(got.count() - want) / want, 0.05) << got.count() << " vs " << want;
  };
  near(h.quantile(0.50), 0.500);
  near(h.quantile(0.90), 0.900);
  near(h.quantile(0.99), 0.990);
  near(h.quantile(0.001), 0.001);
  EXPECT_EQ(h.max().count(), 1.0);
  EXPECT_EQ(h.min().count(), 0.001);
  EXPECT_EQ(h.count(), 1000U);
}

TEST(LatencyHistogram, WideRangeAndOddValues) {
  LatencyHistogram h;
  for (double s : {1e-9, 3e-6, 0.05, 7.0, 600.0, 1e9}) h.add(Seconds(s));
  h.add(Seconds(-1.0));  // clock skew: counted as 0
  h.add(Seconds(std::nan("")));
  EXPECT_EQ(h.count(), 8U);
  EXPECT_EQ(h.max().count(), 1e9);
  EXPECT_EQ(h.min().count(), 0.0);
  EXPECT_LE(std::abs(h.quantile(0.75).count() - 7.0) / 7.0, 0.05);
}

TEST(RunSummary, TotalsUsageAndThroughput) {
  RunSummary summary;
  summary.add(ok_after(0.1), "http://a:1");
  summary.add(ok_after(0.2, 3), "http://a:1");
  summary.add(ok_after(0.3, 2), "http://b:1");
  summary.add(failed_with("timeout", 4), "http://b:1");
  summary.add(failed_with("never sent", 0), "");
  summary.set_wall_time(Seconds(2.0));
  EXPECT_EQ(summary.requests(), 5U);
  EXPECT_EQ(summary.ok(), 3U);
  EXPECT_EQ(summary.failed(), 2U);
  EXPECT_EQ(summary.attempts(), 10U);
  EXPECT_EQ(summary.retries(), 6U);  // 0 + 2 + 1 + 3 + 0

  const json j = summary.to_json();
  EXPECT_EQ(j["requests"], 5);
  EXPECT_EQ(j["ok"], 3);
  EXPECT_EQ(j["failed"], 2);
  EXPECT_EQ(j["attempts"], 10);
  EXPECT_EQ(j["retries"], 6);
  EXPECT_EQ(j["usage"], json::parse(R"({"prompt_tokens": 30, "completion_tokens": 6,
                                        "total_tokens": 36})"));
  EXPECT_EQ(j["wall_time_s"], 2.0);
  EXPECT_EQ(j["throughput_rps"], 1.5);  // the 3 successes only
  // vllm bench serve's names: successes only, their tokens only.
  EXPECT_EQ(j["completed"], 3);
  EXPECT_EQ(j["duration"], 2.0);
  EXPECT_EQ(j["request_throughput"], 1.5);
  EXPECT_EQ(j["total_input_tokens"], 30);
  EXPECT_EQ(j["total_output_tokens"], 6);
  EXPECT_EQ(j["output_throughput"], 3.0);
  EXPECT_EQ(j["total_token_throughput"], 18.0);
  EXPECT_NEAR(j["mean_e2el_ms"].get<double>(), 200.0, 1e-9);
  EXPECT_NEAR(j["std_e2el_ms"].get<double>(), 81.65, 0.01);  // population std of 100, 200, 300
  EXPECT_NEAR(j["median_e2el_ms"].get<double>(), 200.0, 10.0);
  EXPECT_TRUE(j["mean_ttft_ms"].is_null());  // nothing was streamed
  // One row per endpoint, failures included.
  ASSERT_EQ(j["endpoints"].size(), 3U);
  EXPECT_EQ(j["endpoints"][0]["endpoint"], "(none)");
  EXPECT_EQ(j["endpoints"][0]["failed"], 1);
  EXPECT_TRUE(j["endpoints"][0]["p50_ms"].is_null());
  EXPECT_EQ(j["endpoints"][1]["endpoint"], "http://a:1");
  EXPECT_EQ(j["endpoints"][1]["requests"], 2);
  EXPECT_EQ(j["endpoints"][1]["failed"], 0);
  EXPECT_EQ(j["endpoints"][1]["output_tokens_per_s"], 2.0);
  EXPECT_EQ(j["endpoints"][2]["requests"], 2);
  EXPECT_EQ(j["endpoints"][2]["failed"], 1);
  // Latency of the successful requests only.
  EXPECT_EQ(j["latency_ms"]["count"], 3);
  EXPECT_NEAR(j["latency_ms"]["p50"].get<double>(), 200.0, 10.0);
  EXPECT_EQ(j["latency_ms"]["max"], 300.0);
  EXPECT_EQ(j["failures_by_endpoint"], json::parse(R"j({"http://b:1": 1, "(none)": 1})j"));
}

TEST(RunSummary, StreamedRequestsGiveTtftTpotAndItl) {
  RunSummary summary;
  for (int i = 0; i < 4; ++i) {
    auto r = ok_after(0.5);
    r.usage = {10, 5, 15};
    r.ttft = Seconds(0.1 * (i + 1));  // 100, 200, 300, 400 ms
    r.itl = {0.01F, 0.02F, 0.03F, 0.04F};
    r.model = i < 2 ? "a" : "b";
    summary.add(r, "http://a:1");
  }
  auto failed = failed_with("stream died");
  failed.ttft = Seconds(0.05);  // failures count nowhere in the latency metrics
  failed.itl = {9.0F};
  summary.add(failed, "http://a:1");
  EXPECT_EQ(summary.ttft().count(), 4U);
  EXPECT_EQ(summary.itl().count(), 16U);
  const json j = summary.to_json();
  EXPECT_NEAR(j["mean_ttft_ms"].get<double>(), 250.0, 1e-6);
  EXPECT_NEAR(j["std_ttft_ms"].get<double>(), 111.803, 0.01);
  EXPECT_NEAR(j["mean_itl_ms"].get<double>(), 25.0, 1e-3);
  EXPECT_NEAR(j["p99_itl_ms"].get<double>(), 40.0, 2.0);
  // TPOT = (latency - ttft) / (tokens - 1): 100, 75, 50, 25 ms.
  EXPECT_NEAR(j["mean_tpot_ms"].get<double>(), 62.5, 1e-6);
  EXPECT_NEAR(j["median_tpot_ms"].get<double>(), 50.0, 2.5);
  EXPECT_EQ(j["models"], json::array({"a", "b"}));
}

TEST(RunSummary, FailuresGroupedByKindBesideReasons) {
  RunSummary summary;
  const auto kind_of = [](FailureKind kind, const std::string& error) {
    auto r = failed_with(error);
    r.kind = kind;
    return r;
  };
  summary.add(kind_of(FailureKind::connect, "Couldn't connect to server: a"), "http://a:1");
  summary.add(kind_of(FailureKind::connect, "Couldn't connect to server: b"), "http://b:1");
  for (const char* e : {"HTTP 500: x", "HTTP 503: y", "HTTP 503: y"}) {
    summary.add(kind_of(FailureKind::http_status, e), "http://a:1");
  }
  summary.add(kind_of(FailureKind::timeout, "Timeout was reached"), "http://b:1");
  summary.add(failed_with("No responses to select from"), "");  // Response::failure: other
  swarm::Response relayed;  // failed, but its kind was never set
  relayed.error = "relayed";
  summary.add(relayed, "");
  summary.add(ok_after(0.1), "http://a:1");  // successes have no kind

  const json j = summary.to_json();
  EXPECT_EQ(j["failures_by_kind"], json::parse(R"({"connect": 2, "http_status": 3, "timeout": 1,
                                                   "other": 1, "unknown": 1})"));
  EXPECT_EQ(summary.failures_by_kind().at("http_status"), 3U);
  // The message groups are still there, and still split what the kinds merge.
  EXPECT_EQ(j["top_failure_reasons"][0], json::parse(R"({"error": "HTTP 503: y", "count": 2})"));
  EXPECT_EQ(j["top_failure_reasons"].size(), 7U);
  EXPECT_EQ(j["failed"], 8);
}

TEST(RunSummary, EmptyRunHasNullLatencies) {
  RunSummary summary;
  summary.set_wall_time(Seconds(0));
  const json j = summary.to_json();
  EXPECT_EQ(j["requests"], 0);
  EXPECT_EQ(j["throughput_rps"], 0.0);
  EXPECT_TRUE(j["latency_ms"]["p50"].is_null());
  EXPECT_TRUE(j["latency_ms"]["max"].is_null());
  EXPECT_EQ(j["failures_by_endpoint"], json::object());
  EXPECT_EQ(j["failures_by_kind"], json::object());
  EXPECT_EQ(j["top_failure_reasons"], json::array());
}

TEST(RunSummary, PercentilesOfManyRequests) {
  RunSummary summary;
  for (int i = 1; i <= 10000; ++i) summary.add(ok_after(i / 10000.0), "http://a:1");
  const json j = summary.to_json();
  EXPECT_NEAR(j["latency_ms"]["p50"].get<double>(), 500.0, 25.0);
  EXPECT_NEAR(j["latency_ms"]["p90"].get<double>(), 900.0, 45.0);
  EXPECT_NEAR(j["latency_ms"]["p99"].get<double>(), 990.0, 49.5);
  EXPECT_EQ(j["latency_ms"]["max"], 1000.0);
}

TEST(RunSummary, TopTenFailureReasonsByCountThenName) {
  RunSummary summary;
  // reason k occurs k times, for k = 1..12; "b" and "a" tie at 12 too.
  for (int k = 1; k <= 12; ++k) {
    for (int n = 0; n < k; ++n)
      summary.add(failed_with("reason " + std::to_string(k)), "http://x:1");
  }
  for (int n = 0; n < 12; ++n) {
    summary.add(failed_with("b tie"), "http://y:1");
    summary.add(failed_with("a tie"), "http://y:1");
  }
  const json reasons = summary.to_json()["top_failure_reasons"];
  ASSERT_EQ(reasons.size(), 10U);
  EXPECT_EQ(reasons[0], json::parse(R"({"error": "a tie", "count": 12})"));
  EXPECT_EQ(reasons[1], json::parse(R"({"error": "b tie", "count": 12})"));
  EXPECT_EQ(reasons[2], json::parse(R"({"error": "reason 12", "count": 12})"));
  EXPECT_EQ(reasons[9], json::parse(R"({"error": "reason 5", "count": 5})"));
  EXPECT_EQ(summary.to_json()["failures_by_endpoint"],
            json::parse(R"({"http://x:1": 78, "http://y:1": 24})"));
}

TEST(RunSummary, ReasonsAreTruncatedOnCharacterBoundaries) {
  RunSummary summary;
  const std::string long_ascii(300, 'e');
  summary.add(failed_with(long_ascii + " A"), "");
  summary.add(failed_with(long_ascii + " B"), "");  // same first 120 bytes: same reason
  std::string accented = "a";
  for (int i = 0; i < 100; ++i) accented += "\xC3\xA9";  // 'e' with acute, 2 bytes
  summary.add(failed_with(accented), "");
  const json reasons = summary.to_json()["top_failure_reasons"];
  ASSERT_EQ(reasons.size(), 2U);
  EXPECT_EQ(reasons[0]["error"], std::string(120, 'e'));
  EXPECT_EQ(reasons[0]["count"], 2);
  // Byte 120 is inside a 2-byte character: cut before it, at 119 bytes.
  EXPECT_EQ(reasons[1]["error"].get<std::string>(), accented.substr(0, 119));
}

TEST(RunSummary, DistinctReasonsAreCapped) {
  RunSummary summary;
  const std::size_t extra = 5;
  for (std::size_t i = 0; i < RunSummary::kMaxDistinctReasons + extra; ++i) {
    summary.add(failed_with("request " + std::to_string(i) + " failed"), "");
  }
  const json reasons = summary.to_json()["top_failure_reasons"];
  EXPECT_EQ(reasons[0], json({{"error", "(other)"}, {"count", extra}}));
}

TEST(RunSummary, ExtrasAndAtomicWrite) {
  test::TempDir dir;
  RunSummary summary;
  summary.add(ok_after(0.5), "http://a:1");
  summary.set_wall_time(Seconds(1));
  summary.set_extra("pattern", "scatter-gather");
  summary.set_extra("ranks", 4);
  const auto path = dir.file("summary.json");
  test::write_file(path, "stale");
  summary.write(path);
  const json j = json::parse(test::read_file(path));
  EXPECT_EQ(j["pattern"], "scatter-gather");
  EXPECT_EQ(j["ranks"], 4);
  EXPECT_EQ(j["requests"], 1);
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"summary.json"});
}

}  // namespace
}  // namespace swarm::cli
