#pragma once
// Internal: the per-endpoint health state machine of an engine, without any I/O so that it can
// be tested alone. The engine feeds it the final outcome of each prompt request and of each
// probe, and asks it which probes are due; it decides nothing about where requests go.
//
//   healthy --(cooldown_failures consecutive failures)--> cooling
//   healthy --(suspect(): not known to answer yet)------> cooling, probe due at once
//   cooling --(a /health probe answers 2xx)------------> healthy
//
// While cooling, exactly one probe is either scheduled (in due_) or in flight, so probing is
// bounded by one request per cooling endpoint. A successful request on a cooling endpoint
// resets its failure count but leaves it cooling: only a probe ends cooling, so there is one
// way back and no stale probe to cancel.

#include <chrono>
#include <cstdint>
#include <optional>
#include <queue>
#include <string>
#include <vector>

#include "swarm/pool.hpp"
#include "swarm/pool_options.hpp"
#include "swarm/response.hpp"

namespace swarm::detail {

using Clock = std::chrono::steady_clock;

/// Whether a request that ended with `kind` (of a transport failure; none when an HTTP reply
/// was read) and HTTP `status` counts towards cooling its endpoint.
bool cooling_failure(FailureKind kind, long status) noexcept;

/// The last failure that counted against an endpoint, for "no healthy agent" errors.
struct LastFailure {
  std::string error;  ///< As a Response would carry it, e.g. "HTTP 503: ..." (redacted).
  FailureKind kind = FailureKind::none;
  long http_status = 0;
};

class HealthTable {
 public:
  HealthTable(std::size_t endpoints, const PoolOptions& options);

  [[nodiscard]] AgentHealth state(std::uint32_t e) const noexcept { return entries_[e].state; }
  [[nodiscard]] bool healthy(std::uint32_t e) const noexcept {
    return entries_[e].state == AgentHealth::healthy;
  }
  [[nodiscard]] Seconds latency(std::uint32_t e) const noexcept { return entries_[e].latency; }
  /// Consecutive cooling failures of a still healthy `e` (0 after any answer).
  [[nodiscard]] int failures(std::uint32_t e) const noexcept { return entries_[e].failures; }
  [[nodiscard]] const LastFailure& last_failure(std::uint32_t e) const noexcept {
    return entries_[e].last;
  }

  /// A prompt request on `e` ended with a 2xx; `attempt` is its last attempt's duration.
  void succeeded(std::uint32_t e, Seconds attempt) noexcept;
  /// A prompt request on `e` ended with a reply that neither succeeded nor counts as a failure
  /// (e.g. HTTP 400): the endpoint answers, so the count restarts.
  void answered(std::uint32_t e) noexcept;
  /// A prompt request on `e` ended with a cooling failure. Returns true when this made `e`
  /// cooling; its first probe is then due at now + probe_interval.
  bool failed(std::uint32_t e, LastFailure why, Clock::time_point now);

  /// Makes a healthy `e` cooling with its probe due at `now` (a start-up check: it gets no
  /// traffic until a probe answers). Returns false when `e` was cooling already.
  bool suspect(std::uint32_t e, Clock::time_point now);
  /// Whether `e` turning healthy is news worth logging: it failed a request or a probe (not
  /// merely suspect() followed by a first probe that answered).
  [[nodiscard]] bool was_down(std::uint32_t e) const noexcept { return entries_[e].was_down; }

  /// Pops one endpoint whose probe is due at `now` and marks its probe in flight.
  std::optional<std::uint32_t> due_probe(Clock::time_point now);
  /// When the next scheduled probe falls due; time_point::max() when none is scheduled.
  [[nodiscard]] Clock::time_point next_probe() const noexcept;
  /// The in-flight probe of `e` finished. Returns true when it made `e` healthy (`ok`);
  /// otherwise the next probe is due after 250 ms (or probe_interval, if shorter) when the
  /// connection was refused (`why.kind` connect: nothing listens yet), else after twice the
  /// last interval (capped), and
  /// `why` becomes the last failure when no request failure is known.
  bool probed(std::uint32_t e, bool ok, Clock::time_point now, LastFailure why = {});

 private:
  struct Entry {
    AgentHealth state = AgentHealth::healthy;
    int failures = 0;            ///< Consecutive, while healthy.
    Clock::duration interval{};  ///< The current probe interval, while cooling.
    Seconds latency{0.0};
    LastFailure last;
    bool was_down = false;
  };
  struct Due {
    Clock::time_point when;
    std::uint32_t endpoint;
    bool operator>(const Due& o) const noexcept { return when > o.when; }
  };
  void schedule(std::uint32_t e, Clock::time_point now);

  std::vector<Entry> entries_;
  std::priority_queue<Due, std::vector<Due>, std::greater<>> due_;
  int cooldown_failures_;
  Clock::duration interval_;
  Clock::duration interval_max_;
};

}  // namespace swarm::detail
