#pragma once
// The two kinds of agents of --pattern embed and --pattern uncertainty: the embedding agents
// (--embed-tag KEY=VALUE, role=embed by default) and everyone else (the chat agents).

#include <string>

#include "options.hpp"
#include "swarm/mpi/swarm.hpp"

namespace swarm::cli {

/// Collective (the selection is computed alike on every rank): the view of the agents tagged
/// --embed-tag. Throws UsageError on every rank when --embed-tag is not KEY=VALUE or no agent
/// carries it.
mpi::Swarm embed_agents(const mpi::Swarm& swarm, const Options& options);

/// Collective: the agents without --embed-tag. Throws UsageError on every rank when none is
/// left.
mpi::Swarm chat_agents(const mpi::Swarm& swarm, const Options& options);

}  // namespace swarm::cli
