// Aggregators, part 1: majority_vote, concat, best_of, top_k (the seed's semantics).
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
using nlohmann::json;

// ---------------------------------------------------------------- majority_vote

TEST(MajorityVote, EmptyInputGivesEmptyWinnerAndZeroConfidence) {
  const Vote v = majority_vote(Responses{});
  EXPECT_EQ(v.winner, "");
  EXPECT_DOUBLE_EQ(v.confidence, 0.0);
}

TEST(MajorityVote, PicksMostCommonAnswerWithItsFraction) {
  const Vote v = majority_vote(oks({"b", "a", "b", "c", "b"}));
  EXPECT_EQ(v.winner, "b");
  EXPECT_DOUBLE_EQ(v.confidence, 3.0 / 5.0);
}

TEST(MajorityVote, ComparesAfterStripAndLowerCase) {
  const Vote v = majority_vote(oks({" Yes\n", "yes", "YES\t", "\v\f\r no ", "No"}));
  EXPECT_EQ(v.winner, "yes");  // the normalised form, as Python returns the Counter key
  EXPECT_DOUBLE_EQ(v.confidence, 3.0 / 5.0);
}

TEST(MajorityVote, UnicodeStripAndLowerAsPython) {
  // Issue 18's case: the seed gives ('été', 0.6); the ASCII-only rule gave ("x", 0.4).
  const Vote v = majority_vote(oks({"\xC3\x89t\xC3\xA9", "\xC3\x89T\xC3\x89", "\xC3\xA9t\xC3\xA9",
                                    "x", "x"}));
  EXPECT_EQ(v.winner, "\xC3\xA9t\xC3\xA9");
  EXPECT_DOUBLE_EQ(v.confidence, 0.6);
  // str.strip() removes the no-break space U+00A0, the ideographic space U+3000 and U+2028;
  // not the zero-width space U+200B, which Python does not count as whitespace.
  const Vote spaces = majority_vote(
      oks({"\xC2\xA0yes\xE3\x80\x80", "\xE2\x80\xA8YES", "yes", "\xE2\x80\x8Byes", "no"}));
  EXPECT_EQ(spaces.winner, "yes");
  EXPECT_DOUBLE_EQ(spaces.confidence, 0.6);
}

TEST(MajorityVote, FullLowerCaseMappings) {
  // Python: "İ".lower() == "i̇" (two code points), "ΟΔΟΣ".lower() == "οδος" with a final sigma,
  // "ΣΑ".lower() == "σα", "Straße".lower() unchanged past the S.
  EXPECT_EQ(majority_vote(oks({"\xC4\xB0"})).winner, "i\xCC\x87");
  EXPECT_EQ(majority_vote(oks({"\xCE\x9F\xCE\x94\xCE\x9F\xCE\xA3"})).winner,
            "\xCE\xBF\xCE\xB4\xCE\xBF\xCF\x82");
  EXPECT_EQ(majority_vote(oks({"\xCE\xA3\xCE\x91"})).winner, "\xCF\x83\xCE\xB1");
  EXPECT_EQ(majority_vote(oks({"\xCE\x91\xCE\xA3'"})).winner, "\xCE\xB1\xCF\x82'");
  EXPECT_EQ(majority_vote(oks({"Stra\xC3\x9F" "E"})).winner, "stra\xC3\x9F" "e");
  // Bytes that are not UTF-8 are kept as they are.
  EXPECT_EQ(majority_vote(oks({"A\xFF" "B"})).winner, "a\xFF" "b");
}

TEST(MajorityVote, TieGoesToAnswerSeenFirst) {
  // In the first case "a" reaches 2 votes before "b" does, but "b" appeared first.
  EXPECT_EQ(majority_vote(oks({"b", "a", "a", "b"})).winner, "b");
  EXPECT_EQ(majority_vote(oks({"a", "b", "b", "a"})).winner, "a");
  EXPECT_EQ(majority_vote(oks({"x", "y", "z"})).winner, "x");
  EXPECT_DOUBLE_EQ(majority_vote(oks({"b", "a", "a", "b"})).confidence, 0.5);
}

TEST(MajorityVote, FailuresExcludedByDefault) {
  Responses rs = oks({"a"});
  rs.push_back(failed_with_text("b", 1));
  rs.push_back(failed_with_text("b", 2));
  const Vote v = majority_vote(rs);
  EXPECT_EQ(v.winner, "a");
  EXPECT_DOUBLE_EQ(v.confidence, 1.0);
}

