#pragma once
// Internal: one level of tree-reduce over the whole swarm, grouped in the global order of its
// answers whatever the rank count (tree_reduce.hpp). The answers stay on the ranks that hold
// them; only their keys travel to every rank (8 bytes each), and each group's members travel
// once, to the rank of the agent that supervises it.

#include <mpi.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "swarm/pool.hpp"
#include "swarm/response.hpp"

namespace swarm::mpi {
class Swarm;
}

namespace swarm::mpi::detail {

/// An answer carried up the tree with its key: its place in the global order of its level (a
/// leaf's item or agent index, a summary's group index). A rank holds its own in key order.
struct Carried {
  std::uint64_t key = 0;
  Response response;
  std::uint64_t leaves = 1;  ///< Leaves whose answers this one covers (itself, for a leaf).
};

/// Every carried answer of a level, in global key order, as (key, rank holding it).
using LevelOrder = std::vector<std::pair<std::uint64_t, int>>;

/// Who supervises group g of a level: the agent that gave the group's first leaf when no leaf
/// failed, agent (g * fanin^level) mod N. The seed uses agent g mod N, which puts every
/// first-level supervisor on the lowest agents, i.e. on the first ranks, so every leaf answer
/// would travel to rank 0; this rule keeps a group's members mostly on the rank of their
/// supervisor (block shards of agents, leaves in agent or item order) and spreads the calls.
class Supervisors {
 public:
  Supervisors(std::uint64_t agents, std::size_t fanin, int level);
  [[nodiscard]] std::uint64_t of(std::uint64_t group) const noexcept;

 private:
  std::uint64_t agents_;
  std::uint64_t stride_;  // fanin^level mod agents
};

/// Collective: the global order of every rank's `mine` (each in key order, keys distinct).
LevelOrder order_of(Swarm& swarm, const std::vector<Carried>& mine);

/// How one level asks its supervisors (the same on every rank).
struct LevelRule {
  std::string_view reduce_prompt;
  std::size_t fanin = 2;
  int level = 1;
  CallOptions call;
  /// Non-zero: max_tokens per_member x members + contingency (TreeReduceOptions::group_budget).
  std::int64_t per_member = 0;
  std::int64_t contingency = 0;
  std::size_t max_input_chars = 0;  ///< TreeReduceOptions::max_reduce_input_chars
};

/// Collective over `comm` (a communicator of this reduction only): the seed's step. Position p
/// of `order` belongs to group p / fanin, which agent (group mod N) supervises with
/// `reduce_prompt` filled with its members' texts and `level`. Moves this rank's answers out of
/// `mine` to the ranks that need them and returns the answers of the groups this rank's agents
/// supervised (failed ones too), keyed by group, in group order, each covering its members'
/// leaves. Supervisor of group g: see Supervisors.
std::vector<Carried> reduce_level(Swarm& swarm, MPI_Comm comm, const LevelOrder& order,
                                  std::vector<Carried>& mine, const LevelRule& rule);

/// What a supervisor is asked: the members' texts joined by "\n---\n" for {responses} (cut to
/// `max_input_chars` characters as tree_reduce_coli.py cuts them, when non-zero) and the level
/// for {level}, in one pass (an answer quoting "{level}" reaches it verbatim).
std::string supervisor_prompt(std::string_view reduce_prompt, const std::vector<Response>& group,
                              int level, std::size_t max_input_chars = 0);

}  // namespace swarm::mpi::detail
