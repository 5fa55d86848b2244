#pragma once
/// @file mpi/health.hpp
/// A start gate on endpoint health, for jobs whose servers come up over minutes (a 120B model
/// loads in 5-15 min, differently on each node).

#include <cstddef>

#include "swarm/pool_options.hpp"

namespace swarm::mpi {

class Swarm;

/// Collective. Probes `/health` on every agent of `swarm` (each rank its own, through
/// AgentPool::probe_health) and waits until at least `min_healthy` agents in all answer 2xx, or
/// until `limit` has passed. Agents that have not answered stay cooling: the engine keeps
/// probing them with back-off while the patterns run, and they take work as soon as a probe
/// finds them (the dynamic schedule, and failover, only use healthy agents). Returns the number
/// of healthy agents over all ranks, the same on every rank; it is below `min_healthy` only
/// when `limit` passed first. `min_healthy` 0 returns at once after starting the probes.
std::size_t await_healthy(Swarm& swarm, std::size_t min_healthy, Seconds limit);

}  // namespace swarm::mpi
