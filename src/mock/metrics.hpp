#pragma once
/// @file metrics.hpp
/// Request counters and their Prometheus text rendering for GET /metrics.
///
/// Each agent's counters are written only by the thread running that agent but are read by
/// whichever thread renders /metrics, hence relaxed atomics: every value is exact, the set of
/// values is not a single atomic snapshot across threads.

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "options.hpp"

namespace swarm::mock {

enum class Route : std::uint8_t {
  chat,
  completions,
  generate,
  embeddings,
  models,
  health,
  metrics,
  other
};
inline constexpr std::size_t kRoutes = 8;

/// The URL path of a route ("other" for unknown paths): the `route` label in /metrics.
std::string_view route_label(Route route) noexcept;
/// Route of a URL path; Route::other when unknown.
Route route_of(std::string_view path) noexcept;

/// What one agent counts. "In flight" is every completion/generate/embedding request the agent
/// holds (waiting for a --max-concurrent slot, running its latency, or hanging); "running" is
/// the subset that holds a slot.
struct AgentCounters {
  std::array<std::atomic<std::uint64_t>, kRoutes> requests{};
  std::atomic<std::uint64_t> in_flight{0};
  std::atomic<std::uint64_t> in_flight_max{0};
  std::atomic<std::uint64_t> running{0};
  std::atomic<std::uint64_t> running_max{0};
  std::atomic<std::uint64_t> client_disconnects{0};

  void count(Route route) noexcept {
    requests[static_cast<std::size_t>(route)].fetch_add(1, std::memory_order_relaxed);
  }
  void enter_in_flight() noexcept { raise(in_flight, in_flight_max); }
  void leave_in_flight() noexcept { in_flight.fetch_sub(1, std::memory_order_relaxed); }
  void enter_running() noexcept { raise(running, running_max); }
  void leave_running() noexcept { running.fetch_sub(1, std::memory_order_relaxed); }

 private:
  // Single writer: a load/store pair on the max is race-free.
  static void raise(std::atomic<std::uint64_t>& gauge, std::atomic<std::uint64_t>& max) noexcept {
    const std::uint64_t now = gauge.fetch_add(1, std::memory_order_relaxed) + 1;
    if (now > max.load(std::memory_order_relaxed)) max.store(now, std::memory_order_relaxed);
  }
};

/// Static facts about an agent plus its counters.
struct AgentStats {
  std::size_t index = 0;
  std::uint16_t port = 0;
  std::string role;
  bool slow = false;
  bool dead = false;
  /// Accepting and serving: false for --dead-agents, a late agent before it listens and a dying
  /// agent after it died. Written by the agent's thread, read by whoever renders /metrics.
  std::atomic<bool> up{true};
  AgentCounters counters;
};

/// Process-wide injected-failure counts, by kind (any agent's thread may write).
struct FailureCounters {
  std::array<std::atomic<std::uint64_t>, kFailureKinds> by_kind{};
  void count(FailureKind kind) noexcept {
    by_kind[static_cast<std::size_t>(kind)].fetch_add(1, std::memory_order_relaxed);
  }
};

/// Prometheus text format (version 0.0.4) for all agents of the process. Per-port series are
/// listed only for agents that received at least one request, and request counters only for
/// routes with a non-zero count, so 4,000 idle agents do not make every scrape huge; the
/// up/down gauge and the info series list every agent, since an idle agent can be down.
std::string render_metrics(std::span<const AgentStats> agents, const FailureCounters& failures);

}  // namespace swarm::mock
