#pragma once
/// @file mpi/tree_reduce.hpp
/// Tree-reduce: leaf answers are summarised by supervisor agents in groups of at most `fanin`,
/// level after level, until one answer remains (the seed's hierarchical tree-reduce).
///
/// The seed's algorithm over the whole swarm, whatever the rank count: the leaves' answers in
/// global order (agent order, or item order with items; item i goes to agent i mod N as in
/// scatter-gather), groups of `fanin` consecutive answers, level after level until one answer
/// remains. Group g of level k is supervised by agent (g * fanin^k) mod N, the agent that gave
/// the group's first leaf when none failed (the seed uses g mod N, which would send every leaf
/// answer to the first ranks). The same agents get the same prompts at 1 or 64 ranks, so the
/// result does not change with `mpiexec -n`.
///
/// Distributed so that no rank sees the leaves: an answer stays on the rank whose agent gave it;
/// each level, every rank learns every surviving answer's key (8 bytes each, an all-gather) and
/// sends its answers to the rank of their group's supervisor (point-to-point), which asks its
/// agent and keeps the summary for the next level. Only the final answer is broadcast.
///
/// Levels ({level} and TreeReduceResult::levels): 0 is the leaves, 1, 2, ... the supervisor
/// levels, as in the seed. Answers that failed or are blank (only whitespace) are dropped, as
/// the seed drops them. Supervisor prompts fill {responses} (answers joined by "\n---\n") and
/// {level} in one pass, so an answer containing "{level}" is never substituted.

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
  std::uint64_t inputs = 0;  ///< Answers entering the level (leaves: prompts sent).
  std::uint64_t calls = 0;   ///< Requests sent (leaves: one per prompt; else supervisor calls).
  std::uint64_t ok = 0;      ///< Successful, non-blank answers passed up from this level.
  std::uint64_t failed = 0;  ///< Failed requests (their group's answer is dropped).
  std::uint64_t blank = 0;   ///< Successful but blank answers (dropped).
  /// Field-wise equality (tests compare levels across ranks).
  friend bool operator==(const TreeLevel&, const TreeLevel&) = default;
};

/// Result of tree_reduce().
struct TreeReduceResult {
  Response response;  ///< The final answer, or "all agents failed during reduction" (every rank).
  std::vector<TreeLevel> levels;  ///< levels[k].level == k; identical on every rank.
  /// Leaves whose answers went into the final one (levels[0].inputs of them were asked); less
  /// when a failed or blank answer dropped some on the way; 0 on failure.
  std::uint64_t leaves_covered = 0;
};

/// Rank-local storage for resuming a killed reduction (the CLI keeps one file per rank). After
/// the leaves and after each level, each rank hands `save` an opaque record of what it carries
/// up and its counts so far; at the start, `load` gives back the last record this rank saved in
/// an earlier run of the same reduction on the same ranks and agents (empty: none). When every
/// rank has one, the run continues from the last level all of them finished instead of asking
/// the leaves and levels again; when any rank has none, every rank starts over. Empty
/// functions: no checkpoints.
struct ReduceCheckpoint {
  /// Stores this rank's latest record (replacing the previous one).
  std::function<void(std::span<const char> record)> save;
  /// Returns the record saved last, or an empty vector when there is none.
  std::function<std::vector<char>()> load;
};

/// Sees every Response this rank's agents gave in the call (leaves and supervisors, failures
/// too; not those of levels a checkpoint restored), on the rank that holds it, e.g. to account
/// latencies and tokens for a run summary without moving the answers.
using AnswerObserver = std::function<void(const Response&)>;

/// Collective. `prompt`, `reduce_prompt`, `fanin` and `items` are significant on the root.
/// Without `items` every agent answers `prompt`; with them, prompt i is `prompt` with {item}
/// replaced by items[i] and goes to agent i mod N. Supervisors answer `reduce_prompt` with
/// {responses} and {level} filled (see the file comment) under `reduce_call` (by default the
/// aggregation max_tokens cap). Returns the result on every rank. Throws std::logic_error (on
/// every rank) for an empty swarm and std::invalid_argument for fanin < 2.
/// `schedule` (significant on the root) applies to item leaves: `fixed` is the rule above;
/// `dynamic` hands the items out on demand as scatter_gather_dynamic does (a slow or dead agent
/// or rank gets fewer, failed items move). The leaves are still grouped in item order, so the
/// supervisors' prompts are the same as with `fixed` when the leaves' answers are.
TreeReduceResult tree_reduce(Swarm& swarm, std::string_view prompt, std::string_view reduce_prompt,
                             std::size_t fanin = 50,
                             std::optional<std::span<const std::string>> items = std::nullopt,
                             CallOptions leaf_call = {},
                             CallOptions reduce_call = {.aggregation = true},
                             const ReduceCheckpoint& checkpoint = {},
                             Schedule schedule = Schedule::fixed,
                             const AnswerObserver& observe = {});

}  // namespace swarm::mpi
