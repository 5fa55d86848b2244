#pragma once
/// @file mpi/pipeline.hpp
/// Pipeline (the seed's pattern 5, multi-stage DAG): each stage's prompt template gets
/// `{input}` filled with what flows into it, goes to the stage's agents, the root filters the
/// answers and transforms them into the stage's output.
///
/// Linear use is the seed's run_pipeline: stage k's `{input}` is stage k-1's output (the
/// initial input for the first stage). A stage may instead name `depends_on` stages (a DAG):
/// its `{input}` is then their outputs joined with "\n" in the listed order (the initial input
/// when the list is empty), and `{stage:NAME}` is any listed stage's output. Stages whose inputs
/// are ready run together as one wave: every rank submits the requests of all of them to its
/// agents at once, so independent branches are in flight concurrently. `{initial}` is always
/// the initial input. Filling is single pass (an answer containing "{input}" stays as is).
///
/// Agents: with `reuse_agents` a stage uses the swarm's first `n_agents` (0: all); without, the
/// swarm is partitioned in stage-list order, stage k taking the next `n_agents` agents (0: all
/// that are left). A stage with `tag_key` set uses the agents whose tag equals `tag_value`
/// instead (the first `n_agents` of them, 0: all) and takes nothing from the partition.
///
/// Data movement: the root broadcasts the initial input and, after each wave, the wave's
/// outputs (every rank fills the next prompts itself); each rank posts to the stage agents in
/// its own shard through one AgentPool (connections are kept across stages); the Responses
/// are gathered to the root, which runs filters and transforms (on the root only).
///
/// Failure: a stage with no agents, whose agents all fail, or whose filter/transform throws
/// ends the pipeline on every rank: success=false, error names the stage, output empty, later
/// stages are not run. Nothing hangs.

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "swarm/pool.hpp"
#include "swarm/response.hpp"

