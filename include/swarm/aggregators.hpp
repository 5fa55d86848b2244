#pragma once
/// @file aggregators.hpp
/// Aggregation of agent responses, with the Python Aurora Swarm's semantics. Every aggregator
/// skips failed responses unless `include_failures` is true (failure_report looks at all).

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "swarm/response.hpp"

namespace swarm {

/// A per-response problem found while aggregating (parse error, unusable value, failure).
struct AgentIssue {
  /// Index of the agent whose response it is (Response::agent_index).
  std::int64_t agent_index = -1;
  /// What was wrong with it: the parse error or the response's own error.
  std::string error;
  /// Field-wise equality (tests compare whole reports).
  friend bool operator==(const AgentIssue&, const AgentIssue&) = default;
};

/// Result of majority_vote: the winning (stripped, lower-cased) answer and its vote fraction.
struct Vote {
  /// The most frequent answer, stripped and lower-cased; empty with no answers.
  std::string winner;
  /// Fraction of the counted responses that gave `winner`, in [0, 1].
  double confidence = 0.0;
};

/// Categorical consensus. Answers are compared as Python's `text.strip().lower()`: Unicode
/// whitespace stripped, full Unicode lower case (utf8proc's tables). Ties go to the answer seen
/// first. No responses -> {"", 0.0}.
Vote majority_vote(std::span<const Response> responses, bool include_failures = false);

/// Joins the texts with `separator`.
std::string concat(std::span<const Response> responses, std::string_view separator = "\n",
                   bool include_failures = false);

/// Scores a response; higher is better.
using ScoreFn = std::function<double(const Response&)>;

/// The highest-scoring response (the first one on ties). No responses -> a failed Response
/// with error "No responses to select from".
Response best_of(std::span<const Response> responses, const ScoreFn& score,
                 bool include_failures = false);

/// The `k` highest-scoring responses, descending; equal scores keep their input order.
std::vector<Response> top_k(std::span<const Response> responses, std::size_t k,
                            const ScoreFn& score, bool include_failures = false);

/// Result of structured_merge.
struct MergeResult {
  /// The merged JSON array as compact text. Values are kept as the agents wrote them (minus
  /// whitespace), so object keys keep their order, integers of any size stay exact, and NaN,
  /// Infinity and -Infinity (which Python's json accepts) are written back as such.
  std::string merged = "[]";
  std::vector<AgentIssue> errors;  ///< Responses whose text json.loads() would reject.
};

/// Parses each text as Python's json.loads() does (NaN, Infinity, -Infinity accepted; the last
/// of duplicate keys wins at the first one's place; errors worded as Python's): arrays are
/// flattened into `merged`, other values appended.
MergeResult structured_merge(std::span<const Response> responses, bool include_failures = false);

/// Extracts a number from a response; std::nullopt means "not a number" (reported, skipped).
using ExtractFn = std::function<std::optional<double>(const Response&)>;

/// Result of statistics(). With no usable values every number is 0.
struct Statistics {
  double mean = 0.0;    ///< Exactly rounded, as Python's statistics.mean (exact fractions).
  double stddev = 0.0;  ///< Sample standard deviation (n - 1); 0 for fewer than two values.
                        ///< JSON key "std", as in the seed.
  /// Middle value (mean of the two middle ones for an even count).
  double median = 0.0;
  /// Smallest value.
  double min = 0.0;
  /// Largest value.
  double max = 0.0;
  std::size_t count = 0;             ///< Values that entered the statistics.
  std::vector<AgentIssue> rejected;  ///< Responses whose value did not parse.
};

/// Parses a whole (whitespace-stripped) text as a double, as Python's float() would for ordinary
/// numerals ("3", "+3", "-2.5e3", "1e400" -> inf, "inf", "nan"). Unlike float(), digit
/// separators ("1_000") are rejected.
std::optional<double> parse_number(std::string_view text);

/// Numeric summary. Without `extract` the stripped text is parsed with parse_number().
Statistics statistics(std::span<const Response> responses, const ExtractFn& extract = {},
                      bool include_failures = false);

/// Diagnostic summary over all responses.
struct FailureReport {
  /// Responses examined.
  std::size_t total = 0;
  /// Responses that succeeded.
  std::size_t success_count = 0;
  /// Responses that failed (`total - success_count`).
  std::size_t failure_count = 0;
  std::vector<AgentIssue> failures;  ///< In input order.
};

/// Counts successes and failures and lists each failure with its agent and error.
FailureReport failure_report(std::span<const Response> responses);

/// JSON form of a vote (the CLI's `--aggregate` output). Non-finite numbers (a mean of inf,
/// say) are nlohmann's null in these forms; to_json_text() writes them as Python does.
nlohmann::ordered_json to_json(const Vote& vote);
/// mean, std, median, min, max, count and the rejected responses, as JSON.
nlohmann::ordered_json to_json(const Statistics& stats);
/// The counts and the failures, as JSON.
nlohmann::ordered_json to_json(const FailureReport& report);

/// Compact JSON text of an aggregate result, numbers as Python's json.dumps() writes them:
/// NaN, Infinity and -Infinity rather than null.
std::string to_json_text(const nlohmann::ordered_json& value);
/// structured_merge's result, {"merged": [...], "errors": [...]}, with `merged` as it was read.
std::string to_json_text(const MergeResult& merge);

/// What a named aggregate may be told besides the responses (the CLI's flags).
struct AggregateParams {
  std::string separator = "\n";  ///< concat (the seed's default)
  ScoreFn score;                 ///< best-of, top-k: required by them (higher is better)
  std::size_t k = 3;             ///< top-k
};

/// An aggregate a user can name (`aswarm-mpi --aggregate NAME`): the one table of those names.
struct NamedAggregate {
  /// The name `--aggregate` takes (e.g. "majority").
  std::string_view name;
  /// The aggregate of `responses` as compact JSON text (what `--aggregate` prints under
  /// "result").
  std::string (*result)(std::span<const Response> responses,
                        const AggregateParams& params) = nullptr;
  /// true: needs AggregateParams::score.
  bool needs_score = false;
  /// true: reads the errors of all responses (failure-report); false: reads the texts of the
  /// successful ones only.
  bool reads_errors = false;

  /// What result() reads of `r` (success, agent_index, and its error or its successful text):
  /// all a caller collecting a million responses for the aggregate needs to keep.
  [[nodiscard]] Response kept_fields(const Response& r) const;
};

/// Every named aggregate, in the order the CLI lists them.
std::span<const NamedAggregate> named_aggregates() noexcept;
/// The names of named_aggregates(), in the same order.
std::span<const std::string_view> aggregate_names() noexcept;
/// The aggregate called `name`; nullptr if there is none.
const NamedAggregate* find_aggregate(std::string_view name) noexcept;

}  // namespace swarm