TEST(MajorityVote, FailuresCountedWhenIncluded) {
  Responses rs = oks({"a"});
  rs.push_back(failed_with_text("b", 1));
  rs.push_back(failed_with_text("B ", 2));
  const Vote v = majority_vote(rs, /*include_failures=*/true);
  EXPECT_EQ(v.winner, "b");
  EXPECT_DOUBLE_EQ(v.confidence, 2.0 / 3.0);
}

TEST(MajorityVote, AllFailedGivesEmptyResultUnlessIncluded) {
  const Responses rs{Response::failure("x", 0), Response::failure("y", 1)};
  EXPECT_EQ(majority_vote(rs).winner, "");
  EXPECT_DOUBLE_EQ(majority_vote(rs).confidence, 0.0);
  // Included, the two failures' empty texts agree.
  EXPECT_EQ(majority_vote(rs, true).winner, "");
  EXPECT_DOUBLE_EQ(majority_vote(rs, true).confidence, 1.0);
}

TEST(MajorityVote, ManyResponsesManyDistinctAnswers) {
  Responses rs;
  for (int i = 0; i < 50000; ++i) rs.push_back(Response::ok(std::to_string(i % 5000), i));
  rs.push_back(Response::ok("4999", 50000));
  const Vote v = majority_vote(rs);
  EXPECT_EQ(v.winner, "4999");
  EXPECT_DOUBLE_EQ(v.confidence, 11.0 / 50001.0);
}

// ---------------------------------------------------------------- concat

TEST(Concat, JoinsWithNewlineByDefault) {
  EXPECT_EQ(concat(oks({"a", "b", "c"})), "a\nb\nc");
}

TEST(Concat, CustomAndEmptySeparators) {
  EXPECT_EQ(concat(oks({"a", "b"}), "\n---\n"), "a\n---\nb");
  EXPECT_EQ(concat(oks({"a", "b"}), ""), "ab");
}

TEST(Concat, EmptyAndSingle) {
  EXPECT_EQ(concat(Responses{}), "");
  EXPECT_EQ(concat(oks({"only"}), ", "), "only");
}

TEST(Concat, KeepsTextsVerbatim) {
  EXPECT_EQ(concat(oks({" a ", ""}), "|"), " a |");
}

TEST(Concat, FailuresExcludedByDefaultIncludedOnRequest) {
  const Responses rs{Response::ok("a", 0), failed_with_text("F", 1), Response::ok("b", 2)};
  EXPECT_EQ(concat(rs, ","), "a,b");
  EXPECT_EQ(concat(rs, ",", /*include_failures=*/true), "a,F,b");
}

// ---------------------------------------------------------------- best_of

TEST(BestOf, PicksHighestScore) {
  const Response r = best_of(oks({"1", "7", "3"}), text_score);
  EXPECT_TRUE(r.success);
  EXPECT_EQ(r.text, "7");
  EXPECT_EQ(r.agent_index, 1);
}

TEST(BestOf, FirstMaximumWinsTies) {
  const Response r = best_of(oks({"2", "5", "5", "1", "5"}), text_score);
  EXPECT_EQ(r.agent_index, 1);
}

TEST(BestOf, EmptyGivesFailedResponse) {
  const Response r = best_of(Responses{}, text_score);
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.text, "");
  EXPECT_EQ(r.error, "No responses to select from");
}

TEST(BestOf, FailuresExcludedByDefaultIncludedOnRequest) {
  const Responses rs{Response::ok("1", 0), failed_with_text("9", 1), Response::ok("2", 2)};
  EXPECT_EQ(best_of(rs, text_score).agent_index, 2);
  const Response included = best_of(rs, text_score, /*include_failures=*/true);
  EXPECT_EQ(included.agent_index, 1);
  EXPECT_FALSE(included.success);  // the response is returned as it was
}

TEST(BestOf, AllFailedGivesFailedResponseUnlessIncluded) {
  const Responses rs{failed_with_text("3", 4)};
  EXPECT_EQ(best_of(rs, text_score).error, "No responses to select from");
  EXPECT_EQ(best_of(rs, text_score, true).agent_index, 4);
}

