#pragma once
/// @file mpi/strings.hpp
/// Moving variable-length strings between ranks.

#include <string>

#include "swarm/mpi/communicator.hpp"

namespace swarm::mpi {

/// Collective: after the call every rank's `text` equals the root's. Non-root contents are
/// replaced. Payloads up to INT_MAX bytes (larger ones throw std::length_error on the root,
/// before any rank blocks on data — the length is broadcast first).
void broadcast(std::string& text, Communicator comm, int root = Communicator::kRoot);

}  // namespace swarm::mpi
