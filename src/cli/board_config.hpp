#pragma once
// The blackboard configuration file of `aswarm-mpi --pattern blackboard --config FILE`.
//
//   {
//     "sections": [                                   // run in this order every round
//       {"name": "hypotheses", "prompt": "Round {round}. Board so far:\n{board}\nPropose one."},
//       {"name": "critiques",  "prompt": "Round {round}. Critique:\n{section:hypotheses}"}
//     ],
//     "view": "full" | {"last": N} | {"max_chars": C},  // how much of the board prompts show
//     "initial": [{"section": "hypotheses", "text": "..."}],
//     "max_rounds": 5,
//     "convergence": [                                 // stop after a round when ANY rule holds
//       {"section": "critiques", "phrase": "CONSENSUS", "fraction": 0.5},
//       {"section": "hypotheses", "min_entries": 20}
//     ]
//   }
// Placeholders: {board} (every section, "## name" then "- entry" lines), {section:NAME} (one
// section's "- entry" lines), {round} (the round being run, from 1), {role} (the section's name).
// The view applies per section: the last N entries, or the most recent entries that fit in C
// characters. A phrase rule holds when at least `fraction` of the section's entries written in
// the round just finished contain the phrase (case-insensitive).

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "swarm/mpi/blackboard.hpp"

namespace swarm::cli {

struct BoardSection {
  std::string name;
  std::string prompt;
};

struct ConvergenceRule {
  std::string section;
  std::string phrase;  ///< Phrase rule when not empty.
  double fraction = 1.0;
  std::optional<std::size_t> min_entries;  ///< Count rule when set.
};

struct BoardConfig {
  std::vector<BoardSection> sections;
  std::optional<std::size_t> view_last;
  std::optional<std::size_t> view_max_chars;
  std::vector<std::pair<std::string, std::string>> initial;
  int max_rounds = 5;
  std::vector<ConvergenceRule> convergence;

  /// Reads and checks `path`; throws InputError naming the file (and line for JSON syntax).
  static BoardConfig load(const std::string& path);
  /// Same, from text (`name` used in messages).
  static BoardConfig parse(const std::string& text, const std::string& name);
  /// Same, from the parsed document.
  static BoardConfig from_json(const nlohmann::json& doc, const std::string& name);

  [[nodiscard]] std::vector<std::string> section_names() const;
  /// The prompt of `section` for the board as it stands.
  [[nodiscard]] std::string prompt(const std::string& section, const mpi::BoardState& board) const;
  /// The first rule that holds after the round just finished, described; std::nullopt if none.
  [[nodiscard]] std::optional<std::string> converged(const mpi::BoardState& board) const;
};

}  // namespace swarm::cli
