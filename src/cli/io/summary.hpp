#pragma once
/// @file summary.hpp
/// The end-of-run summary (--summary FILE): counts, tokens, throughput, latency percentiles and
/// what failed where and why (by FailureKind and by message), with vllm bench serve's metrics
/// under its field names (E2E latency, TTFT, TPOT, ITL: mean, median, std, p90, p99), per-endpoint
/// rows and completions over time. Memory is flat in the number of requests: fixed histograms,
/// one row per endpoint, one counter pair per second of the run, at most kMaxDistinctReasons
/// failure reasons and kMaxModels model names.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "io/latency_histogram.hpp"
#include "swarm/response.hpp"

namespace swarm::cli {

class RunSummary {
 public:
  static constexpr std::size_t kReasonLength = 120;  ///< Error strings are cut to this (bytes).
  static constexpr std::size_t kMaxDistinctReasons = 1000;  ///< Beyond: counted as "(other)".
  static constexpr std::size_t kTopReasons = 10;
  static constexpr std::string_view kNoEndpoint = "(none)";
  /// Kind of a failure that carries none (e.g. relayed by a codec that does not carry `kind`).
  static constexpr std::string_view kUnknownKind = "unknown";
  static constexpr std::size_t kMaxModels = 16;  ///< Distinct reply `model` names kept.

  /// Wall time counts from construction unless set_wall_time() is called.
  RunSummary();

  /// Accounts one response, answered (or not) by `endpoint` (its URL; "" if none).
  void add(const swarm::Response& response, std::string_view endpoint);
  void set_wall_time(std::chrono::duration<double> wall) noexcept { wall_ = wall; }
  /// A caller-defined top-level field (pattern, ranks, rounds...); replaces a built-in one of
  /// the same name.
  void set_extra(const std::string& key, nlohmann::json value);

  [[nodiscard]] std::uint64_t requests() const noexcept { return requests_; }
  [[nodiscard]] std::uint64_t ok() const noexcept { return ok_; }
  [[nodiscard]] std::uint64_t failed() const noexcept { return requests_ - ok_; }
  [[nodiscard]] std::uint64_t attempts() const noexcept { return attempts_; }
  /// Attempts beyond the first of each request (= attempts - requests when all were sent).
  [[nodiscard]] std::uint64_t retries() const noexcept { return retries_; }
  [[nodiscard]] const swarm::Usage& usage() const noexcept { return usage_; }
  /// Latencies of the successful requests (failures such as "connection refused" return in
  /// microseconds and would drag the percentiles down).
  [[nodiscard]] const LatencyHistogram& latency() const noexcept { return latency_; }
  /// Of the successful streamed requests (vllm's definitions): time to first token; time per
  /// output token after the first, (latency - ttft) / (completion_tokens - 1) for requests of
  /// more than one token; and every inter-token gap.
  [[nodiscard]] const LatencyHistogram& ttft() const noexcept { return ttft_; }
  [[nodiscard]] const LatencyHistogram& tpot() const noexcept { return tpot_; }
  [[nodiscard]] const LatencyHistogram& itl() const noexcept { return itl_; }
  [[nodiscard]] const std::map<std::string, std::uint64_t, std::less<>>& failures_by_endpoint()
      const noexcept {
    return failures_by_endpoint_;
  }

  /// Failures per FailureKind name ("connect", "http_status", ...; kUnknownKind if none set).
  [[nodiscard]] const std::map<std::string, std::uint64_t, std::less<>>& failures_by_kind()
      const noexcept {
    return failures_by_kind_;
  }

  /// {"requests", "ok", "failed", "attempts", "retries", "usage": {...}, "wall_time_s",
  ///  "throughput_rps" (successful requests per second), "latency_ms": {"count", "p50", "p90",
  ///  "p99", "max"}, "failures_by_endpoint": {url: n}, "failures_by_kind": {kind: n},
  ///  "top_failure_reasons": [{"error", "count"}], vllm bench serve's "completed", "duration",
  ///  "total_input_tokens", "total_output_tokens", "request_throughput", "output_throughput",
  ///  "total_token_throughput", "{mean,median,std,p90,p99}_{e2el,ttft,tpot,itl}_ms",
  ///  "aswarm_version", "models", "start_time", "end_time", "endpoints": [{"endpoint",
  ///  "requests", "failed", "p50_ms", "p99_ms", "output_tokens_per_s"}], "timeline":
  ///  [{"t", "ok", "failed"}] (completions received per second since the start), "histograms":
  ///  {"e2el_ms", "ttft_ms"}: the non-empty buckets as [[upper_ms, count], ...], extras...}
  /// See README "Run summary" for the mapping to vllm bench serve.
  [[nodiscard]] nlohmann::json to_json() const;
  /// Writes to_json() (indented) atomically: temp file + fsync + rename.
  void write(const std::string& path) const;
  /// Writes an already computed to_json() the same way (so --summary and --report show the
  /// same numbers: to_json() reads the clock when no wall time was set).
  static void write(const nlohmann::json& summary, const std::string& path);

 private:
  std::chrono::steady_clock::time_point start_;
  std::optional<std::chrono::duration<double>> wall_;
  std::uint64_t requests_ = 0;
  std::uint64_t ok_ = 0;
  std::uint64_t attempts_ = 0;
  struct EndpointRow {
    std::uint64_t requests = 0;
    std::uint64_t failed = 0;
    std::int64_t output_tokens = 0;
    LatencyHistogram latency;  ///< of its successful requests
  };
  struct Second {
    std::uint32_t ok = 0;
    std::uint32_t failed = 0;
  };

  std::chrono::system_clock::time_point started_at_;
  std::uint64_t retries_ = 0;
  swarm::Usage usage_;
  swarm::Usage ok_usage_;  ///< of the successful requests (vllm's token totals)
  LatencyHistogram latency_;
  LatencyHistogram ttft_;
  LatencyHistogram tpot_;
  LatencyHistogram itl_;
  std::map<std::string, EndpointRow, std::less<>> endpoints_;
  std::vector<Second> timeline_;
  std::vector<std::string> models_;
  std::map<std::string, std::uint64_t, std::less<>> failures_by_endpoint_;
  std::map<std::string, std::uint64_t, std::less<>> failures_by_kind_;  ///< at most 10 keys
  std::map<std::string, std::uint64_t, std::less<>> failure_reasons_;
  nlohmann::json extra_ = nlohmann::json::object();
};

}  // namespace swarm::cli
