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
/// levels, as in the seed. Answers that failed or are blank (only Unicode whitespace, Python's
/// str.strip()) are dropped, as the seed drops them. Supervisor prompts fill {responses} (answers joined by "\n---\n") and
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

/// A supervisor's max_tokens as tree_reduce_coli.py, the seed's large example, sets it: the leaf
/// cap times the members of its group (at that level), plus a contingency.
struct GroupBudget {
  std::int64_t per_member = 512;   ///< The leaves' max_tokens.
  std::int64_t contingency = 4096;  ///< The seed's --max-tokens-contingency default.
};

/// One supervisor answer kept for the next level: `group` of `level` (the seed's
/// all_reduce_outputs entries (level, group_index, text)).
using LevelOutputFn = std::function<void(int level, std::uint64_t group, const Response& answer)>;

/// Everything tree_reduce() can be told besides the two prompts. Significant on the root, except
/// the callables and call options, which every rank uses on its own side.
struct TreeReduceOptions {
  std::size_t fanin = 50;  ///< Members per group (at least 2).
  /// Leaf items: prompt i is the prompt with {item} replaced by items[i]; none: every agent
  /// answers the prompt.
  std::optional<std::span<const std::string>> items;
  CallOptions leaf_call = {};                       ///< The leaves' requests.
  CallOptions reduce_call = {.aggregation = true};  ///< By default the aggregation cap.
  /// Set: every supervisor call gets max_tokens per_member x its members + contingency, instead
  /// of reduce_call's rule.
  std::optional<GroupBudget> group_budget;
  /// Non-zero: a leaf answer longer than this many characters (code points) goes up as its
  /// first max_response_chars characters and "..." (tree_reduce_coli.py's MAX_RESPONSE_CHARS).
  std::size_t max_response_chars = 0;
  /// Non-zero: a group's joined answers ({responses}) longer than this many characters are cut
  /// to their first max_reduce_input_chars - 60 and "\n... [input truncated to fit model
  /// context]" (tree_reduce_coli.py's MAX_REDUCE_INPUT_CHARS rule).
  std::size_t max_reduce_input_chars = 0;
  ReduceCheckpoint checkpoint = {};  ///< Resume storage (none by default).
  /// Applies to item leaves: `fixed` is item i to agent i mod N; `dynamic` hands the items out
  /// on demand as scatter_gather_dynamic does (a slow or dead agent or rank gets fewer, failed
  /// items move). Leaves are still grouped in item order.
  Schedule schedule = Schedule::fixed;
  AnswerObserver observe = {};  ///< Sees every answer on its rank (e.g. for a run summary).
  /// Set on the root: called there with every supervisor answer that goes up (successful, not
  /// blank), level by level, in group order, once its level is done. Each level's answers are
  /// gathered to the root for it (one per group: a fanin-th of the level's inputs); unset, none
  /// travel. Levels a checkpoint restored are not shown again.
  LevelOutputFn on_level_output = {};
};

/// Collective. `prompt` and `reduce_prompt` are significant on the root. Without items every
/// agent answers `prompt`; with them, prompt i is `prompt` with {item} replaced by items[i] and
/// goes to agent i mod N (or on demand: TreeReduceOptions::schedule). Supervisors answer
/// `reduce_prompt` with {responses} and {level} filled (see the file comment). Returns the
/// result on every rank. Throws std::logic_error (on every rank) for an empty swarm and
/// std::invalid_argument for fanin < 2.
TreeReduceResult tree_reduce(Swarm& swarm, std::string_view prompt, std::string_view reduce_prompt,
                             const TreeReduceOptions& options);

/// The same with the options as positional arguments (the form before TreeReduceOptions).
TreeReduceResult tree_reduce(Swarm& swarm, std::string_view prompt, std::string_view reduce_prompt,
                             std::size_t fanin = 50,
                             std::optional<std::span<const std::string>> items = std::nullopt,
                             CallOptions leaf_call = {},
                             CallOptions reduce_call = {.aggregation = true},
                             const ReduceCheckpoint& checkpoint = {},
                             Schedule schedule = Schedule::fixed,
                             const AnswerObserver& observe = {});

}  // namespace swarm::mpi
