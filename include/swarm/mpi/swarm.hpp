#pragma once
/// @file mpi/swarm.hpp
/// Swarm: the sharded, collective view of all endpoints of an MPI job.
///
/// Rank 0 parses the hostfile and broadcasts the endpoint list, so every rank knows every
/// endpoint and the global numbering (about 1 MB for 24,000 endpoints). Each rank drives the
/// contiguous block `block_of(size(), ranks, rank)` of the view's agents with its own AgentPool
/// (created on first use; ranks with no agents never open a connection). Selections (by_tag,
/// slice, select, sample) compute the same member list on every rank without communicating
/// and re-shard it in blocks over all ranks, like MPI_Comm_split gives a communicator its own
/// numbering. They are collective in the sense that every rank must make the same calls.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "swarm/endpoint.hpp"
#include "swarm/mpi/communicator.hpp"
#include "swarm/mpi/shard.hpp"
#include "swarm/pool.hpp"
#include "swarm/pool_options.hpp"

namespace swarm::mpi {

/// Time and bytes a Swarm spent in MPI (this rank), for benchmarks and summaries.
struct MpiStats {
  double seconds = 0.0;  ///< Wall time inside MPI calls, or idle waiting for a transfer.
  std::uint64_t calls = 0;
  std::uint64_t bytes_sent = 0;      ///< Payload this rank contributed (root: scattered).
  std::uint64_t bytes_received = 0;  ///< Payload this rank received (root: gathered).
};

class Swarm {
 public:
  /// Collective. Rank 0 parses `hostfile`; a bad hostfile throws the same HostfileError on
  /// every rank (nobody is left waiting in a collective).
  static Swarm from_hostfile(Communicator comm, const std::filesystem::path& hostfile,
                             PoolOptions options = PoolOptions::from_environment());

  /// Collective. `endpoints` is significant on rank 0 only.
  static Swarm from_endpoints(Communicator comm, const std::vector<Endpoint>& endpoints,
                              PoolOptions options = PoolOptions::from_environment());

  /// Number of agents in this view (every rank).
  [[nodiscard]] std::size_t size() const noexcept { return members_.size(); }
  /// This rank's agents: view indices [shard().begin, shard().begin + shard().count).
  [[nodiscard]] Block shard() const noexcept { return block_; }
  /// The rank that drives view agent `agent`.
  [[nodiscard]] int owner_of(std::size_t agent) const;
  /// Endpoint of view agent `agent` (every rank knows all of them).
  [[nodiscard]] const Endpoint& endpoint(std::size_t agent) const;
  /// Position of view agent `agent` in the hostfile (the same in every view).
  [[nodiscard]] std::size_t hostfile_index(std::size_t agent) const;
  [[nodiscard]] Communicator communicator() const noexcept { return comm_; }
  [[nodiscard]] const PoolOptions& options() const noexcept { return *options_; }

  /// The AgentPool over this rank's shard (local index k = view agent shard().begin + k).
  /// Created on first use. Throws std::logic_error on a rank with no agents.
  AgentPool& local_pool();

  /// Collective selections; see the file comment.
  [[nodiscard]] Swarm by_tag(std::string_view key, std::string_view value) const;
  [[nodiscard]] Swarm slice(std::size_t start, std::size_t stop) const;
  [[nodiscard]] Swarm select(std::span<const std::size_t> agents) const;
  [[nodiscard]] Swarm sample(std::size_t n, std::uint64_t seed) const;

  /// MPI time/bytes of this rank, accumulated by the patterns run on this view.
  [[nodiscard]] MpiStats& mpi_stats() noexcept { return *stats_; }

 private:
  Swarm(Communicator comm, std::shared_ptr<const std::vector<Endpoint>> all,
        std::vector<std::uint32_t> members, std::shared_ptr<const PoolOptions> options,
        std::shared_ptr<MpiStats> stats);
  Swarm view(std::vector<std::uint32_t> members) const;

  Communicator comm_;
  std::shared_ptr<const std::vector<Endpoint>> all_;  ///< Hostfile order, identical on all ranks.
  std::vector<std::uint32_t> members_;                ///< View index -> index into *all_.
  std::shared_ptr<const PoolOptions> options_;
  std::shared_ptr<MpiStats> stats_;
  Block block_;
  std::shared_ptr<AgentPool> pool_;  ///< Lazily created; shared by copies of this view.
};

}  // namespace swarm::mpi
