#pragma once
// The patterns of aswarm-mpi: one table that --pattern's choices, the per-pattern flag rules and
// the dispatch in main.cpp all read. A new pattern is a run_<p>.cpp and one row in patterns.cpp.

#include <span>
#include <string_view>

#include "options.hpp"
#include "swarm/mpi/communicator.hpp"
#include "swarm/pool_options.hpp"

namespace swarm::cli {

struct PatternDriver {
  std::string_view name;  ///< The --pattern value, also "pattern" in --summary.
  /// The pattern's flag rules, checked by validate() before MPI is used: throws
  /// CLI::ValidationError (printed with the --help hint). nullptr when the pattern checks its
  /// flags in `run` instead (tree-reduce: UsageError, after the pool options are read).
  void (*validate)(const Options&) = nullptr;
  /// Collective. Exit code for a finished run: kExitOk, or kExitSomeFailed when any request
  /// failed. Throws UsageError (on every rank alike) for a problem found before anything is sent.
  int (*run)(const Options&, const PoolOptions&, mpi::Communicator) = nullptr;
};

/// Every pattern, in the order --help lists them.
std::span<const PatternDriver> pattern_drivers() noexcept;

/// The pattern called `name`; nullptr if there is none.
const PatternDriver* find_pattern(std::string_view name) noexcept;

}  // namespace swarm::cli
