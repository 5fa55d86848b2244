#pragma once
/// @file mpi/strings.hpp
/// Moving variable-length strings between ranks.

#include <string>

#include "swarm/mpi/communicator.hpp"

namespace swarm::mpi {

/// Collective: after the call every rank's `text` equals the root's. Non-root contents are
/// replaced. Any length: past INT_MAX bytes the MPI-4 large-count call is used. Waits by
/// testing with short sleeps, so ranks oversubscribing cores do not spin.
void broadcast_string(std::string& text, Communicator comm, int root = Communicator::kRoot);

}  // namespace swarm::mpi
