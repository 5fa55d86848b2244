// The name tables of swarm::core that the CLI reads: named aggregates and protocol names.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "aggregator_test_util.hpp"
#include "swarm/aggregators.hpp"
#include "swarm/pool_options.hpp"

namespace swarm {
namespace {

using namespace swarm::test;  // NOLINT(google-build-using-namespace): test helpers only
using nlohmann::json;

/// Numbers, JSON, a repeated answer, and failures that carry text: every aggregate gives a
/// different, non-trivial result.
Responses mixed() {
  Responses rs = oks({"3", "[1, 2]", "3", "x"});
  rs.push_back(failed_with_text("7", 4));
  rs.push_back(Response::failure("timeout", 5));
  return rs;
}

std::vector<std::string_view> names_of(std::span<const NamedAggregate> table) {
  std::vector<std::string_view> out;
  for (const auto& a : table) out.push_back(a.name);
  return out;
}

TEST(NamedAggregates, ListsTheCliNamesInTheirOrder) {
  // The order is user-visible: --help and the "not in {...}" error list the names so.
  const std::vector<std::string_view> expected = {
      "majority", "concat", "statistics", "structured-merge", "failure-report", "best-of", "top-k"};
  EXPECT_EQ(names_of(named_aggregates()), expected);
  const auto names = aggregate_names();
  EXPECT_EQ(std::vector<std::string_view>(names.begin(), names.end()), expected);
}

TEST(NamedAggregates, EveryNameIsFoundUnderItself) {
  for (const auto name : aggregate_names()) {
    const NamedAggregate* a = find_aggregate(name);
    ASSERT_NE(a, nullptr) << name;
    EXPECT_EQ(a->name, name);
    EXPECT_NE(a->result, nullptr) << name;
  }
}

TEST(NamedAggregates, UnknownNamesAreNotFound) {
  EXPECT_EQ(find_aggregate(""), nullptr);
  EXPECT_EQ(find_aggregate("median"), nullptr);
  EXPECT_EQ(find_aggregate("Majority"), nullptr);  // names are exact, as --aggregate checks
}

/// The length score (what --score length gives), for the aggregates that need one.
AggregateParams with_length_score() {
  AggregateParams p;
  p.score = [](const Response& r) { return static_cast<double>(r.text.size()); };
  p.k = 2;
  p.separator = " | ";
  return p;
}

TEST(NamedAggregates, EachNameGivesItsAggregatesJson) {
  const Responses rs = mixed();
  const AggregateParams p = with_length_score();
  EXPECT_EQ(find_aggregate("majority")->result(rs, p), to_json_text(to_json(majority_vote(rs))));
  EXPECT_EQ(find_aggregate("concat")->result(rs, p), R"({"text":"3 | [1, 2] | 3 | x"})");
  EXPECT_EQ(find_aggregate("statistics")->result(rs, p), to_json_text(to_json(statistics(rs))));
  EXPECT_EQ(find_aggregate("structured-merge")->result(rs, p),
            to_json_text(structured_merge(rs)));
  EXPECT_EQ(find_aggregate("failure-report")->result(rs, p),
            to_json_text(to_json(failure_report(rs))));
  EXPECT_EQ(find_aggregate("best-of")->result(rs, p),
            R"({"agent_index":1,"score":6.0,"text":"[1, 2]"})");
  EXPECT_EQ(find_aggregate("top-k")->result(rs, p),
            R"({"top":[{"agent_index":1,"score":6.0,"text":"[1, 2]"},)"
            R"({"agent_index":0,"score":1.0,"text":"3"}]})");
  EXPECT_TRUE(find_aggregate("top-k")->needs_score);
  EXPECT_FALSE(find_aggregate("concat")->needs_score);
}

TEST(NamedAggregates, KeptFieldsGiveTheSameResult) {
  // The CLI keeps only kept_fields() of each answer until it prints the aggregate.
  const Responses rs = mixed();
  const AggregateParams p = with_length_score();
  for (const auto& a : named_aggregates()) {
    Responses kept;
    for (const Response& r : rs) kept.push_back(a.kept_fields(r));
    EXPECT_EQ(a.result(kept, p), a.result(rs, p)) << a.name;
  }
}

TEST(NamedAggregates, KeptFieldsDropWhatTheAggregateDoesNotRead) {
  const Responses rs = mixed();
  const Response& ok = rs[0];
  const Response& failed = rs[4];  // a failure that carries text
  const NamedAggregate* report = find_aggregate("failure-report");
  EXPECT_EQ(report->kept_fields(ok).text, "");
  EXPECT_EQ(report->kept_fields(failed).error, "boom");
  const NamedAggregate* vote = find_aggregate("majority");
  EXPECT_EQ(vote->kept_fields(ok).text, "3");
  EXPECT_EQ(vote->kept_fields(failed).text, "");
  EXPECT_EQ(vote->kept_fields(failed).error, "");
  EXPECT_FALSE(vote->kept_fields(failed).success);
  EXPECT_EQ(vote->kept_fields(failed).agent_index, 4);
}

TEST(ProtocolNames, AreTheEnumsNamesInEnumOrder) {
  const auto names = protocol_names();
  const std::vector<std::string_view> expected = {"chat", "completions", "generate"};
  EXPECT_EQ(std::vector<std::string_view>(names.begin(), names.end()), expected);
  for (std::size_t i = 0; i < names.size(); ++i) {
    const auto protocol = static_cast<Protocol>(i);
    EXPECT_EQ(to_string(protocol), names[i]);
    EXPECT_EQ(protocol_from_string(names[i]), protocol) << names[i];
  }
}

}  // namespace
}  // namespace swarm
