#pragma once
// The health gate: probe rounds until every endpoint is healthy, the settle time after the
// first healthy endpoint is over, or the overall deadline passes.

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include <spdlog/logger.h>

#include "hostfile_io.hpp"
#include "prober.hpp"
#include "swarm/endpoint.hpp"

namespace swarm::health {

struct GateSettings {
  Clock::time_point start;     ///< When the tool started (times in logs count from here).
  Clock::time_point deadline;  ///< Overall deadline: no round starts after it.
  std::chrono::duration<double> settle{300.0};
  std::chrono::duration<double> interval{5.0};
  std::chrono::duration<double> probe_timeout{5.0};
};

struct EndpointOutcome {
  bool healthy = false;
  int probes = 0;
  std::chrono::duration<double> healthy_after{0.0};  ///< Since GateSettings::start.
  std::string last_error;                            ///< The last failed probe's reason.
};

struct GateResult {
  std::vector<EndpointOutcome> outcomes;  ///< One per endpoint, hostfile order.
  std::size_t healthy = 0;
  std::string stop_reason;  ///< "all healthy", "settle time over", "deadline reached".
};

/// Runs the gate. A healthy endpoint stays healthy (it is not probed again), as in the Python
/// tool. Logs each endpoint when it turns healthy; the caller logs the rest.
GateResult run_gate(const std::vector<Endpoint>& endpoints, Prober& prober,
                    const GateSettings& settings, spdlog::logger& log);

}  // namespace swarm::health
