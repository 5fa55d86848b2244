#pragma once
/// @file mpi/gather.hpp
/// Collecting Responses that stayed on their ranks at the root, e.g. for a run summary of a
/// pattern that never moves its answers there (tree_reduce's AnswerObserver).

#include <vector>

#include "swarm/response.hpp"

namespace swarm::mpi {

class Swarm;

/// Collective. The root receives every rank's `mine` concatenated in rank order (the bytes go
/// through MPI-4 large-count calls past 2 GiB); other ranks get an empty vector. HTTP keeps
/// moving while a rank waits.
std::vector<Response> gather_responses(Swarm& swarm, const std::vector<Response>& mine);

}  // namespace swarm::mpi
