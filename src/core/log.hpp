#pragma once
// Internal: the shared spdlog logger. Kept out of the public headers so that consumers of
// swarm::core do not inherit spdlog's headers or its fmt configuration.

#include <spdlog/spdlog.h>

namespace swarm::detail {

/// The process-wide "aswarm" logger (stderr, thread-safe), created on first use.
spdlog::logger& logger();

}  // namespace swarm::detail
