#pragma once
/// @file mpi/swarm.hpp
/// Swarm: the sharded, collective view of all endpoints of an MPI job.
///
/// Rank 0 parses the hostfile and broadcasts the endpoint list, so every rank knows every
/// endpoint and the global numbering (about 1 MB for 24,000 endpoints). Each rank drives the
/// contiguous block `block_of(H, ranks, rank)` of the H hostfile endpoints through one AgentPool
/// (one engine, one connection cache, one /v1/models lookup), created on first use; ranks with
/// no agents never open a connection.
///
/// Selections (by_tag, slice, select, sample) compute the same member list on every rank
/// without communicating and number their members 0..size()-1, but an agent keeps its rank in
/// every view: it is always driven by the rank that owns its hostfile position. So every view
/// shares the rank's one pool, per-agent concurrency caps hold across views, and exactly one
/// rank ever talks to an endpoint. They are collective in the sense that every rank must make
/// the same calls.
///
/// Addressing: a view's agent `a` (0 <= a < size()) lives at placement(a) = {rank, slot in that
/// rank's pool}; patterns submit through submit()/submit_batch() on the owning rank, which stamp
/// Response::agent_index = a, the agent's index in the view the pattern runs on. That is the one
/// meaning of agent_index in swarm::mpi.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "swarm/endpoint.hpp"
#include "swarm/mpi/communicator.hpp"
#include "swarm/mpi/shard.hpp"
#include "swarm/mpi/stats.hpp"
#include "swarm/pool.hpp"
#include "swarm/pool_options.hpp"

namespace swarm::mpi {

/// Where an agent is driven: its rank, and its index in that rank's pool.
struct Placement {
  /// The rank that drives the agent.
  int rank = 0;
  /// The agent's index in that rank's pool.
  std::size_t slot = 0;
  /// Same rank and slot.
  friend bool operator==(const Placement&, const Placement&) = default;
};

/// The sharded, collective view of an MPI job's endpoints; see the file comment.
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
  /// The view's agents this rank drives, ascending.
  [[nodiscard]] const std::vector<std::size_t>& local_agents() const noexcept { return *local_; }
  /// How many of the view's agents rank `rank` drives (every rank knows every count).
  [[nodiscard]] std::size_t count_on(int rank) const;
  /// Where view agent `agent` is driven (std::out_of_range past size()).
  [[nodiscard]] Placement placement(std::size_t agent) const;
  /// The rank that drives view agent `agent`.
  [[nodiscard]] int owner_of(std::size_t agent) const { return placement(agent).rank; }
  /// True when this rank drives view agent `agent`.
  [[nodiscard]] bool is_mine(std::size_t agent) const;
  /// Position of view agent `agent` in local_agents() (std::logic_error if not this rank's).
  [[nodiscard]] std::size_t local_index(std::size_t agent) const;
  /// Endpoint of view agent `agent` (every rank knows all of them).
  [[nodiscard]] const Endpoint& endpoint(std::size_t agent) const;
  /// Position of view agent `agent` in the hostfile (the same in every view).
  [[nodiscard]] std::size_t hostfile_index(std::size_t agent) const;
  /// View agents whose tag `key` equals `value`, ascending (every rank alike, no MPI).
  [[nodiscard]] std::vector<std::size_t> agents_with_tag(std::string_view key,
                                                         std::string_view value) const;
  /// The communicator every collective of this swarm runs on.
  [[nodiscard]] Communicator communicator() const noexcept { return comm_; }
  /// The options of the rank pool (shared by every view).
  [[nodiscard]] const PoolOptions& options() const noexcept { return *options_; }

