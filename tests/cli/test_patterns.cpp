// aswarm-mpi's flags against its name tables: the pattern table (patterns.hpp), the aggregate
// and protocol names of swarm::core, and each pattern's flag rules. No MPI run.
#include "patterns.hpp"

#include <cmath>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "options.hpp"
#include "select.hpp"
#include "swarm/aggregators.hpp"
#include "swarm/pool_options.hpp"

namespace swarm::cli {
namespace {

/// Parses `args` as aswarm-mpi's command line (after the program name), then validate().
Options parse(std::vector<std::string> args) {
  CLI::App app;
  Options options;
  add_options(app, options);
  args.insert(args.begin(), "aswarm-mpi");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  app.parse(static_cast<int>(argv.size()), argv.data());
  validate(options);
  return options;
}

/// The message aswarm-mpi prints after "aswarm-mpi: error: " for `args`, "" if they pass.
std::string error_of(std::vector<std::string> args) {
  try {
    parse(std::move(args));
  } catch (const CLI::ParseError& e) {
    return e.what();
  }
  return "";
}

std::vector<std::string> with(std::vector<std::string> args) {
  args.insert(args.begin(), {"--hostfile", "agents.txt"});
  return args;
}

TEST(PatternTable, ListsThePatternsInTheirOrder) {
  // The order is user-visible: --help and the "not in {...}" error list the names so.
  std::vector<std::string_view> names;
  for (const auto& p : pattern_drivers()) names.push_back(p.name);
  const std::vector<std::string_view> expected = {"broadcast", "scatter-gather", "tree-reduce",
                                                  "blackboard", "pipeline", "embed",
                                                  "uncertainty", "fan-out-fan-in"};
  EXPECT_EQ(names, expected);
}

TEST(PatternTable, EveryPatternIsFoundAndAcceptedByPattern) {
  for (const auto& p : pattern_drivers()) {
    const PatternDriver* found = find_pattern(p.name);
    ASSERT_EQ(found, &p) << p.name;
    EXPECT_NE(p.run, nullptr) << p.name;
    // Past --pattern's own check, whatever the pattern's rules then say.
    const auto error = error_of(with({"--pattern", std::string(p.name)}));
    EXPECT_EQ(error.find("not in"), std::string::npos) << p.name << ": " << error;
  }
  EXPECT_EQ(find_pattern("gossip"), nullptr);
  EXPECT_EQ(find_pattern(""), nullptr);
}

TEST(PatternTable, UnknownPatternKeepsItsMessage) {
  EXPECT_EQ(error_of(with({"--pattern", "gossip"})),
            "--pattern: gossip not in {broadcast,scatter-gather,tree-reduce,blackboard,pipeline,embed,"
            "uncertainty,fan-out-fan-in}");
}

TEST(NameTables, EveryAggregateAndProtocolIsAccepted) {
  for (const auto name : aggregate_names()) {
    const auto options = parse(with({"--pattern", "broadcast", "--prompt", "x", "--aggregate",
                                     std::string(name), "--score", "length"}));
    EXPECT_EQ(options.aggregate.names, std::vector<std::string>{std::string(name)});
  }
  // Several in one run, in the order given (the seed's broadcast_aggregators.py).
  const auto both = parse(with({"--pattern", "broadcast", "--prompt", "x", "--aggregate",
                                "majority,concat", "--separator", " | "}));
  EXPECT_EQ(both.aggregate.names, (std::vector<std::string>{"majority", "concat"}));
  EXPECT_EQ(both.aggregate.separator, " | ");
  for (const auto name : protocol_names()) {
    const auto options =
        parse(with({"--pattern", "broadcast", "--prompt", "x", "--protocol", std::string(name)}));
    EXPECT_EQ(pool_options(options).protocol, protocol_from_string(name));
  }
}

TEST(PoolFlags, ReplyBudgetIsInMebibytesPerRank) {
  const auto args = with({"--pattern", "broadcast", "--prompt", "x"});
  EXPECT_EQ(pool_options(parse(args)).reply_budget_bytes, std::size_t{1} << 30);
  auto small = args;
  small.insert(small.end(), {"--reply-budget-mib", "3"});
  EXPECT_EQ(pool_options(parse(small)).reply_budget_bytes, std::size_t{3} << 20);
}

TEST(NameTables, UnknownAggregateAndProtocolKeepTheirMessages) {
  EXPECT_EQ(error_of(with({"--pattern", "broadcast", "--prompt", "x", "--aggregate", "median"})),
            "--aggregate: median not in "
            "{majority,concat,statistics,structured-merge,failure-report,best-of,top-k}");
  EXPECT_EQ(error_of(with({"--pattern", "broadcast", "--prompt", "x", "--protocol", "grpc"})),
            "--protocol: grpc not in {chat,completions,generate}");
}

struct RuleCase {
  std::vector<std::string> args;
  std::string message;  ///< "" = accepted.
};

TEST(PatternRules, EachPatternKeepsItsMessages) {
  const std::vector<RuleCase> cases = {
      {{"--pattern", "broadcast"}, "--pattern broadcast needs --prompt or --prompt-file"},
      {{"--pattern", "broadcast", "--prompt", "x", "--input", "in.jsonl"},
       "--input applies to --pattern scatter-gather"},
      {{"--pattern", "broadcast", "--prompt-file", "p.txt", "--resume", "--output", "o"},
       "--resume applies to --pattern scatter-gather"},
      {{"--pattern", "broadcast", "--prompt", "x", "--reduce-prompt", "{responses}"}, ""},
      {{"--pattern", "scatter-gather"}, "--pattern scatter-gather needs --input FILE|-"},
      {{"--pattern", "scatter-gather", "--input", "-", "--reduce-prompt", "r"},
       "--reduce-prompt applies to --pattern broadcast"},
      {{"--pattern", "scatter-gather", "--input", "-", "--resume"},
       "--resume needs --output FILE (the results of the earlier run)"},
      {{"--pattern", "scatter-gather", "--input", "-", "--batch-size", "4"},
       "--batch-size > 1 sends /v1/completions list requests: add --protocol completions"},
      {{"--pattern", "scatter-gather", "--input", "-", "--resume", "--output", "o"}, ""},
      {{"--pattern", "blackboard"}, "--pattern blackboard needs --config FILE"},
      // The blackboard resumes from its --output log (board_resume.hpp).
      {{"--pattern", "blackboard", "--config", "b.json", "--resume", "--output", "o"}, ""},
      {{"--pattern", "pipeline"}, "--pattern pipeline needs --config FILE"},
      {{"--pattern", "pipeline", "--config", "p.json", "--input", "-", "--prompt", "x"},
       "--pattern pipeline: --input gives one input per item; --prompt/--prompt-file give the "
       "single input of a one-off run; pass one of them"},
      {{"--pattern", "pipeline", "--config", "p.json", "--resume", "--output", "o"},
       "--resume applies to --pattern pipeline with --input"},
      {{"--pattern", "pipeline", "--config", "p.json", "--aggregate", "concat"},
       "--aggregate does not apply to --pattern pipeline: each stage's \"transform\" in "
       "--config aggregates its answers"},
      {{"--pattern", "pipeline", "--config", "p.json", "--input", "-", "--resume", "--output", "o"},
       ""},
      {{"--pattern", "embed"}, "--pattern embed needs --input FILE|-"},
      {{"--pattern", "embed", "--input", "-", "--prompt", "x"},
       "--pattern embed embeds the input lines as written: drop --prompt"},
      // Embedding lists need no --protocol completions, and the farm is dynamic.
      {{"--pattern", "embed", "--input", "-", "--batch-size", "64", "--resume", "--output", "o"},
       ""},
      {{"--pattern", "uncertainty"},
       "--pattern uncertainty needs --input FILE|- (one question a line)"},
      {{"--pattern", "uncertainty", "--input", "-", "--batch-size", "8", "--samples", "5"}, ""},
      {{"--pattern", "broadcast", "--prompt", "x", "--aggregate", "best-of"},
       "--aggregate best-of needs --score length|json:KEY|regex:PATTERN"},
      {{"--pattern", "broadcast", "--prompt", "x", "--aggregate", "top-k", "--score", "size"},
       "--score size: expected length, json:KEY or regex:PATTERN"},
      {{"--pattern", "broadcast", "--prompt", "x", "--aggregate", "top-k", "--score", "regex:("},
       "--score regex:(: missing ): ("},
      {{"--pattern", "broadcast", "--prompt", "x", "--slice", "1-3"},
       "--slice 1-3: expected START:STOP"},
      {{"--pattern", "broadcast", "--prompt", "x", "--slice", "a:3"},
       "--slice a:3: expected START:STOP (integers)"},
      {{"--pattern", "broadcast", "--prompt", "x", "--select-tag", "role"},
       "--select-tag role: expected KEY=VALUE"},
      {{"--pattern", "broadcast", "--prompt", "x", "--slice", "-2:", "--select-tag", "role=b",
        "--exclude-agents", "0,1", "--select-agents", "1", "--sample", "1"},
       ""},
      {{"--pattern", "broadcast", "--prompt", "x", "--input-format", "text"},
       "--input-format applies to --input (scatter-gather, pipeline) and --items (tree-reduce)"},
      {{"--pattern", "fan-out-fan-in", "--prompt", "x"},
       "--pattern fan-out-fan-in needs --reduce-prompt with {responses} (what agent 0 is asked)"},
      {{"--pattern", "fan-out-fan-in", "--prompt", "x", "--reduce-prompt", "r", "--workers", "2"},
       ""},
      // tree-reduce checks its own flags when it runs (UsageError, without the --help hint).
      {{"--pattern", "tree-reduce"}, ""},
      {{"--pattern", "tree-reduce", "--resume"},
       "--resume needs --output FILE (the results of the earlier run)"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(error_of(with(c.args)), c.message) << ::testing::PrintToString(c.args);
  }
}

TEST(SelectFlags, SliceIsPythonsSlice) {
  EXPECT_EQ(parse_slice("1:3", 6), (std::pair<std::size_t, std::size_t>{1, 3}));
  EXPECT_EQ(parse_slice(":", 6), (std::pair<std::size_t, std::size_t>{0, 6}));
  EXPECT_EQ(parse_slice("-2:", 6), (std::pair<std::size_t, std::size_t>{4, 6}));
  EXPECT_EQ(parse_slice(":-1", 6), (std::pair<std::size_t, std::size_t>{0, 5}));
  EXPECT_EQ(parse_slice("4:2", 6), (std::pair<std::size_t, std::size_t>{4, 4}));  // empty
  EXPECT_EQ(parse_slice("2:99", 6), (std::pair<std::size_t, std::size_t>{2, 6}));
  EXPECT_EQ(parse_slice("-99:2", 6), (std::pair<std::size_t, std::size_t>{0, 2}));
}

TEST(ScoreFlags, LengthJsonFieldAndRegexGroup) {
  const auto length = score_function("length");
  EXPECT_EQ(length(Response::ok("\xC3\xA9t\xC3\xA9", 0)), 3.0);  // characters, not bytes
  const auto field = score_function("json:score");
  EXPECT_EQ(field(Response::ok(R"({"score": 7.5, "x": 1})", 0)), 7.5);
  EXPECT_EQ(field(Response::ok(R"({"score": " 8 "})", 0)), 8.0);  // a numeral string too
  EXPECT_TRUE(std::isnan(field(Response::ok(R"({"x": 1})", 0))));
  EXPECT_TRUE(std::isnan(field(Response::ok("not json", 0))));
  const auto group = score_function("regex:rating: ([0-9.]+)");
  EXPECT_EQ(group(Response::ok("so... rating: 4.5/5", 0)), 4.5);
  EXPECT_TRUE(std::isnan(group(Response::ok("no rating", 0))));
  // A NaN score ranks last in best-of/top-k.
  const std::vector<Response> rs{Response::ok("x", 0), Response::ok(R"({"score": 1})", 1)};
  EXPECT_EQ(best_of(rs, field).agent_index, 1);
}

TEST(NumericFlags, AreFiniteInRangeAndFitTheirType) {
  // Each was accepted before (nan and 1e308 passed CLI11's double ranges, so --timeout nan
  // switched the timeout off and --temperature nan was sent as null), or printed a 309-digit
  // bound when refused.
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--timeout", "nan"}, "--timeout: 'nan' is not a finite number in (0, 604800]"},
      {{"--timeout", "1e308"}, "--timeout: '1e308' is out of range (0, 604800]"},
      {{"--timeout", "inf"}, "--timeout: 'inf' is not a finite number in (0, 604800]"},
      {{"--timeout", "0"}, "--timeout: '0' is out of range (0, 604800]"},
      {{"--temperature", "nan"}, "--temperature: 'nan' is not a finite number in [0, 2]"},
      {{"--temperature", "2.5"}, "--temperature: '2.5' is out of range [0, 2]"},
      {{"--give-up-after", "-inf"}, "--give-up-after: '-inf' is not a finite number in (0, 2592000]"},
      {{"--concurrency", "1e3"}, "--concurrency: '1e3' is not a whole number (expected one in (0, 1000000])"},
      {{"--concurrency", "18446744073709551617"}, "--concurrency: '18446744073709551617' is out of range (0, 1000000]"},
      {{"--per-agent-concurrency", "-1"}, "--per-agent-concurrency: '-1' is not a whole number (expected one in [0, 1000000])"},
      {{"--retries", "4294967296"}, "--retries: '4294967296' is out of range [0, 1000]"},
      {{"--max-tokens", "9223372036854775808"}, "--max-tokens: '9223372036854775808' is out of range (0, 100000000]"},
      {{"--window", "0"}, "--window: '0' is out of range (0, 67108864]"},
      {{"--fanin", "1"}, "--fanin: '1' is out of range [2, 100000]"},
      {{"--max-rounds", "2147483648"}, "--max-rounds: '2147483648' is out of range (0, 1000000]"},
      {{"--reply-budget-mib", "0"}, "--reply-budget-mib: '0' is out of range (0, 1048576]"},
      {{"--reply-budget-mib", "1048577"}, "--reply-budget-mib: '1048577' is out of range (0, 1048576]"},
      {{"--timeout", "0.5"}, ""},
      {{"--temperature", "0"}, ""},
      {{"--retries", "+2"}, ""},
  };
  for (const auto& [flag, message] : cases) {
    auto args = with({"--pattern", "broadcast", "--prompt", "x"});
    args.insert(args.end(), flag.begin(), flag.end());
    EXPECT_EQ(error_of(args), message) << ::testing::PrintToString(flag);
  }
}

}  // namespace
}  // namespace swarm::cli
