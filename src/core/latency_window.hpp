#pragma once
// Internal: the last N successful attempt durations of an engine, and a quantile of them. What
// hedging compares a running attempt against: a fixed-size ring, so memory and the cost of one
// quantile stay flat over a run of millions of requests, and the distribution follows the fleet
// as it changes (slower late in a run, faster once slow agents cool).

#include <algorithm>
#include <array>
#include <cstddef>
#include <optional>

#include "swarm/pool_options.hpp"

namespace swarm::detail {

class LatencyWindow {
 public:
  static constexpr std::size_t kSize = 1024;
  /// Fewer samples than this give no quantile: the first answers of a run say little about its
  /// tail.
  static constexpr std::size_t kMinSamples = 50;

  void add(Seconds s) noexcept {
    ring_[next_] = s.count();
    next_ = (next_ + 1) % kSize;
    if (count_ < kSize) ++count_;
  }

  [[nodiscard]] std::size_t count() const noexcept { return count_; }

  /// The q-quantile (0 < q < 1) of the samples held; none below kMinSamples. O(kSize).
  [[nodiscard]] std::optional<Seconds> quantile(double q) const {
    if (count_ < kMinSamples) return std::nullopt;
    std::array<double, kSize> copy{};
    std::copy_n(ring_.begin(), count_, copy.begin());
    const auto k = static_cast<std::size_t>(q * static_cast<double>(count_ - 1));
    std::nth_element(copy.begin(), copy.begin() + static_cast<std::ptrdiff_t>(k),
                     copy.begin() + static_cast<std::ptrdiff_t>(count_));
    return Seconds(copy[k]);
  }

 private:
  std::array<double, kSize> ring_{};
  std::size_t next_ = 0;
  std::size_t count_ = 0;
};

}  // namespace swarm::detail
