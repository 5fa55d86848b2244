#pragma once
/// @file mpi/stats.hpp
/// What a rank spent in MPI, for benchmarks and `--summary`'s per-rank MPI share.

#include <cstdint>

namespace swarm::mpi {

/// Time and bytes a Swarm spent in MPI on this rank. Every wait of the patterns goes through one
/// progress primitive that adds to it, so the share is complete for every pattern.
struct MpiStats {
  double seconds = 0.0;  ///< Wall time inside MPI calls, or idle waiting for a transfer.
  /// The part of `seconds` this rank waited with no HTTP request outstanding, i.e. with no
  /// work at all: before its first prompt arrives, after its last answer until the pattern's
  /// end, or while its agents are all down. `seconds - idle_seconds` is what MPI cost it while
  /// it had work.
  double idle_seconds = 0.0;
  /// Timed MPI steps (one call, or a few made together, per step).
  std::uint64_t calls = 0;
  std::uint64_t bytes_sent = 0;      ///< Payload this rank contributed (root: scattered).
  std::uint64_t bytes_received = 0;  ///< Payload this rank received (root: gathered).
};

}  // namespace swarm::mpi
