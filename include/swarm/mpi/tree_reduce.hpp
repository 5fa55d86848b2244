#pragma once
/// @file mpi/tree_reduce.hpp
/// Tree-reduce: leaf answers are summarised by supervisor agents in groups of at most `fanin`,
/// level after level, until one answer remains (the seed's hierarchical tree-reduce).
///
/// Two phases, so the root never sees the leaf answers:
///  1. Local: every rank runs the seed's loop over its own leaves with its own agents. Its
///     leaves are its agents' answers in agent order (or, with items, the answers to the items
///     its agents received, in item order; item i goes to agent i mod N as in scatter-gather).
///     Groups of `fanin` consecutive answers; group g of a level goes to the rank's local agent
///     g mod (its agent count); repeated until the rank holds at most one summary.
///  2. Rank tree: the ranks that hold agents, numbered p = 0..P-1 in rank order, form a
///     fanin-ary tree built step by step. At step t (stride s = fanin^t) the ranks with
///     p % s == 0 are still in; those with p % (s * fanin) == 0 lead the group
///     {p, p + s, ..., p + (fanin - 1) s} and receive the members' summaries (point-to-point),
///     so at most `fanin` summaries meet at a leader, its own included. Two or more are reduced
///     in one call to the leader's first agent (in rank order); a single one is passed on as is
///     (as the seed never re-summarises a lone answer). After ceil(log_fanin P) steps rank 0
///     holds the result, which is broadcast to every rank. Ranks without agents have no leaves
///     and no inputs; they only receive the result.
///
/// Level numbering ({level} and TreeReduceResult::levels): 0 is the leaves; the local phase uses
/// 1, 2, ... as the seed does; L = the highest local level any rank reached (MPI_Allreduce MAX),
/// and rank-tree step t uses level L + 1 + t. So {level} grows monotonically up to the root, and
/// on one rank (no rank tree) everything is exactly the seed's algorithm.
///
/// As in the seed, successful answers that are blank (only whitespace) are dropped like
/// failures. Supervisor prompts fill {responses} (answers joined by "\n---\n") and {level} in
/// one pass, so an answer containing "{level}" is never substituted.

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "swarm/mpi/scatter_gather.hpp"
#include "swarm/pool.hpp"
#include "swarm/response.hpp"

namespace swarm::mpi {

class Swarm;

/// What happened at one level of the reduction, summed over all ranks.
struct TreeLevel {
  int level = 0;             ///< The {level} value; 0 = the leaves.
  bool rank_tree = false;    ///< A rank-tree step (false: the leaves or a local level).
  std::uint64_t inputs = 0;  ///< Answers entering the level (leaves: prompts sent).
  std::uint64_t calls = 0;   ///< Requests sent (leaves: one per prompt; else supervisor calls).
  std::uint64_t ok = 0;      ///< Successful, non-blank answers passed up from this level.
  std::uint64_t failed = 0;  ///< Failed requests (their group's answer is dropped).
  std::uint64_t blank = 0;   ///< Successful but blank answers (dropped).
  std::uint64_t passed = 0;  ///< Rank tree: lone summaries passed up without a call.
  friend bool operator==(const TreeLevel&, const TreeLevel&) = default;
};

struct TreeReduceResult {
  Response response;  ///< The final answer, or "all agents failed during reduction" (every rank).
  std::vector<TreeLevel> levels;  ///< levels[k].level == k; identical on every rank.
  int local_levels = 0;           ///< L: supervisor levels of the local phase (max over ranks).
  int rank_levels = 0;            ///< Steps of the rank tree (0 on one rank).
};

/// Rank-local storage for resuming a killed reduction (the CLI keeps one file per rank). After
/// the leaves and after each level of the local phase, each rank hands `save` an opaque record
/// of what it carries up and its counts so far; at the start, `load` gives back the last record
/// this rank saved in an earlier run of the same reduction on the same ranks and agents (empty:
/// none), and the rank continues from there instead of asking its leaves and levels again. The
/// rank tree (a few supervisor calls) is always run again. Empty functions: no checkpoints.
struct ReduceCheckpoint {
  std::function<void(std::span<const char> record)> save;
  std::function<std::vector<char>()> load;
};

/// Collective. `prompt`, `reduce_prompt`, `fanin` and `items` are significant on the root.
/// Without `items` every agent answers `prompt`; with them, prompt i is `prompt` with {item}
/// replaced by items[i] and goes to agent i mod N. Supervisors answer `reduce_prompt` with
/// {responses} and {level} filled (see the file comment) under `reduce_call` (by default the
/// aggregation max_tokens cap). Returns the result on every rank. Throws std::logic_error (on
/// every rank) for an empty swarm and std::invalid_argument for fanin < 2.
/// `schedule` (significant on the root) applies to item leaves: `fixed` is the rule above;
/// `dynamic` hands the items out on demand as scatter_gather_dynamic does (a slow or dead agent
/// or rank gets fewer, failed items move), and each rank's leaves are then the answers its
/// agents gave, in item order; they stay on that rank (only credits travel to the root). Which
/// rank answered which item is not reproducible, so with dynamic leaves a `checkpoint` resumes
/// only when every rank loads one; otherwise every rank starts over.
TreeReduceResult tree_reduce(Swarm& swarm, std::string_view prompt, std::string_view reduce_prompt,
                             std::size_t fanin = 50,
                             std::optional<std::span<const std::string>> items = std::nullopt,
                             CallOptions leaf_call = {},
                             CallOptions reduce_call = {.aggregation = true},
                             const ReduceCheckpoint& checkpoint = {},
                             Schedule schedule = Schedule::fixed);

}  // namespace swarm::mpi