TEST(BestOf, CallsScoreOncePerResponse) {
  int calls = 0;
  const ScoreFn counting = [&calls](const Response& r) {
    ++calls;
    return text_score(r);
  };
  best_of(oks({"1", "2", "3", "4"}), counting);
  EXPECT_EQ(calls, 4);
}

TEST(BestOf, NanScoreNeverWins) {
  // Python's max() would keep a leading NaN (nothing compares greater); we rank NaN lowest,
  // the same rule top_k uses.
  const ScoreFn score = [](const Response& r) {
    return r.text == "x" ? std::numeric_limits<double>::quiet_NaN() : text_score(r);
  };
  EXPECT_EQ(best_of(oks({"x", "1", "x", "2"}), score).agent_index, 3);
}

// ---------------------------------------------------------------- top_k

TEST(TopK, ReturnsHighestScoresDescending) {
  const Responses top = top_k(oks({"1", "5", "3", "4", "2"}), 3, text_score);
  EXPECT_EQ(agents_of(top), (std::vector<std::int64_t>{1, 3, 2}));
}

TEST(TopK, EqualScoresKeepInputOrder) {
  // Python: sorted(..., reverse=True) is stable, so equal keys keep their input order.
  const Responses rs = oks({"1", "3", "1", "3", "2", "3"});
  EXPECT_EQ(agents_of(top_k(rs, 6, text_score)), (std::vector<std::int64_t>{1, 3, 5, 4, 0, 2}));
  EXPECT_EQ(agents_of(top_k(rs, 2, text_score)), (std::vector<std::int64_t>{1, 3}));
  EXPECT_EQ(agents_of(top_k(oks({"0", "0", "0", "0"}), 3, text_score)),
            (std::vector<std::int64_t>{0, 1, 2}));
}

TEST(TopK, KLargerThanCountReturnsAll) {
  EXPECT_EQ(agents_of(top_k(oks({"1", "2"}), 10, text_score)), (std::vector<std::int64_t>{1, 0}));
}

TEST(TopK, ZeroKAndEmptyInput) {
  EXPECT_TRUE(top_k(oks({"1", "2"}), 0, text_score).empty());
  EXPECT_TRUE(top_k(Responses{}, 3, text_score).empty());
}

TEST(TopK, CallsScoreOncePerResponse) {
  int calls = 0;
  const ScoreFn counting = [&calls](const Response& r) {
    ++calls;
    return text_score(r);
  };
  const Responses top = top_k(oks({"4", "1", "5", "9", "2", "6", "3"}), 3, counting);
  EXPECT_EQ(calls, 7);
  EXPECT_EQ(agents_of(top), (std::vector<std::int64_t>{3, 5, 2}));
}

TEST(TopK, FailuresExcludedByDefaultIncludedOnRequest) {
  const Responses rs{Response::ok("1", 0), failed_with_text("9", 1), Response::ok("2", 2)};
  EXPECT_EQ(agents_of(top_k(rs, 3, text_score)), (std::vector<std::int64_t>{2, 0}));
  EXPECT_EQ(agents_of(top_k(rs, 3, text_score, /*include_failures=*/true)),
            (std::vector<std::int64_t>{1, 2, 0}));
}

TEST(TopK, NanScoresRankLast) {
  const ScoreFn score = [](const Response& r) {
    return r.text == "x" ? std::numeric_limits<double>::quiet_NaN() : text_score(r);
  };
  EXPECT_EQ(agents_of(top_k(oks({"x", "1", "x", "2"}), 4, score)),
            (std::vector<std::int64_t>{3, 1, 0, 2}));
}

TEST(StructuredMerge, DeepAnswerIsAnErrorNotACrash) {
  // 70,000 levels crashed --aggregate structured-merge (recursive dump of the merged value).
  // Appended, not operator+: GCC 12 -O2 reports a false -Warray-bounds on the temporary.
  std::string deep(70000, '[');
  deep += '1';
  deep.append(70000, ']');
  const auto result = structured_merge(oks({R"({"a": 1})", deep}));
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.errors[0].agent_index, 1);
  EXPECT_EQ(result.errors[0].error, "JSON nested deeper than 256 levels");
  EXPECT_EQ(result.merged, R"([{"a":1}])");
}

}  // namespace
}  // namespace swarm
