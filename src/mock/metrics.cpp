#include "metrics.hpp"

#include <fmt/format.h>

#include <iterator>

namespace swarm::mock {
namespace {

constexpr std::array<std::string_view, kRoutes> kRouteLabels = {
    "/v1/chat/completions", "/v1/completions", "/generate", "/v1/embeddings",
    "/v1/models",           "/health",         "/metrics",  "other"};

std::uint64_t load(const std::atomic<std::uint64_t>& value) {
  return value.load(std::memory_order_relaxed);
}

bool contacted(const AgentStats& agent) {
  for (const auto& n : agent.counters.requests) {
    if (load(n) != 0) return true;
  }
  return false;
}

void header(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

/// One gauge/counter series per contacted agent, labelled by port.
template <typename Read>
void per_port(std::string& out, std::span<const AgentStats> agents, std::string_view name,
              std::string_view type, std::string_view help, Read read) {
  header(out, name, type, help);
  for (const AgentStats& agent : agents) {
    if (!contacted(agent)) continue;
    fmt::format_to(std::back_inserter(out), "{}{{port=\"{}\"}} {}\n", name, agent.port,
                   read(agent.counters));
  }
}

}  // namespace

std::string_view route_label(Route route) noexcept {
  return kRouteLabels.at(static_cast<std::size_t>(route));
}

Route route_of(std::string_view path) noexcept {
  for (std::size_t i = 0; i + 1 < kRoutes; ++i) {
    if (path == kRouteLabels.at(i)) return static_cast<Route>(i);
  }
  return Route::other;
}

std::string render_metrics(std::span<const AgentStats> agents, const FailureCounters& failures) {
  std::string out;
  auto it = std::back_inserter(out);
  header(out, "aswarm_mock_requests_total", "counter",
         "Requests received, by agent port and route (a scrape counts itself).");
  std::uint64_t total = 0;
  for (const AgentStats& agent : agents) {
    for (std::size_t r = 0; r < kRoutes; ++r) {
      const std::uint64_t n = load(agent.counters.requests.at(r));
      if (n == 0) continue;
      total += n;
      fmt::format_to(it, "aswarm_mock_requests_total{{port=\"{}\",route=\"{}\"}} {}\n", agent.port,
                     kRouteLabels.at(r), n);
    }
  }
  header(out, "aswarm_mock_all_requests_total", "counter", "Requests received by all agents.");
  fmt::format_to(it, "aswarm_mock_all_requests_total {}\n", total);

  per_port(out, agents, "aswarm_mock_in_flight", "gauge",
           "Completion requests held by the agent now (queued, running or hanging).",
           [](const AgentCounters& c) { return load(c.in_flight); });
  per_port(out, agents, "aswarm_mock_in_flight_max", "gauge",
           "Most completion requests held by the agent at once.",
           [](const AgentCounters& c) { return load(c.in_flight_max); });
  per_port(out, agents, "aswarm_mock_running", "gauge",
           "Requests holding one of the agent's --max-concurrent slots now.",
           [](const AgentCounters& c) { return load(c.running); });
  per_port(out, agents, "aswarm_mock_running_max", "gauge",
           "Most requests holding a slot at once (never above --max-concurrent).",
           [](const AgentCounters& c) { return load(c.running_max); });
  per_port(out, agents, "aswarm_mock_client_disconnects_total", "counter",
           "Held requests abandoned because the client closed the connection.",
           [](const AgentCounters& c) { return load(c.client_disconnects); });

  header(out, "aswarm_mock_failures_injected_total", "counter",
         "Failures injected by the --fail-* flags, by kind.");
  for (std::size_t k = 0; k < kFailureKinds; ++k) {
    fmt::format_to(it, "aswarm_mock_failures_injected_total{{kind=\"{}\"}} {}\n",
                   failure_label(static_cast<FailureKind>(k)), load(failures.by_kind.at(k)));
  }

  header(out, "aswarm_mock_agent_up", "gauge",
         "1 while the agent accepts and serves requests; 0 when dead, dead after dying, or late "
         "and not listening yet.");
  for (const AgentStats& agent : agents) {
    fmt::format_to(it, "aswarm_mock_agent_up{{port=\"{}\"}} {}\n", agent.port,
                   agent.up.load(std::memory_order_relaxed) ? 1 : 0);
  }

  header(out, "aswarm_mock_agent_info", "gauge", "One series per agent: index, role, knobs.");
  for (const AgentStats& agent : agents) {
    fmt::format_to(it,
                   "aswarm_mock_agent_info{{agent=\"{}\",port=\"{}\",role=\"{}\",slow=\"{}\","
                   "dead=\"{}\"}} 1\n",
                   agent.index, agent.port, agent.role, agent.slow ? 1 : 0, agent.dead ? 1 : 0);
  }
  return out;
}

}  // namespace swarm::mock