  /// This rank's one AgentPool: its block of the hostfile, shared by every view of the swarm.
  /// Created on first use. Throws std::logic_error on a rank that drives no hostfile agent.
  AgentPool& rank_pool();
  /// Collective: every rank's pool learns the model name and context from whichever rank's
  /// endpoints answered /v1/models (the lowest such rank), so a rank whose own endpoints are
  /// down still sends "model" and sizes max_tokens from the real context. Ranks with agents
  /// create their rank pool (and read /v1/models, see AgentPool::model()); no-op for
  /// Protocol::generate.
  void share_model();
  /// The rank pool if it exists already, else nullptr (never creates it).
  [[nodiscard]] AgentPool* existing_rank_pool() const noexcept;
  /// This view's local agents as a sub-pool of rank_pool() (index k = local_agents()[k]).
  /// Throws std::logic_error on a rank with no agents in this view.
  AgentPool& local_pool();

  /// Local: queues `prompt` for view agent `agent`, which this rank must drive
  /// (std::logic_error otherwise); `done` runs inside a later poll of the rank pool with
  /// agent_index = the view index of the agent that answered: `agent`, or with
  /// PoolOptions::failover another of this rank's agents of the view.
  void submit(std::size_t agent, std::string_view prompt, AgentPool::ResponseFn done,
              CallOptions call = {});
  /// Local: as submit(), one /v1/completions list request carrying `prompts`.
  void submit_batch(std::size_t agent, std::vector<std::string> prompts, AgentPool::BatchFn done,
                    CallOptions call = {});
  /// Local, blocking, no MPI: each of `agents` (this rank's) answers `prompt`; results in the
  /// order of `agents`. Never fails over (CallOptions::may_fail_over): each answer is its
  /// agent's own.
  std::vector<Response> ask(std::span<const std::size_t> agents, std::string_view prompt,
                            CallOptions call = {});

  /// Collective selections; see the file comment.
  [[nodiscard]] Swarm by_tag(std::string_view key, std::string_view value) const;
  /// Collective selection: view agents [start, stop).
  [[nodiscard]] Swarm slice(std::size_t start, std::size_t stop) const;
  /// Collective selection: the listed view agents, in the order given.
  [[nodiscard]] Swarm select(std::span<const std::size_t> agents) const;
  /// Collective selection: min(n, size()) agents chosen reproducibly from `seed` (the same on every rank).
  [[nodiscard]] Swarm sample(std::size_t n, std::uint64_t seed) const;

  /// MPI time/bytes of this rank, accumulated by the patterns run on every view of the swarm.
  [[nodiscard]] MpiStats& mpi_stats() noexcept { return shared_->stats; }

 private:
  /// What every view of one swarm shares on this rank.
  struct Shared {
    Shared(Communicator comm, std::vector<Endpoint> endpoints, PoolOptions options);
    Communicator comm;
    std::vector<Endpoint> all;  ///< Hostfile order, identical on all ranks.
    PoolOptions options;
    Block block;  ///< The hostfile agents this rank drives.
    MpiStats stats;
    std::unique_ptr<AgentPool> pool;  ///< Lazily created over `block`.
  };

  Swarm(std::shared_ptr<Shared> shared, std::vector<std::uint32_t> members);
  static Swarm whole(Communicator comm, std::vector<Endpoint> endpoints, PoolOptions options);
  Swarm view(std::vector<std::uint32_t> members) const;
  void check_agent(std::size_t agent) const;
  Placement mine(std::size_t agent) const;  ///< placement(), which must be this rank's.
  /// local_pool() index of who answered -> view index.
  static void stamp(const std::vector<std::size_t>& local, std::size_t agent, Response& r);

  std::shared_ptr<Shared> shared_;
  Communicator comm_;
  const PoolOptions* options_;
  std::vector<std::uint32_t> members_;  ///< View index -> hostfile index.
  /// View indices this rank drives, ascending (shared with in-flight completion functions).
  std::shared_ptr<const std::vector<std::size_t>> local_;
  std::vector<std::size_t> per_rank_;      ///< Agents of this view on each rank.
  std::shared_ptr<AgentPool> local_pool_;  ///< Lazily created; shared by copies of this view.
};

}  // namespace swarm::mpi
