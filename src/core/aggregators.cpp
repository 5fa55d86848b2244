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

#include <mpfr.h>

#include "python_json.hpp"
#include "swarm/json_limits.hpp"
#include "unicode.hpp"

namespace swarm {
namespace {

// Python's str.strip(): parse_number() and the rejection messages strip as float() does.
std::string_view strip(std::string_view s) noexcept {
  return detail::python_strip(s);
}

// The seed's Counter key: r.text.strip().lower().
std::string normalize_answer(std::string_view text) {
  return detail::python_lower(detail::python_strip(text));
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

/// MPFR numbers as RAII values.
class Mpfr {
 public:
  explicit Mpfr(mpfr_prec_t precision) { mpfr_init2(value_, precision); }
  ~Mpfr() { mpfr_clear(value_); }
  Mpfr(const Mpfr&) = delete;
  Mpfr& operator=(const Mpfr&) = delete;
  mpfr_ptr get() noexcept { return value_; }

 private:
  mpfr_t value_;
};

/// Python's statistics.mean: the exact sum (as fractions) divided by n, rounded once to the
/// nearest double. Any double is a multiple of 2^-1074 below 2^1024, so 2,200 bits hold the sum
/// of up to 2^100 of them exactly; MPFR then rounds the quotient once. With an infinity or NaN
/// among the values Python adds the non-finite ones as floats and divides that by n.
double exact_mean(const std::vector<double>& values) {
  const auto n = static_cast<unsigned long>(values.size());
  double non_finite = 0.0;
  bool any_non_finite = false;
  for (const double v : values) {
    if (!std::isfinite(v)) {
      non_finite += v;
      any_non_finite = true;
    }
  }
  if (any_non_finite) return non_finite / static_cast<double>(n);

  Mpfr sum(2200);
  mpfr_set_zero(sum.get(), 1);
  for (const double v : values) mpfr_add_d(sum.get(), sum.get(), v, MPFR_RNDN);  // exact
  if (mpfr_zero_p(sum.get()) != 0) return 0.0;  // Fraction(0) is +0.0, whatever the signs
  Mpfr mean(std::numeric_limits<double>::digits);
  mpfr_div_ui(mean.get(), sum.get(), n, MPFR_RNDN);
  const double rounded = mpfr_get_d(mean.get(), MPFR_RNDN);
  if (std::fabs(rounded) >= std::numeric_limits<double>::min()) return rounded;
  // Subnormal: round once to the subnormal grid, in double's exponent range.
  const mpfr_exp_t emin = mpfr_get_emin();
  const mpfr_exp_t emax = mpfr_get_emax();
  mpfr_set_emin(std::numeric_limits<double>::min_exponent - std::numeric_limits<double>::digits + 1);
  mpfr_set_emax(std::numeric_limits<double>::max_exponent);
  const int ternary = mpfr_div_ui(mean.get(), sum.get(), n, MPFR_RNDN);
  mpfr_subnormalize(mean.get(), ternary, MPFR_RNDN);
  const double subnormal = mpfr_get_d(mean.get(), MPFR_RNDN);
  mpfr_set_emin(emin);
  mpfr_set_emax(emax);
  return subnormal;
}

nlohmann::ordered_json to_json(const std::vector<AgentIssue>& issues) {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
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
  std::string merged = "[";
  bool empty = true;
  const auto add = [&](const std::string& element) {
    if (!empty) merged.push_back(',');
    merged.append(element);
    empty = false;
  };
  for (const Response* r : usable(responses, include_failures)) {
    std::string error;
    const auto value = detail::read_python_json(r->text, error, kMaxJsonDepth);
    if (!value) {
      result.errors.push_back({r->agent_index, std::move(error)});
    } else if (value->elements) {
      for (const std::string& element : *value->elements) add(element);
    } else {
      add(value->compact);
    }
  }
  merged.push_back(']');
  result.merged = std::move(merged);
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
  // of E[x^2] - E[x]^2.
  const double mean = exact_mean(values);
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

nlohmann::ordered_json to_json(const Vote& vote) {
  return {{"winner", vote.winner}, {"confidence", vote.confidence}};
}

nlohmann::ordered_json to_json(const Statistics& stats) {
  return {{"mean", stats.mean},
          {"std", stats.stddev},
          {"median", stats.median},
          {"min", stats.min},
          {"max", stats.max},
          {"count", stats.count},
          {"rejected", to_json(stats.rejected)}};
}

nlohmann::ordered_json to_json(const FailureReport& report) {
  return {{"total", report.total},
          {"success_count", report.success_count},
          {"failure_count", report.failure_count},
          {"failures", to_json(report.failures)}};
}

std::string to_json_text(const nlohmann::ordered_json& value) {
  return detail::dump_python_json(value);
}

std::string to_json_text(const MergeResult& merge) {
  return R"({"merged":)" + merge.merged + R"(,"errors":)" + to_json_text(to_json(merge.errors)) +
         "}";
}

namespace {

/// One chosen response with its score, as best-of and top-k print it.
nlohmann::ordered_json scored_json(const Response& r, double score) {
  return {{"agent_index", r.agent_index}, {"score", score}, {"text", r.text}};
}

std::string majority_json(std::span<const Response> r, const AggregateParams& /*params*/) {
  return to_json_text(to_json(majority_vote(r)));
}
std::string concat_json(std::span<const Response> r, const AggregateParams& params) {
  return to_json_text(nlohmann::ordered_json{{"text", concat(r, params.separator)}});
}
std::string statistics_json(std::span<const Response> r, const AggregateParams& /*params*/) {
  return to_json_text(to_json(statistics(r)));
}
std::string merge_json(std::span<const Response> r, const AggregateParams& /*params*/) {
  return to_json_text(structured_merge(r));
}
std::string failures_json(std::span<const Response> r, const AggregateParams& /*params*/) {
  return to_json_text(to_json(failure_report(r)));
}
std::string best_of_json(std::span<const Response> r, const AggregateParams& params) {
  const Response best = best_of(r, params.score);
  if (!best.success) return to_json_text(nlohmann::ordered_json{{"error", best.error}});
  return to_json_text(scored_json(best, params.score(best)));
}
std::string top_k_json(std::span<const Response> r, const AggregateParams& params) {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const Response& chosen : top_k(r, params.k, params.score)) {
    out.push_back(scored_json(chosen, params.score(chosen)));
  }
  return to_json_text(nlohmann::ordered_json{{"top", std::move(out)}});
}

constexpr NamedAggregate kNamedAggregates[] = {
    {.name = "majority", .result = majority_json},
    {.name = "concat", .result = concat_json},
    {.name = "statistics", .result = statistics_json},
    {.name = "structured-merge", .result = merge_json},
    {.name = "failure-report", .result = failures_json, .reads_errors = true},
    {.name = "best-of", .result = best_of_json, .needs_score = true},
    {.name = "top-k", .result = top_k_json, .needs_score = true},
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
