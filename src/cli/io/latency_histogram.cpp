#include "io/latency_histogram.hpp"

#include <algorithm>
#include <cmath>

namespace swarm::cli {
namespace {

// Bucket 0 holds everything below kMinSeconds; bucket i >= 1 holds [min*g^(i-1), min*g^i).
std::size_t bucket_of(double seconds) noexcept {
  if (!(seconds >= LatencyHistogram::kMinSeconds)) return 0;  // also NaN
  const double position =
      std::log(seconds / LatencyHistogram::kMinSeconds) / std::log(LatencyHistogram::kGrowth);
  const double index = 1.0 + std::floor(position);
  return index >= static_cast<double>(LatencyHistogram::kBuckets - 1)
             ? LatencyHistogram::kBuckets - 1
             : static_cast<std::size_t>(index);
}

// The geometric middle of a bucket: the value with the smallest worst-case relative error.
double middle_of(std::size_t bucket) noexcept {
  if (bucket == 0) return LatencyHistogram::kMinSeconds / 2;
  return LatencyHistogram::kMinSeconds *
         std::pow(LatencyHistogram::kGrowth, static_cast<double>(bucket) - 0.5);
}

}  // namespace

void LatencyHistogram::add(std::chrono::duration<double> latency) noexcept {
  const double seconds = std::isfinite(latency.count()) ? std::max(latency.count(), 0.0) : 0.0;
  ++buckets_[bucket_of(seconds)];
  min_ = count_ == 0 ? seconds : std::min(min_, seconds);
  max_ = count_ == 0 ? seconds : std::max(max_, seconds);
  sum_ += seconds;
  sum_sq_ += seconds * seconds;
  ++count_;
}

std::chrono::duration<double> LatencyHistogram::quantile(double q) const noexcept {
  if (count_ == 0) return std::chrono::duration<double>(0.0);
  q = std::clamp(q, 0.0, 1.0);
  const auto rank = std::max<std::uint64_t>(
      1, static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(count_))));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < kBuckets; ++i) {
    seen += buckets_[i];
    if (seen >= rank) {
      // Clamping to the exact extremes makes p0/p100 exact and tightens the edge buckets.
      return std::chrono::duration<double>(std::clamp(middle_of(i), min_, max_));
    }
  }
  return max();
}

std::chrono::duration<double> LatencyHistogram::min() const noexcept {
  return std::chrono::duration<double>(min_);
}

std::chrono::duration<double> LatencyHistogram::max() const noexcept {
  return std::chrono::duration<double>(max_);
}

std::chrono::duration<double> LatencyHistogram::mean() const noexcept {
  return std::chrono::duration<double>(count_ == 0 ? 0.0 : sum_ / static_cast<double>(count_));
}

std::chrono::duration<double> LatencyHistogram::stddev() const noexcept {
  if (count_ == 0) return std::chrono::duration<double>(0.0);
  const double n = static_cast<double>(count_);
  const double m = sum_ / n;
  // Rounding can leave a tiny negative variance for identical samples.
  return std::chrono::duration<double>(std::sqrt(std::max(0.0, sum_sq_ / n - m * m)));
}

double LatencyHistogram::bucket_upper(std::size_t i) noexcept {
  return kMinSeconds * std::pow(kGrowth, static_cast<double>(i));
}

}  // namespace swarm::cli
