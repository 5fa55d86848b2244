#pragma once
/// @file latency_histogram.hpp
/// Latency percentiles in fixed memory: a log-bucket histogram (2.4 KiB) whatever the
/// number of requests, so a million-request run does not keep a million latencies.
///
/// Buckets grow by 10% from 1 us to ~4 weeks, so a percentile is within ~5% (the half-width of a
/// bucket, sqrt(1.1) - 1 = 4.9%) of the exact nearest-rank value; min and max are exact.

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace swarm::cli {

class LatencyHistogram {
 public:
  static constexpr double kMinSeconds = 1e-6;
  static constexpr double kGrowth = 1.1;
  static constexpr std::size_t kBuckets = 300;  // 1 us * 1.1^299 ~ 2.4e6 s

  void add(std::chrono::duration<double> latency) noexcept;

  [[nodiscard]] std::uint64_t count() const noexcept { return count_; }
  /// Nearest-rank quantile `q` in [0, 1] (0.5 = median), within ~5%; 0 when empty.
  [[nodiscard]] std::chrono::duration<double> quantile(double q) const noexcept;
  [[nodiscard]] std::chrono::duration<double> min() const noexcept;
  [[nodiscard]] std::chrono::duration<double> max() const noexcept;
  /// Exact mean and population standard deviation (from running sums), as vllm bench serve's
  /// `mean_*` and `std_*` (numpy's std); 0 when empty.
  [[nodiscard]] std::chrono::duration<double> mean() const noexcept;
  [[nodiscard]] std::chrono::duration<double> stddev() const noexcept;
  /// Samples in bucket `i` (< kBuckets) and its upper bound in seconds, for drawing.
  [[nodiscard]] std::uint64_t bucket_count(std::size_t i) const noexcept { return buckets_[i]; }
  [[nodiscard]] static double bucket_upper(std::size_t i) noexcept;

 private:
  std::array<std::uint64_t, kBuckets> buckets_{};
  std::uint64_t count_ = 0;
  double min_ = 0;
  double max_ = 0;
  double sum_ = 0;
  double sum_sq_ = 0;
};

}  // namespace swarm::cli