namespace swarm::mpi {

class Swarm;

/// Keeps a response (true) or drops it before the transform. Runs on the root.
using StageFilter = std::function<bool(const Response&)>;
/// Turns a stage's (filtered) responses into its output. Runs on the root.
using StageTransform = std::function<std::string(const std::vector<Response>&)>;

/// One stage of a pipeline: a prompt sent to some agents, and what to keep of their answers.
struct Stage {
  /// Unique within a pipeline; `{stage:NAME}` in a later prompt refers to it.
  std::string name;
  std::string prompt_template;  ///< `{input}`, `{stage:NAME}`, `{initial}` are filled.
  std::size_t n_agents = 0;     ///< 0: all (with partitioning: all that are left).
  StageFilter filter;           ///< Empty: keep every response.
  StageTransform transform;     ///< Empty: successful texts joined with "\n" (the seed's).
  std::string tag_key;          ///< Non-empty: agents by tag instead of by position.
  /// With `tag_key`: the tag value the stage's agents must have.
  std::string tag_value;
  /// nullopt: the previous stage in the list (linear). A list (possibly empty): a DAG node.
  std::optional<std::vector<std::string>> depends_on;
};

/// What one stage did.
struct StageResult {
  /// The stage's name.
  std::string name;
  bool ran = false;      ///< False for stages after a failure.
  bool success = false;  ///< Ran, had agents, at least one succeeded, filter/transform fine.
  std::string error;     ///< Why it failed (names the stage).
  std::vector<std::size_t> agents;  ///< Swarm indices of its agents (every rank).
  std::size_t wave = 0;             ///< Stages of the same wave ran concurrently.
  std::string prompt;               ///< The filled prompt (every rank).
  std::vector<Response> responses;  ///< All responses, agent order, before the filter (root).
  std::size_t kept = 0;             ///< Responses that passed the filter (root).
  std::string output;               ///< The transform's result (every rank).
};

/// Result of run_pipeline().
struct PipelineResult {
  /// Every stage ran and succeeded.
  bool success = false;
  std::string error;                ///< The first failing stage's error.
  std::string output;               ///< The last stage's output (every rank); empty on failure.
  std::vector<StageResult> stages;  ///< In stage-list order.
  /// Waves run (stages of a wave run concurrently).
  std::size_t waves = 0;
  /// Wall time of the whole pipeline.
  double seconds = 0.0;
  /// The stage called `name`, or nullptr.
  [[nodiscard]] const StageResult* stage(std::string_view name) const;
};

/// Local (no communication): the agents (swarm indices) each stage would run on, by the rules
/// above; what run_pipeline() uses. Lets a caller refuse a stage with no agents, or fewer than
/// its `n_agents`, before anything is sent. Throws std::invalid_argument on a bad stage graph.
std::vector<std::vector<std::size_t>> stage_agents(const Swarm& swarm,
                                                   const std::vector<Stage>& stages,
                                                   bool reuse_agents = true);

/// Collective; every rank passes the same stages (filter/transform are called on the root
/// only). `initial_input` is significant on the root. Invalid stage graphs (empty or duplicate
/// names, unknown or later-listed dependencies, a `{stage:X}` not in depends_on) throw
/// std::invalid_argument on every rank before any communication.
PipelineResult run_pipeline(Swarm& swarm, const std::vector<Stage>& stages,
                            std::string_view initial_input, bool reuse_agents = true,
                            CallOptions call = {});

/// One item's way through the stages (run_pipeline_items).
struct ItemResult {
  /// The item went through every stage successfully.
  bool success = false;
  std::string error;                ///< The failing stage's error (names it).
  std::string output;               ///< The last stage's output (every rank); empty on failure.
  std::vector<StageResult> stages;  ///< Root only (empty elsewhere).
};

/// Result of run_pipeline_items().
struct ItemsResult {
  std::vector<ItemResult> items;  ///< In item order (every rank).
  /// Root only, with ItemsOptions::record_events: "start <item> <stage>" / "done <item> <stage>"
  /// in the order they happened.
  std::vector<std::string> events;
  /// Wall time of the whole run.
  double seconds = 0.0;
};

/// Called on the root as each item finishes (succeeded or failed), in the order they finish:
/// the item's index and its result (output, error and stages are final).
using ItemDoneFn = std::function<void(std::size_t item, const ItemResult& result)>;

/// Options of run_pipeline_items().
struct ItemsOptions {
  bool reuse_agents = true;  ///< As for run_pipeline.
  /// Per-call options of every stage's requests.
  CallOptions call;
  /// Root only: lets a caller report progress while the items stream.
  ItemDoneFn on_item;
  /// Fill ItemsResult::events (for tests and tracing: two strings per item and stage, held
  /// until the call returns).
  bool record_events = false;
};

/// Collective streaming pipeline: every item flows through the stages on its own, so item k
/// can be in stage 2 while item k+1 is still in stage 1. `{input}`/`{initial}` start as the
/// item. The root coordinates: it sends each (item, stage) request to the ranks owning the
/// stage's agents (point-to-point), collects their Responses as they finish, and dispatches an
/// item's next stages as soon as its previous ones are done. A failing stage ends that item
/// only. `items` significant on the root; results on every rank.
ItemsResult run_pipeline_items(Swarm& swarm, const std::vector<Stage>& stages,
                               const std::vector<std::string>& items,
                               const ItemsOptions& options = {});

/// Collective. The seed's fan_out_fan_in: the first min(n_workers, N) agents (all when
/// `n_workers` is empty) answer `prompt`; then agent 0 answers `collect_prompt` with
/// {responses} = their successful answers (blank ones included, as in the seed) joined by
/// "\n---\n", under the aggregation cap. `prompt` and `collect_prompt` are significant on the
/// root. Returns agent 0's answer on every rank. Throws std::logic_error for an empty swarm.
Response fan_out_fan_in(Swarm& swarm, std::string_view prompt, std::string_view collect_prompt,
                        std::optional<std::size_t> n_workers = std::nullopt, CallOptions call = {});

/// Ready-made filters.
namespace filters {
StageFilter success();                          ///< r.success.
StageFilter non_empty();                        ///< Successful with non-whitespace text.
/// Successful, and `pattern` (RE2 syntax: linear time, no backreferences or lookaround) matches
/// somewhere in the text. A pattern RE2 rejects throws std::invalid_argument here, not per answer.
StageFilter regex(const std::string& pattern);
StageFilter valid_json();                       ///< Successful and the text parses as JSON.
}  // namespace filters

/// Ready-made transforms (all skip failed responses).
namespace transforms {
/// The successful texts joined with `separator`.
StageTransform concat(std::string separator = "\n");
StageTransform majority();          ///< majority_vote's winner (stripped, lower-cased).
StageTransform structured_merge();  ///< The merged JSON array, dumped.
StageTransform first();             ///< The first successful text.
StageTransform statistics();        ///< to_json(statistics(...)), dumped.
}  // namespace transforms

}  // namespace swarm::mpi
