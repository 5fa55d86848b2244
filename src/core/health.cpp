#include "health.hpp"

#include <algorithm>

namespace swarm::detail {
namespace {

// Between probes of an endpoint that refuses connections (see HealthTable::probed).
constexpr Clock::duration kRefusedInterval = std::chrono::milliseconds(250);

}  // namespace
namespace {

// Weight of the newest sample in the latency mean: about the last ten requests matter, so a
// slowing agent shows within a few requests without one outlier dominating.
constexpr double kLatencyWeight = 0.2;

Clock::duration ticks(Seconds s) {
  return std::chrono::duration_cast<Clock::duration>(s);
}

}  // namespace

bool cooling_failure(FailureKind kind, long status) noexcept {
  switch (kind) {
    case FailureKind::connect:
    case FailureKind::reset:
    case FailureKind::timeout:
    case FailureKind::tls:
    case FailureKind::transport:
      return true;
    case FailureKind::none:
      return status >= 500 && status < 600;
    default:
      return false;  // oversize: the endpoint answered, too much
  }
}

HealthTable::HealthTable(std::size_t endpoints, const PoolOptions& options)
    : entries_(endpoints),
      cooldown_failures_(options.cooldown_failures),
      interval_(ticks(options.probe_interval)),
      interval_max_(ticks(options.probe_interval_max)) {}

void HealthTable::succeeded(std::uint32_t e, Seconds attempt) noexcept {
  Entry& x = entries_[e];
  x.failures = 0;
  x.latency = x.latency.count() == 0.0
                  ? attempt
                  : kLatencyWeight * attempt + (1 - kLatencyWeight) * x.latency;
}

void HealthTable::answered(std::uint32_t e) noexcept {
  entries_[e].failures = 0;
}

bool HealthTable::failed(std::uint32_t e, LastFailure why, Clock::time_point now) {
  Entry& x = entries_[e];
  x.last = std::move(why);
  if (x.state == AgentHealth::cooling || ++x.failures < cooldown_failures_) return false;
  x.state = AgentHealth::cooling;
  x.failures = 0;
  x.interval = interval_;
  x.was_down = true;
  schedule(e, now);
  return true;
}

bool HealthTable::suspect(std::uint32_t e, Clock::time_point now) {
  Entry& x = entries_[e];
  if (x.state == AgentHealth::cooling) return false;
  x.state = AgentHealth::cooling;
  x.failures = 0;
  x.interval = interval_;
  x.was_down = false;
  due_.push(Due{now, e});
  return true;
}

void HealthTable::schedule(std::uint32_t e, Clock::time_point now) {
  due_.push(Due{now + entries_[e].interval, e});
}

std::optional<std::uint32_t> HealthTable::due_probe(Clock::time_point now) {
  if (due_.empty() || due_.top().when > now) return std::nullopt;
  const std::uint32_t e = due_.top().endpoint;
  due_.pop();
  return e;
}

Clock::time_point HealthTable::next_probe() const noexcept {
  return due_.empty() ? Clock::time_point::max() : due_.top().when;
}

bool HealthTable::probed(std::uint32_t e, bool ok, Clock::time_point now, LastFailure why) {
  Entry& x = entries_[e];
  if (ok) {
    x.state = AgentHealth::healthy;
    x.failures = 0;
    return true;
  }
  x.was_down = true;
  // A refused connection is a server not listening yet (vLLM opens its port once the model is
  // loaded, 5-15 min into a job): probing it again costs a SYN and a reset, so it is probed
  // every kRefusedInterval (or probe_interval, if shorter) and a late joiner is found within a
  // quarter second. A server that is there but fails (timeouts, 5xx) is backed off, doubling
  // up to probe_interval_max.
  const bool refused = why.kind == FailureKind::connect;
  if (x.last.kind == FailureKind::none) x.last = std::move(why);
  x.interval = refused ? std::min(interval_, kRefusedInterval)
                       : std::min(2 * x.interval, interval_max_);
  schedule(e, now);
  return false;
}

}  // namespace swarm::detail
