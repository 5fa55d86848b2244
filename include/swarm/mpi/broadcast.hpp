#pragma once
/// @file mpi/broadcast.hpp
/// Broadcast: MPI_Bcast of the prompt, each rank posts it to its agents, MPI_Gatherv of the
/// Responses: one per agent, in agent order, on the root.

#include <string_view>
#include <vector>

#include "swarm/pool.hpp"
#include "swarm/response.hpp"

namespace swarm::mpi {

class Swarm;

/// Collective. `prompt` is significant on the root. Returns one Response per agent in agent
/// order on the root, an empty vector elsewhere.
std::vector<Response> broadcast(Swarm& swarm, std::string_view prompt, CallOptions call = {});

/// Result of broadcast_and_reduce().
struct BroadcastReduce {
  std::vector<Response> responses;  ///< Every agent's answer (root only).
  Response reduced;                 ///< The reducer's answer (every rank).
};

/// Collective. Broadcast, then the reducer agent answers `reduce_prompt` with `{responses}`
/// replaced by the successful answers joined with "\n---\n" (the seed's two-phase broadcast).
/// The reduce call uses the aggregation max_tokens cap; with PoolOptions::failover (and
/// `call.may_fail_over`) a failing reducer's call moves to another healthy agent of the
/// reducer's rank. An empty swarm throws std::logic_error on every rank.
BroadcastReduce broadcast_and_reduce(Swarm& swarm, std::string_view prompt,
                                     std::string_view reduce_prompt, std::size_t reducer_agent = 0,
                                     CallOptions call = {});

}  // namespace swarm::mpi
