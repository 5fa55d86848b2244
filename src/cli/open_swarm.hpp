#pragma once
// How every driver gets its Swarm: the hostfile, then the --min-healthy start gate.

#include <cstddef>
#include <stdexcept>
#include <string>

#include "options.hpp"
#include "swarm/mpi/communicator.hpp"
#include "swarm/mpi/swarm.hpp"
#include "swarm/pool_options.hpp"

namespace swarm::cli {

/// Fewer than --min-healthy endpoints answered /health within --give-up-after (raised on every
/// rank alike: they agree on the count).
class TooFewHealthy : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// --min-healthy's value for `endpoints` endpoints: "N" or "P%" (rounded up); throws
/// std::invalid_argument for another form, a percentage above 100, or N above `endpoints`.
std::size_t min_healthy_count(const std::string& spec, std::size_t endpoints);

/// Collective: the Swarm of --hostfile; with --min-healthy, after mpi::await_healthy found
/// enough endpoints (the others keep being probed and join when they answer). Throws
/// HostfileError, UsageError (a --min-healthy above the endpoint count) or TooFewHealthy.
mpi::Swarm open_swarm(const Options& options, const PoolOptions& pool, mpi::Communicator comm);

}  // namespace swarm::cli
