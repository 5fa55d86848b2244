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

/// --min-healthy as written: a count, or a percentage (`percent`, at most 100).
struct MinHealthy {
  std::size_t value = 0;
  bool percent = false;
};
/// Parses "N" or "P%"; throws std::invalid_argument naming the flag for another form or a
/// percentage above 100 (the flag's own check, before the hostfile is read).
MinHealthy parse_min_healthy(const std::string& spec);
/// --min-healthy's value for `endpoints` endpoints (a percentage rounded up); throws as
/// parse_min_healthy, or for N above `endpoints`.
std::size_t min_healthy_count(const std::string& spec, std::size_t endpoints);

/// Collective: the Swarm of --hostfile; with --min-healthy, after mpi::await_healthy found
/// enough endpoints (the others keep being probed and join when they answer). Throws
/// HostfileError, UsageError (a --min-healthy above the endpoint count) or TooFewHealthy.
mpi::Swarm open_swarm(const Options& options, const PoolOptions& pool, mpi::Communicator comm);

}  // namespace swarm::cli
