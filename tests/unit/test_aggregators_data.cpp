// Aggregators, part 2: structured_merge, parse_number, statistics, failure_report, to_json.
#include "swarm/aggregators.hpp"

#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "aggregator_test_util.hpp"

namespace swarm {
namespace {

using namespace swarm::test;  // NOLINT(google-build-using-namespace): test helpers only
using json = nlohmann::ordered_json;

// ---------------------------------------------------------------- structured_merge

TEST(StructuredMerge, ArraysFlattenedOtherValuesAppended) {
  const MergeResult m =
      structured_merge(oks({"[1, 2]", R"({"a": 1})", "3", R"("s")", "[]", "[[4], 5]", "null"}));
  EXPECT_TRUE(m.errors.empty());
  // Only one level is flattened, as with Python's list.extend.
  EXPECT_EQ(m.merged, R"([1,2,{"a":1},3,"s",[4],5,null])");
}

TEST(StructuredMerge, SurroundingWhitespaceAccepted) {
  const MergeResult m = structured_merge(oks({"  [1]\n", "\t{\"k\": true} "}));
  EXPECT_TRUE(m.errors.empty());
  EXPECT_EQ(m.merged, R"([1,{"k":true}])");
}

TEST(StructuredMerge, ParseErrorsCarryAgentIndex) {
  const Responses rs{Response::ok("[1]", 3), Response::ok("not json", 7), Response::ok("", 8),
                     Response::ok("[1] trailing", 9), Response::ok(R"({"a": 2})", 10)};
  const MergeResult m = structured_merge(rs);
  EXPECT_EQ(m.merged, R"([1,{"a":2}])");
  ASSERT_EQ(m.errors.size(), 3U);
  EXPECT_EQ(m.errors[0].agent_index, 7);
  EXPECT_EQ(m.errors[1].agent_index, 8);  // empty text is a parse error, as in json.loads
  EXPECT_EQ(m.errors[2].agent_index, 9);
  // Python's json.loads messages, positions in code points.
  EXPECT_EQ(m.errors[0].error, "Expecting value: line 1 column 1 (char 0)");
  EXPECT_EQ(m.errors[1].error, "Expecting value: line 1 column 1 (char 0)");
  EXPECT_EQ(m.errors[2].error, "Extra data: line 1 column 5 (char 4)");
}

TEST(StructuredMerge, KeepsKeyOrderBigIntegersAndPythonsNonFiniteValues) {
  // Issue 18's cases: aswarm sorted the keys, rounded big integers to doubles and rejected the
  // values Python's json accepts. json.loads keeps all of them; 1e400 is a float (inf).
  const MergeResult m = structured_merge(oks({R"({"zeta": 1, "alpha": {"y": 2, "b": 3}})",
                                              "[123456789012345678901234567890, -9223372036854775809]",
                                              "[NaN, Infinity, -Infinity]", "1e400",
                                              R"({"a": 1, "b": 2, "a": 3})"}));
  EXPECT_TRUE(m.errors.empty());
  EXPECT_EQ(m.merged,
            R"([{"zeta":1,"alpha":{"y":2,"b":3}},123456789012345678901234567890,)"
            R"(-9223372036854775809,NaN,Infinity,-Infinity,1e400,{"a":3,"b":2}])");
}

TEST(StructuredMerge, RejectsWhatPythonRejects) {
  const MergeResult m = structured_merge(oks({"nan", "-NaN", "+1", "[1,]", "{\"a\" 1}", "01",
                                              "\"tab\there\"", "\xEF\xBB\xBF[1]", "[1, 2",
                                              "\"\\x\"", "{'a': 1}", "1.", "\"\\u12\""}));
  EXPECT_EQ(m.merged, "[]");
  std::vector<std::string> errors;
  for (const AgentIssue& e : m.errors) errors.push_back(e.error);
  EXPECT_EQ(errors, (std::vector<std::string>{
                        "Expecting value: line 1 column 1 (char 0)",
                        "Expecting value: line 1 column 1 (char 0)",
                        "Expecting value: line 1 column 1 (char 0)",
                        "Expecting value: line 1 column 4 (char 3)",
                        "Expecting ':' delimiter: line 1 column 6 (char 5)",
                        "Extra data: line 1 column 2 (char 1)",
                        "Invalid control character at: line 1 column 5 (char 4)",
                        "Unexpected UTF-8 BOM (decode using utf-8-sig): line 1 column 1 (char 0)",
                        "Expecting ',' delimiter: line 1 column 6 (char 5)",
                        "Invalid \\escape: line 1 column 2 (char 1)",
                        "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)",
                        "Extra data: line 1 column 2 (char 1)",
                        "Invalid \\uXXXX escape: line 1 column 3 (char 2)"}));
}

TEST(StructuredMerge, MultiLineAnswersAreMadeCompact) {
  const MergeResult m = structured_merge(oks({"{\n  \"k\": [1,\n 2],\n  \"s\": \"a b\"\n}\n"}));
  EXPECT_TRUE(m.errors.empty());
  EXPECT_EQ(m.merged, R"([{"k":[1,2],"s":"a b"}])");
  // Positions count lines and code points as Python does.
  const MergeResult bad = structured_merge(oks({"[\"\xC3\xA9\",\n 1 2]"}));
  ASSERT_EQ(bad.errors.size(), 1U);
  EXPECT_EQ(bad.errors[0].error, "Expecting ',' delimiter: line 2 column 4 (char 9)");
}

TEST(StructuredMerge, EmptyInputGivesEmptyArray) {
  const MergeResult m = structured_merge(Responses{});
  EXPECT_EQ(m.merged, "[]");
  EXPECT_TRUE(m.errors.empty());
}

TEST(StructuredMerge, FailuresExcludedByDefaultIncludedOnRequest) {
  const Responses rs{Response::ok("[1]", 0), failed_with_text("[9]", 1),
                     Response::failure("timeout", 2)};
  const MergeResult excluded = structured_merge(rs);
  EXPECT_EQ(excluded.merged, "[1]");
  EXPECT_TRUE(excluded.errors.empty());

  const MergeResult included = structured_merge(rs, /*include_failures=*/true);
  EXPECT_EQ(included.merged, "[1,9]");
  ASSERT_EQ(included.errors.size(), 1U);  // the failure's empty text does not parse
  EXPECT_EQ(included.errors[0].agent_index, 2);
}

// ---------------------------------------------------------------- parse_number

TEST(ParseNumber, AcceptsOrdinaryNumerals) {
  EXPECT_EQ(parse_number("3"), 3.0);
  EXPECT_EQ(parse_number("-2.5e3"), -2500.0);
  EXPECT_EQ(parse_number("1.5"), 1.5);
  EXPECT_EQ(parse_number("1E3"), 1000.0);
  EXPECT_EQ(parse_number(".5"), 0.5);
  EXPECT_EQ(parse_number("1."), 1.0);
  EXPECT_EQ(parse_number("007"), 7.0);
}

TEST(ParseNumber, StripsAsciiWhitespace) {
  EXPECT_EQ(parse_number(" \t42\r\n\v\f"), 42.0);
}

TEST(ParseNumber, AcceptsLeadingPlusLikePython) {
  EXPECT_EQ(parse_number("+3"), 3.0);
  EXPECT_EQ(parse_number(" +1.5e1 "), 15.0);
}

TEST(ParseNumber, AcceptsInfinityAndNan) {
  EXPECT_EQ(parse_number("inf"), std::numeric_limits<double>::infinity());
  EXPECT_EQ(parse_number("-inf"), -std::numeric_limits<double>::infinity());
  EXPECT_EQ(parse_number("Infinity"), std::numeric_limits<double>::infinity());
  const auto nan = parse_number("nan");
  ASSERT_TRUE(nan.has_value());
  EXPECT_TRUE(std::isnan(*nan));
  ASSERT_TRUE(parse_number("+NaN").has_value());
}

TEST(ParseNumber, NegativeZeroKeepsItsSign) {
  const auto z = parse_number("-0");
  ASSERT_TRUE(z.has_value());
  EXPECT_TRUE(std::signbit(*z));
}

TEST(ParseNumber, RejectsNonNumbers) {
  for (const char* text : {"", "   ", "abc", "3 apples", "0x10", "1,000", "+", "-", "+-3", "++3",
                           "--3", "+ 3", "1e", "e3", "3.4.5", ".", "nan(1)", "nan()", "1 2"}) {
    EXPECT_EQ(parse_number(text), std::nullopt) << "text: \"" << text << '"';
  }
}

TEST(ParseNumber, RejectsUnderscoresThatPythonAccepts) {
  // Python's float("1_000") is 1000.0; digit grouping in an LLM answer is rare, and accepting
  // it would need a parser of our own, so it is not a number here.
  EXPECT_EQ(parse_number("1_000"), std::nullopt);
}

TEST(ParseNumber, OutOfRangeBehavesLikePythonFloat) {
  // Python: float("1e400") == inf, float("1e-400") == 0.0, signs kept.
  constexpr double inf = std::numeric_limits<double>::infinity();
  EXPECT_EQ(parse_number("1e400"), inf);
  EXPECT_EQ(parse_number("-1e400"), -inf);
  EXPECT_EQ(parse_number("123456e305"), inf);
  EXPECT_EQ(parse_number("1e99999999999999999999999"), inf);
  EXPECT_EQ(parse_number("1e-400"), 0.0);
  EXPECT_EQ(parse_number("0.000123e-325"), 0.0);
  EXPECT_EQ(parse_number("123456e-335"), 0.0);
  const auto neg_zero = parse_number("-1e-400");
  ASSERT_TRUE(neg_zero.has_value());
  EXPECT_EQ(*neg_zero, 0.0);
  EXPECT_TRUE(std::signbit(*neg_zero));
}

TEST(ParseNumber, ValuesNearTheLimitsAreNotOutOfRange) {
  EXPECT_EQ(parse_number("100000e303"), 1e308);
  const auto subnormal = parse_number("1e-320");
  ASSERT_TRUE(subnormal.has_value());
  EXPECT_GT(*subnormal, 0.0);
  EXPECT_LT(*subnormal, std::numeric_limits<double>::min());
}

// ---------------------------------------------------------------- statistics

TEST(Statistics, OddCountMedianIsMiddleValue) {
  // Python: mean 2, stdev 1.0, median 2 for [3, 1, 2].
  const Statistics s = statistics(oks({"3", "1", "2"}));
  EXPECT_EQ(s.count, 3U);
  EXPECT_DOUBLE_EQ(s.mean, 2.0);
  EXPECT_DOUBLE_EQ(s.stddev, 1.0);
  EXPECT_DOUBLE_EQ(s.median, 2.0);
  EXPECT_DOUBLE_EQ(s.min, 1.0);
  EXPECT_DOUBLE_EQ(s.max, 3.0);
  EXPECT_TRUE(s.rejected.empty());
}

TEST(Statistics, EvenCountMedianIsMeanOfMiddleValues) {
  // Python: statistics.mean -> 5, statistics.stdev -> 2.138089935299395 (sqrt(32/7)),
  // statistics.median -> 4.5.
  const Statistics s = statistics(oks({"9", "2", "5", "4", "4", "7", "4", "5"}));
  EXPECT_EQ(s.count, 8U);
  EXPECT_DOUBLE_EQ(s.mean, 5.0);
  EXPECT_DOUBLE_EQ(s.stddev, std::sqrt(32.0 / 7.0));
  EXPECT_NEAR(s.stddev, 2.138089935299395, 1e-15);
  EXPECT_DOUBLE_EQ(s.median, 4.5);
  EXPECT_DOUBLE_EQ(s.min, 2.0);
  EXPECT_DOUBLE_EQ(s.max, 9.0);
}

TEST(Statistics, SingleValueHasZeroStd) {
  const Statistics s = statistics(oks({" 4.25\n"}));
  EXPECT_EQ(s.count, 1U);
  EXPECT_DOUBLE_EQ(s.mean, 4.25);
  EXPECT_DOUBLE_EQ(s.stddev, 0.0);
  EXPECT_DOUBLE_EQ(s.median, 4.25);
  EXPECT_DOUBLE_EQ(s.min, 4.25);
  EXPECT_DOUBLE_EQ(s.max, 4.25);
}

TEST(Statistics, NoValuesGivesAllZeros) {
  for (const Statistics& s : {statistics(Responses{}), statistics(oks({"abc"}))}) {
    EXPECT_EQ(s.count, 0U);
    EXPECT_DOUBLE_EQ(s.mean, 0.0);
    EXPECT_DOUBLE_EQ(s.stddev, 0.0);
    EXPECT_DOUBLE_EQ(s.median, 0.0);
    EXPECT_DOUBLE_EQ(s.min, 0.0);
    EXPECT_DOUBLE_EQ(s.max, 0.0);
  }
}

TEST(Statistics, NonNumbersRejectedWithAgentIndexInsteadOfCrashing) {
  // The Python seed raises ValueError on "abc"; we report it and use the rest.
  const Responses rs{Response::ok("1", 0), Response::ok("abc", 4), Response::ok("3", 5),
                     Response::ok("  ", 6)};
  const Statistics s = statistics(rs);
  EXPECT_EQ(s.count, 2U);
  EXPECT_DOUBLE_EQ(s.mean, 2.0);
  EXPECT_EQ(s.rejected,
            (std::vector<AgentIssue>{{4, R"(not a number: "abc")"}, {6, R"(not a number: "")"}}));
}

TEST(Statistics, LongRejectedTextIsTruncatedOnACharacterBoundary) {
  // 39 ASCII bytes then two-byte "é"s: a cut at 40 bytes would split the first "é".
  std::string text(39, 'a');
  for (int i = 0; i < 50; ++i) text += "\xC3\xA9";
  const Statistics s = statistics(Responses{Response::ok(text, 2)});
  ASSERT_EQ(s.rejected.size(), 1U);
  EXPECT_EQ(s.rejected[0].agent_index, 2);
  EXPECT_EQ(s.rejected[0].error, "not a number: \"" + std::string(39, 'a') + "...\"");
  EXPECT_NO_THROW((void)to_json(s).dump());  // still valid UTF-8
}

TEST(Statistics, ExtractorReplacesParsing) {
  const ExtractFn after_colon = [](const Response& r) -> std::optional<double> {
    const auto colon = r.text.find(':');
    if (colon == std::string::npos) return std::nullopt;
    return parse_number(std::string_view(r.text).substr(colon + 1));
  };
  const Responses rs{Response::ok("score: 2", 0), Response::ok("score: 4", 1),
                     Response::ok("no score", 2), Response::ok("6", 3)};
  const Statistics s = statistics(rs, after_colon);
  EXPECT_EQ(s.count, 2U);
  EXPECT_DOUBLE_EQ(s.mean, 3.0);
  ASSERT_EQ(s.rejected.size(), 2U);  // "6" has no colon: the extractor decides, not parse_number
  EXPECT_EQ(s.rejected[0].agent_index, 2);
  EXPECT_EQ(s.rejected[1].agent_index, 3);
  EXPECT_FALSE(s.rejected[0].error.empty());
}

TEST(Statistics, FailuresExcludedByDefaultIncludedOnRequest) {
  const Responses rs{Response::ok("1", 0), failed_with_text("101", 1), Response::ok("3", 2),
                     Response::failure("timeout", 3)};
  const Statistics excluded = statistics(rs);
  EXPECT_EQ(excluded.count, 2U);
  EXPECT_DOUBLE_EQ(excluded.mean, 2.0);
  EXPECT_TRUE(excluded.rejected.empty());

  const Statistics included = statistics(rs, {}, /*include_failures=*/true);
  EXPECT_EQ(included.count, 3U);
  EXPECT_DOUBLE_EQ(included.mean, 35.0);
  EXPECT_DOUBLE_EQ(included.max, 101.0);
  ASSERT_EQ(included.rejected.size(), 1U);  // the failure's empty text
  EXPECT_EQ(included.rejected[0].agent_index, 3);
}

TEST(Statistics, ExtractorSeesFailuresOnlyWhenIncluded) {
  int calls = 0;
  const ExtractFn one = [&calls](const Response&) -> std::optional<double> {
    ++calls;
    return 1.0;
  };
  const Responses rs{Response::ok("x", 0), Response::failure("e", 1)};
  EXPECT_EQ(statistics(rs, one).count, 1U);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(statistics(rs, one, true).count, 2U);
  EXPECT_EQ(calls, 3);
}

TEST(Statistics, StdIsAccurateForLargeOffsets) {
  // E[x^2] - E[x]^2 loses everything here; Python's statistics.stdev gives 5.477225575051661.
  const Statistics s = statistics(oks({"1000000004", "1000000007", "1000000013", "1000000016"}));
  EXPECT_DOUBLE_EQ(s.mean, 1000000010.0);
  EXPECT_DOUBLE_EQ(s.stddev, std::sqrt(30.0));
  EXPECT_DOUBLE_EQ(s.median, 1000000010.0);
}

TEST(Statistics, MeanOfHugeValuesDoesNotOverflow) {
  // Python: statistics.mean([1e308, 1e308]) == 1e308.
  const Statistics s = statistics(oks({"1e308", "1e308"}));
  EXPECT_DOUBLE_EQ(s.mean, 1e308);
  EXPECT_DOUBLE_EQ(s.stddev, 0.0);
}

TEST(Statistics, NonFiniteValuesDoNotCrash) {
  const Statistics with_inf = statistics(oks({"inf", "1"}));
  EXPECT_EQ(with_inf.max, std::numeric_limits<double>::infinity());
  EXPECT_DOUBLE_EQ(with_inf.min, 1.0);
  EXPECT_EQ(with_inf.mean, std::numeric_limits<double>::infinity());

  const Statistics with_nan = statistics(oks({"nan", "1", "2"}));
  EXPECT_EQ(with_nan.count, 3U);
  EXPECT_TRUE(std::isnan(with_nan.mean));
  EXPECT_TRUE(std::isnan(with_nan.stddev));
  // Python's min() keeps a leading NaN (nothing compares less); so do we.
  EXPECT_TRUE(std::isnan(with_nan.min));
}

TEST(Statistics, MeanIsExactlyRoundedAsPythonsStatisticsMean) {
  // Issue 18's cases: a plain float sum gave 0.20000000000000004 and 0.0.
  EXPECT_EQ(statistics(oks({"0.1", "0.2", "0.3"})).mean, 0.2);
  EXPECT_EQ(statistics(oks({"1e16", "1", "-1e16"})).mean, 1.0 / 3.0);
  // More of Python 3.11's answers: the overflowing sum, ten 0.1s, subnormal halves (ties to
  // even), a negative zero (Fraction(0) is +0.0), infinities added as floats.
  EXPECT_EQ(statistics(oks({"1e308", "1e308", "-1e308"})).mean, 3.333333333333333e+307);
  EXPECT_EQ(statistics(oks(std::vector<std::string>(10, "0.1"))).mean, 0.1);
  EXPECT_EQ(statistics(oks({"5e-324", "0"})).mean, 0.0);
  EXPECT_EQ(statistics(oks({"1.5e-323", "0"})).mean, 1e-323);
  const double zero = statistics(oks({"-0.0"})).mean;
  EXPECT_EQ(zero, 0.0);
  EXPECT_FALSE(std::signbit(zero));
  EXPECT_TRUE(std::isnan(statistics(oks({"inf", "-inf", "1"})).mean));
  EXPECT_EQ(statistics(oks({"-inf", "1"})).mean, -std::numeric_limits<double>::infinity());
}

// ---------------------------------------------------------------- failure_report

TEST(FailureReport, CountsAndListsFailuresInInputOrder) {
  const Responses rs{Response::ok("a", 0), Response::failure("timeout", 1), Response::ok("b", 2),
                     Response::failure("HTTP 500", 3), Response::failure("refused", 7)};
  const FailureReport r = failure_report(rs);
  EXPECT_EQ(r.total, 5U);
  EXPECT_EQ(r.success_count, 2U);
  EXPECT_EQ(r.failure_count, 3U);
  EXPECT_EQ(r.failures, (std::vector<AgentIssue>{{1, "timeout"}, {3, "HTTP 500"}, {7, "refused"}}));
}

TEST(FailureReport, EmptyAndAllSuccessful) {
  const FailureReport empty = failure_report(Responses{});
  EXPECT_EQ(empty.total, 0U);
  EXPECT_EQ(empty.success_count, 0U);
  EXPECT_EQ(empty.failure_count, 0U);
  EXPECT_TRUE(empty.failures.empty());

  const FailureReport all_ok = failure_report(oks({"a", "b"}));
  EXPECT_EQ(all_ok.total, 2U);
  EXPECT_EQ(all_ok.success_count, 2U);
  EXPECT_EQ(all_ok.failure_count, 0U);
  EXPECT_TRUE(all_ok.failures.empty());
}

// ---------------------------------------------------------------- to_json

TEST(AggregatorsJson, Vote) {
  EXPECT_EQ(to_json(Vote{"yes", 0.75}), json::parse(R"({"winner": "yes", "confidence": 0.75})"));
}

TEST(AggregatorsJson, MergeResult) {
  MergeResult m;
  EXPECT_EQ(to_json_text(m), R"({"merged":[],"errors":[]})");
  m.merged = R"([1,{"b":2,"a":NaN}])";
  m.errors.push_back({4, "bad"});
  EXPECT_EQ(to_json_text(m), R"({"merged":[1,{"b":2,"a":NaN}],"errors":[{"agent_index":4,"error":"bad"}]})");
}

TEST(AggregatorsJson, NonFiniteNumbersAreWrittenAsPythonDoes) {
  // Issue 18: an infinite mean printed as null; json.dumps writes Infinity, -Infinity, NaN.
  Statistics s;
  s.mean = std::numeric_limits<double>::infinity();
  s.min = -std::numeric_limits<double>::infinity();
  s.stddev = std::numeric_limits<double>::quiet_NaN();
  s.count = 2;
  EXPECT_EQ(to_json_text(to_json(s)),
            R"({"mean":Infinity,"std":NaN,"median":0.0,"min":-Infinity,"max":0.0,"count":2,)"
            R"("rejected":[]})");
  EXPECT_EQ(to_json_text(json{{"t", "\xC3\xA9\""}, {"x", 0.1}}), "{\"t\":\"\xC3\xA9\\\"\",\"x\":0.1}");
}

TEST(AggregatorsJson, Statistics) {
  Statistics s;
  s.mean = 1.5;
  s.stddev = 0.5;
  s.median = 1.25;
  s.min = 1.0;
  s.max = 2.0;
  s.count = 3;
  s.rejected.push_back({2, R"(not a number: "x")"});
  const json j = to_json(s);
  EXPECT_EQ(j, json::parse(R"({"mean": 1.5, "std": 0.5, "median": 1.25, "min": 1.0, "max": 2.0,
      "count": 3, "rejected": [{"agent_index": 2, "error": "not a number: \"x\""}]})"));
  EXPECT_TRUE(j["count"].is_number_unsigned());
}

TEST(AggregatorsJson, FailureReport) {
  const FailureReport r =
      failure_report(Responses{Response::ok("a", 0), Response::failure("t", 1)});
  EXPECT_EQ(to_json(r), json::parse(R"({"total": 2, "success_count": 1, "failure_count": 1,
      "failures": [{"agent_index": 1, "error": "t"}]})"));
}

}  // namespace
}  // namespace swarm
