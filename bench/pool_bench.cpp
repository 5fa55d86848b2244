// Benchmark driver: one AgentPool sends N small chat requests round-robin over the endpoints of a
// hostfile (stream(), bounded window) and prints throughput, latency percentiles, connections
// made and peak RSS. Numbers are reported, never asserted (bench/README.md records them).
//
//   bench_pool --hostfile FILE [--requests N] [--concurrency C] [--prompt-bytes B]
//              [--per-agent-concurrency K] [--label TEXT]
//
// Latencies go into a fixed log-scale histogram so memory does not grow with N: the RSS printed
// is the pool's, not the benchmark's bookkeeping.

#include <sys/resource.h>

#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "swarm/hostfile.hpp"
#include "swarm/pool.hpp"

namespace {

/// Log-spaced buckets from 10 us to ~100 s, 5% wide: percentiles within 5%.
class LatencyHistogram {
 public:
  void add(double seconds) {
    const double x = std::max(seconds, kMin);
    auto b = static_cast<std::size_t>(std::log(x / kMin) / std::log(kGrowth));
    ++counts_[std::min(b, counts_.size() - 1)];
    ++total_;
  }
  [[nodiscard]] double percentile(double p) const {
    const auto rank = static_cast<std::uint64_t>(std::ceil(p * static_cast<double>(total_)));
    std::uint64_t seen = 0;
    for (std::size_t b = 0; b < counts_.size(); ++b) {
      seen += counts_[b];
      if (seen >= rank && seen > 0) return kMin * std::pow(kGrowth, static_cast<double>(b) + 0.5);
    }
    return 0.0;
  }

 private:
  static constexpr double kMin = 1e-5;
  static constexpr double kGrowth = 1.05;
  std::array<std::uint64_t, 340> counts_{};
  std::uint64_t total_ = 0;
};

double peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"AgentPool throughput benchmark against OpenAI-compatible endpoints"};
  std::string hostfile;
  std::size_t requests = 100'000;
  std::size_t concurrency = 512;
  std::size_t per_agent = 0;
  std::size_t prompt_bytes = 32;
  std::string label = "pool";
  app.add_option("--hostfile", hostfile)->required();
  app.add_option("--requests", requests)->capture_default_str();
  app.add_option("--concurrency", concurrency)->capture_default_str();
  app.add_option("--per-agent-concurrency", per_agent)->capture_default_str();
  app.add_option("--prompt-bytes", prompt_bytes)->capture_default_str();
  app.add_option("--label", label)->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  auto endpoints = swarm::parse_hostfile(hostfile);
  const std::size_t agents = endpoints.size();
  swarm::PoolOptions options;
  options.concurrency = concurrency;
  options.per_agent_concurrency = per_agent;
  options.max_tokens = 16;
  options.retries = 0;
  swarm::AgentPool pool(std::move(endpoints), options);
  const std::string model = pool.model();  // resolve /v1/models before timing
  const double rss_before = peak_rss_mib();

  const std::string prompt(prompt_bytes, 'x');
  LatencyHistogram latency;
  std::size_t ok = 0;
  std::size_t failed = 0;
  std::string first_error;
  const auto t0 = std::chrono::steady_clock::now();
  pool.stream(
      requests, [&](std::size_t) { return prompt; },
      [&](std::size_t, swarm::Response&& r) {
        latency.add(r.latency.count());
        if (r.success) {
          ++ok;
        } else {
          if (failed++ == 0) first_error = r.error;
        }
      });
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const auto stats = pool.stats();

  fmt::print("{}: {} requests over {} endpoints, concurrency {}, model '{}'\n", label, requests,
             agents, concurrency, model);
  fmt::print("  {:.0f} requests/s  ({:.2f} s)  ok {}  failed {}\n",
             static_cast<double>(requests) / seconds, seconds, ok, failed);
  fmt::print("  latency p50 {:.2f} ms  p99 {:.2f} ms\n", latency.percentile(0.50) * 1e3,
             latency.percentile(0.99) * 1e3);
  fmt::print("  new connections {}  (endpoints {})  max in flight {}\n", stats.new_connections,
             agents, stats.max_in_flight);
  fmt::print("  peak RSS {:.1f} MiB  (after setup {:.1f} MiB)\n", peak_rss_mib(), rss_before);
  if (!first_error.empty()) fmt::print("  first error: {}\n", first_error);
  return failed == 0 ? 0 : 1;
}
