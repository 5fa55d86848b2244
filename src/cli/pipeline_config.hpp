#pragma once
// The pipeline configuration file of `aswarm-mpi --pattern pipeline --config FILE`
// (jobs/local/pipeline.json is the documented example).
//
//   {
//     "description": "free text, ignored",
//     "reuse_agents": false,        // true (default, the seed's): every stage counts from agent 0;
//                                   // false: stages take disjoint consecutive agents
//     "input": "text",              // initial input when neither --input nor --prompt is given
//     "stages": [
//       {"name": "draft",    "prompt": "Answer: {input}", "agents": 4,
//        "filter": "non-empty"},
//       {"name": "critique", "prompt": "Critique: {input}", "tag": "role=critic"},
//       {"name": "final",    "prompt": "Draft:\n{stage:draft}\nCritique:\n{stage:critique}",
//        "depends_on": ["draft", "critique"], "agents": 1, "transform": "first"}
//     ]
//   }
//
// Per stage: "name" and "prompt" (required); "agents" (0 or absent: all, or all that are left);
// "tag": "key=value" (agents by tag instead of by position); "depends_on" (a DAG node: its
// {input} is the listed stages' outputs joined by newlines, {stage:NAME} any one of them;
// absent: the previous stage); "filter": "success" | "non-empty" | "valid-json" |
// {"regex": "..."}; "transform": "concat" | "majority" | "structured-merge" | "first" |
// "statistics" | {"concat": "separator"} (default "concat" with "\n", the seed's).
// {initial} is the pipeline's input (the item, with --input) in every stage.

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "swarm/mpi/pipeline.hpp"

namespace swarm::cli {

struct PipelineConfig {
  std::vector<mpi::Stage> stages;
  bool reuse_agents = true;
  std::optional<std::string> input;

  /// Reads and checks `path`; throws InputError naming the file (and line for JSON syntax), so
  /// a bad stage graph is reported before any rank communicates.
  static PipelineConfig load(const std::string& path);
  /// Same, from text (`name` used in messages).
  static PipelineConfig parse(const std::string& text, const std::string& name);
  /// Same, from the parsed document.
  static PipelineConfig from_json(const nlohmann::json& doc, const std::string& name);
};

}  // namespace swarm::cli
