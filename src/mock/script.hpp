#pragma once
/// @file script.hpp
/// --mode script: a JSON file of rules mapping (agent role, prompt) to answers.
///
///   {
///     "rules": [
///       {"role": "critiques", "match": "vote", "answer": "B"},
///       {"match": "round [3-9]", "ignore_case": true, "answer": "CONSENSUS: {prompt}"},
///       {"answers": [{"text": "A", "weight": 3}, {"text": "B", "weight": 1}]}  (see pick())
///     ],
///     "default": "no rule matched: {prompt}"
///   }
///
/// Rules are tried in order; the first whose `role` (if any) equals the agent's role and whose
/// `match` (if any, an ECMAScript regex) is found in the prompt answers. `default` is a string
/// or an object with `answer`/`answers`. Answers may contain {prompt}, {agent} and {role}.

#include <cstddef>
#include <filesystem>
#include <optional>
#include <regex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "rng.hpp"

namespace swarm::mock {

/// A bad script; what() names the file and, when it applies, the rule index.
class ScriptError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct WeightedAnswer {
  std::string text;
  double weight = 1.0;
};

struct ScriptRule {
  std::optional<std::string> role;
  std::optional<std::regex> match;
  std::vector<WeightedAnswer> answers;  ///< never empty
};

class Script {
 public:
  /// Reads and validates a script file. Throws ScriptError.
  static Script load(const std::filesystem::path& path);
  /// Validates script text; `source` names it in messages.
  static Script parse(std::string_view text, std::string_view source);

  /// The answer template for `prompt` on an agent with `role`. Draws from `rng` only when the
  /// chosen rule has several weighted answers and the request has no `seed`, so plain rules
  /// never shift the stream. With a `seed`, the answers' weights are laid end to end and
  /// (seed mod their sum rounded up) + 0.5 falls in the one chosen: with integer weights,
  /// seeds 0..sum-1 give each answer exactly `weight` times, whichever agent is asked and in
  /// whatever order (what an uncertainty test needs: S samples with seeds 0..S-1).
  [[nodiscard]] const std::string& pick(std::string_view prompt, std::string_view role, Rng& rng,
                                        std::optional<std::uint64_t> seed = std::nullopt) const;

  [[nodiscard]] std::size_t rule_count() const noexcept { return rules_.size(); }

 private:
  std::vector<ScriptRule> rules_;
  ScriptRule default_;
};

/// Replaces {prompt}, {agent} and {role} in `answer`; every other brace is kept, so JSON
/// answers need no escaping.
std::string expand_placeholders(std::string_view answer, std::string_view prompt, std::size_t agent,
                                std::string_view role);

}  // namespace swarm::mock
