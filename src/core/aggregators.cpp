#include "swarm/aggregators.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <limits>
#include <numeric>
#include <system_error>
#include <unordered_map>
#include <utility>

#include "swarm/json_limits.hpp"

namespace swarm {
namespace {

// Python's str.strip() and lower() are Unicode-aware; answers are compared on their ASCII
// forms only, which is what a vote over short labels ("yes", "B", "42") needs.
constexpr bool is_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

std::string_view strip(std::string_view s) noexcept {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

std::string normalize_answer(std::string_view text) {
  std::string out(strip(text));
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

/// The responses an aggregator looks at, in input order (Python's `_ok`).
std::vector<const Response*> usable(std::span<const Response> responses, bool include_failures) {
  std::vector<const Response*> out;
  out.reserve(responses.size());
  for (const Response& r : responses) {
    if (include_failures || r.success) out.push_back(&r);
  }
  return out;
}

/// Orders scores descending with NaN below everything: Python's comparisons would give an
/// arbitrary order there, and the C++ sorts need a strict weak ordering to stay defined.
bool score_greater(double a, double b) noexcept {
  if (std::isnan(a)) return false;
  if (std::isnan(b)) return true;
  return a > b;
}

/// Keeps the message readable when an agent answers an essay; cuts on a UTF-8 character
/// boundary so the message stays valid for JSON output.
std::string quote_excerpt(std::string_view text) {
  constexpr std::size_t kMaxBytes = 40;
  if (text.size() <= kMaxBytes) return "\"" + std::string(text) + "\"";
  std::size_t cut = kMaxBytes;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0U) == 0x80U) --cut;
  return "\"" + std::string(text.substr(0, cut)) + "...\"";
}

/// For a numeral that from_chars rejected as out of range: true if it overflows (Python gives
/// +-inf), false if it underflows (Python gives +-0.0). Decided by the decimal exponent of the
/// first significant digit, saturated so that "1e999999999999999999999" cannot wrap.
bool overflows(std::string_view num) noexcept {
  std::size_t i = (!num.empty() && num[0] == '-') ? 1 : 0;
  long long int_digits = 0;
  long long leading_zeros = 0;  // zeros before the first significant digit, fraction included
  bool seen_nonzero = false;
  bool in_fraction = false;
  for (; i < num.size() && num[i] != 'e' && num[i] != 'E'; ++i) {
    if (num[i] == '.') {
      in_fraction = true;
      continue;
    }
    if (!in_fraction) ++int_digits;
    if (num[i] != '0') seen_nonzero = true;
    if (!seen_nonzero) ++leading_zeros;
  }
  constexpr long long kSaturate = 1'000'000'000;
  long long exponent = 0;
  bool negative_exponent = false;
  if (i < num.size()) {
    ++i;
    if (i < num.size() && (num[i] == '+' || num[i] == '-')) negative_exponent = num[i++] == '-';
    for (; i < num.size(); ++i) exponent = std::min(exponent * 10 + (num[i] - '0'), kSaturate);
  }
  // The first significant digit stands for 10^(int_digits - 1 - leading_zeros).
  const long long magnitude =
      int_digits - 1 - leading_zeros + (negative_exponent ? -exponent : exponent);
  return magnitude > 0;
}

nlohmann::json to_json(const std::vector<AgentIssue>& issues) {
  nlohmann::json out = nlohmann::json::array();
  for (const AgentIssue& issue : issues) {
    out.push_back({{"agent_index", issue.agent_index}, {"error", issue.error}});
  }
  return out;
}

}  // namespace

Vote majority_vote(std::span<const Response> responses, bool include_failures) {
  const auto good = usable(responses, include_failures);
  if (good.empty()) return {};
  struct Tally {
    std::size_t first_seen;
    std::size_t count;
  };
  std::unordered_map<std::string, Tally> tally;
  for (std::size_t i = 0; i < good.size(); ++i) {
    ++tally.try_emplace(normalize_answer(good[i]->text), Tally{i, 0}).first->second.count;
  }
  // Ties go to the answer seen first, as with Counter.most_common(1).
  auto winner = tally.begin();
  for (auto it = tally.begin(); it != tally.end(); ++it) {
    const Tally& t = it->second;
    const Tally& w = winner->second;
    if (t.count > w.count || (t.count == w.count && t.first_seen < w.first_seen)) winner = it;
  }
  return {winner->first,
          static_cast<double>(winner->second.count) / static_cast<double>(good.size())};
}

std::string concat(std::span<const Response> responses, std::string_view separator,
                   bool include_failures) {
  const auto good = usable(responses, include_failures);
  std::size_t size = good.empty() ? 0 : separator.size() * (good.size() - 1);
  for (const Response* r : good) size += r->text.size();
  std::string out;
  out.reserve(size);
  for (std::size_t i = 0; i < good.size(); ++i) {
    if (i > 0) out.append(separator);
    out.append(good[i]->text);
  }
  return out;
}

Response best_of(std::span<const Response> responses, const ScoreFn& score, bool include_failures) {
  const auto good = usable(responses, include_failures);
  if (good.empty()) return Response::failure("No responses to select from");
  const Response* best = good.front();
  double best_score = score(*best);
  for (std::size_t i = 1; i < good.size(); ++i) {
    const double s = score(*good[i]);
    // Strictly greater, as Python's max(): the first of equal maxima wins.
    if (score_greater(s, best_score)) {
      best = good[i];
      best_score = s;
    }
  }
  return *best;
}

std::vector<Response> top_k(std::span<const Response> responses, std::size_t k,
                            const ScoreFn& score, bool include_failures) {
  const auto good = usable(responses, include_failures);
  k = std::min(k, good.size());
  if (k == 0) return {};
  // Scores are computed once each: a user's score function may call a model.
  struct Scored {
    double score;
    std::size_t index;
  };
  std::vector<Scored> scored;
  scored.reserve(good.size());
  for (std::size_t i = 0; i < good.size(); ++i) scored.push_back({score(*good[i]), i});
  // Breaking ties on the input index makes the order total, so partial_sort (O(n log k))
  // gives the same result as Python's stable sorted(..., reverse=True)[:k].
  std::partial_sort(scored.begin(), scored.begin() + static_cast<std::ptrdiff_t>(k), scored.end(),
                    [](const Scored& a, const Scored& b) {
                      if (score_greater(a.score, b.score)) return true;
                      if (score_greater(b.score, a.score)) return false;
                      return a.index < b.index;
                    });
  std::vector<Response> out;
  out.reserve(k);
  for (std::size_t i = 0; i < k; ++i) out.push_back(*good[scored[i].index]);
  return out;
}

MergeResult structured_merge(std::span<const Response> responses, bool include_failures) {
  MergeResult result;
  for (const Response* r : usable(responses, include_failures)) {
    JsonFault fault = JsonFault::none;
    nlohmann::json value = parse_json_limited(r->text, fault);
    if (fault == JsonFault::too_deep) {
      result.errors.push_back({r->agent_index, json_depth_reason()});
      continue;
    }
    try {
      // Within the depth limit; with exceptions for nlohmann's reason when it is not JSON.
      if (fault == JsonFault::syntax) value = nlohmann::json::parse(r->text);
    } catch (const nlohmann::json::exception& e) {
      // parse_error for bad syntax, out_of_range for numbers too large for a double.
      result.errors.push_back({r->agent_index, e.what()});
      continue;
    }
    if (value.is_array()) {
      for (auto& element : value) result.merged.push_back(std::move(element));
    } else {
      result.merged.push_back(std::move(value));
    }
  }
  return result;
}

std::optional<double> parse_number(std::string_view text) {
  std::string_view num = strip(text);
  // from_chars has no leading '+', Python's float() does; a sign after it ("+-3") is invalid.
  if (!num.empty() && num.front() == '+') {
    num.remove_prefix(1);
    if (!num.empty() && num.front() == '-') return std::nullopt;
  }
  if (num.empty()) return std::nullopt;
  // from_chars also accepts "nan(chars)", which float() rejects.
  if (num.back() == ')') return std::nullopt;
  double value = 0.0;
  const char* const end = num.data() + num.size();
  const auto [ptr, ec] = std::from_chars(num.data(), end, value);
  if (ptr != end) return std::nullopt;
  if (ec == std::errc::result_out_of_range) {
    const double magnitude = overflows(num) ? std::numeric_limits<double>::infinity() : 0.0;
    return num.front() == '-' ? -magnitude : magnitude;
  }
  if (ec != std::errc{}) return std::nullopt;
  return value;
}

Statistics statistics(std::span<const Response> responses, const ExtractFn& extract,
                      bool include_failures) {
  Statistics stats;
  std::vector<double> values;
  for (const Response* r : usable(responses, include_failures)) {
    const std::optional<double> value = extract ? extract(*r) : parse_number(r->text);
    if (value) {
      values.push_back(*value);
    } else if (extract) {
      stats.rejected.push_back({r->agent_index, "extractor returned no value"});
    } else {
      stats.rejected.push_back({r->agent_index, "not a number: " + quote_excerpt(strip(r->text))});
    }
  }
  const std::size_t n = values.size();
  stats.count = n;
  if (n == 0) return stats;

  // Two passes: the mean, then the squared deviations from it, which avoids the cancellation
  // of E[x^2] - E[x]^2. If the plain sum overflows on finite values, a running mean still
  // gives Python's answer (statistics.mean([1e308, 1e308]) == 1e308); it is not the default
  // because it turns inf into nan (inf + (1 - inf) / 2).
  const double sum = std::accumulate(values.begin(), values.end(), 0.0);
  double mean = sum / static_cast<double>(n);
  if (!std::isfinite(sum) &&
      std::all_of(values.begin(), values.end(), [](double v) { return std::isfinite(v); })) {
    mean = 0.0;
    for (std::size_t i = 0; i < n; ++i) mean += (values[i] - mean) / static_cast<double>(i + 1);
  }
  stats.mean = mean;
  if (n > 1) {
    double squares = 0.0;
    for (double v : values) squares += (v - mean) * (v - mean);
    stats.stddev = std::sqrt(squares / static_cast<double>(n - 1));
  }
  // min()/max() scan in input order with '<' exactly as Python's builtins do, NaN included.
  stats.min = *std::min_element(values.begin(), values.end());
  stats.max = *std::max_element(values.begin(), values.end());

  // Sorting with NaN needs a total order to stay defined; NaN goes last.
  std::sort(values.begin(), values.end(), [](double a, double b) {
    if (std::isnan(b)) return !std::isnan(a);
    return a < b;
  });
  stats.median = n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2.0;
  return stats;
}

FailureReport failure_report(std::span<const Response> responses) {
  FailureReport report;
  report.total = responses.size();
  for (const Response& r : responses) {
    if (r.success) {
      ++report.success_count;
    } else {
      report.failures.push_back({r.agent_index, r.error});
    }
  }
  report.failure_count = report.failures.size();
  return report;
}

nlohmann::json to_json(const Vote& vote) {
  return {{"winner", vote.winner}, {"confidence", vote.confidence}};
}

nlohmann::json to_json(const MergeResult& merge) {
  return {{"merged", merge.merged}, {"errors", to_json(merge.errors)}};
}

nlohmann::json to_json(const Statistics& stats) {
  return {{"mean", stats.mean},
          {"std", stats.stddev},
          {"median", stats.median},
          {"min", stats.min},
          {"max", stats.max},
          {"count", stats.count},
          {"rejected", to_json(stats.rejected)}};
}

nlohmann::json to_json(const FailureReport& report) {
  return {{"total", report.total},
          {"success_count", report.success_count},
          {"failure_count", report.failure_count},
          {"failures", to_json(report.failures)}};
}

namespace {

nlohmann::json majority_json(std::span<const Response> r) {
  return to_json(majority_vote(r));
}
nlohmann::json concat_json(std::span<const Response> r) {
  return {{"text", concat(r)}};
}
nlohmann::json statistics_json(std::span<const Response> r) {
  return to_json(statistics(r));
}
nlohmann::json merge_json(std::span<const Response> r) {
  return to_json(structured_merge(r));
}
nlohmann::json failures_json(std::span<const Response> r) {
  return to_json(failure_report(r));
}

constexpr NamedAggregate kNamedAggregates[] = {
    {.name = "majority", .result = majority_json},
    {.name = "concat", .result = concat_json},
    {.name = "statistics", .result = statistics_json},
    {.name = "structured-merge", .result = merge_json},
    {.name = "failure-report", .result = failures_json, .reads_errors = true},
};

}  // namespace

Response NamedAggregate::kept_fields(const Response& r) const {
  Response kept;
  kept.success = r.success;
  kept.agent_index = r.agent_index;
  if (reads_errors) {
    kept.error = r.error;
  } else if (r.success) {
    kept.text = r.text;
  }
  return kept;
}

std::span<const NamedAggregate> named_aggregates() noexcept {
  return kNamedAggregates;
}

std::span<const std::string_view> aggregate_names() noexcept {
  static const auto names = [] {
    std::array<std::string_view, std::size(kNamedAggregates)> out{};
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = kNamedAggregates[i].name;
    return out;
  }();
  return names;
}

const NamedAggregate* find_aggregate(std::string_view name) noexcept {
  for (const NamedAggregate& a : kNamedAggregates) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

}  // namespace swarm
