#pragma once
// Internal: the blocking data movements the patterns share, over the wire codec. Each waits
// through Progress (HTTP keeps moving, MPI time is counted into the Swarm's MpiStats).

#include <cstdint>
#include <string>
#include <vector>

#include "swarm/mpi/work.hpp"
#include "swarm/response.hpp"

namespace swarm::mpi {
class Swarm;
}

namespace swarm::mpi::detail {

/// Collective: rank r receives buckets[r] (buckets significant on the root, one per rank).
std::vector<Work> scatter_work(Swarm& swarm, const std::vector<std::vector<Work>>& buckets);

/// Collective: the root receives every rank's `mine` concatenated in rank order, and in
/// `sizes` how many bytes came from each rank; other ranks get nothing.
std::vector<char> gather_bytes(Swarm& swarm, std::vector<char> mine,
                               std::vector<std::int64_t>& sizes);

/// Collective: the root receives every rank's `local` concatenated in rank order.
std::vector<Response> gather_responses(Swarm& swarm, const std::vector<Response>& local);

/// Collective: every rank's `bytes` (or `text`) becomes the swarm root's.
void broadcast_from_root(Swarm& swarm, std::vector<char>& bytes);
void broadcast_from_root(Swarm& swarm, std::string& text);

/// Collective: every rank receives `r` as held by rank `from`.
void broadcast_response(Swarm& swarm, Response& r, int from);

/// Collective: element-wise sum (or maximum) of `values` over every rank, on every rank.
void allreduce_sum(Swarm& swarm, std::vector<std::uint64_t>& values);
std::uint64_t allreduce_max(Swarm& swarm, std::uint64_t value);

/// Collective: every rank receives every rank's `mine`, indexed by rank.
std::vector<std::vector<std::uint64_t>> allgather_values(Swarm& swarm,
                                                         const std::vector<std::uint64_t>& mine);

}  // namespace swarm::mpi::detail
