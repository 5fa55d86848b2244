#pragma once
// Internal to the pipeline: what run_pipeline (waves) and run_pipeline_items (streaming) share.
// Every rank computes the same Plan from the same stages without communicating; only the root
// runs finish_stage (filters and transforms are the caller's code and may not be rank-safe).

#include <cstddef>
#include <string>
#include <vector>

#include "swarm/mpi/pipeline.hpp"

namespace swarm::mpi::detail {

struct Plan {
  std::vector<std::vector<std::size_t>> deps;  ///< Indices of the stages feeding stage i.
  /// Swarm indices, ascending. A tag stage takes the swarm's agents with that tag, in place:
  /// the same policy as the blackboard's sections (Swarm::agents_with_tag).
  std::vector<std::vector<std::size_t>> agents;
  std::vector<std::size_t> wave;  ///< Longest dependency chain below stage i.
  std::size_t waves = 0;
};

/// Checks the stage graph (throws std::invalid_argument) and assigns agents.
Plan make_plan(const Swarm& swarm, const std::vector<Stage>& stages, bool reuse_agents);

/// Stage `st`'s prompt: `{input}`, `{stage:NAME}` from its finished dependencies, `{initial}`.
std::string fill_stage(const Stage& st, const std::vector<std::size_t>& deps,
                       const std::vector<Stage>& stages, const std::vector<StageResult>& results,
                       const std::string& initial);

/// Root: decides a stage's outcome from res.responses (sets success, kept, output or error).
void finish_stage(const Stage& st, StageResult& res);

}  // namespace swarm::mpi::detail
