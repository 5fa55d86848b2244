#pragma once

#include <cstdio>
#include <string>

#include "swarm/mpi/communicator.hpp"

namespace swarm::cli {

/// Collective: rank 0 parses `hostfile`; every rank learns its block of endpoints; rank 0 prints
/// the shard plan to `out`. A bad hostfile throws the same HostfileError on every rank.
void dry_run(const std::string& hostfile, mpi::Communicator comm, std::FILE* out);

}  // namespace swarm::cli
