// PipelineConfig: what a --config file turns into (the library stages), and the errors that
// must name the file before any rank communicates. The CLI's e2e tests cover the messages of
// the common mistakes; these check the parsed values.

#include <gtest/gtest.h>

#include "io/input_error.hpp"
#include "pipeline_config.hpp"

namespace swarm::cli {
namespace {

Response ok(std::string text) { return Response::ok(std::move(text), 0); }

Response failed() { return Response::failure("HTTP 503", 0); }

TEST(PipelineConfig, ParsesStagesAgentsTagsAndDependencies) {
  const auto c = PipelineConfig::parse(R"({
    "reuse_agents": false, "input": "q",
    "stages": [
      {"name": "a", "prompt": "A {input}", "agents": 3},
      {"name": "b", "prompt": "B {input}", "tag": "role=critic=x", "depends_on": []},
      {"name": "c", "prompt": "{stage:a} {stage:b}", "depends_on": ["a", "b"]},
      {"name": "d", "prompt": "D {input}"}]})",
                                       "p.json");
  EXPECT_FALSE(c.reuse_agents);
  ASSERT_TRUE(c.input.has_value());
  EXPECT_EQ(*c.input, "q");
  ASSERT_EQ(c.stages.size(), 4U);
  EXPECT_EQ(c.stages[0].n_agents, 3U);
  EXPECT_FALSE(c.stages[0].depends_on.has_value());  // linear: the previous stage
  EXPECT_EQ(c.stages[1].tag_key, "role");
  EXPECT_EQ(c.stages[1].tag_value, "critic=x");  // split at the first '='
  ASSERT_TRUE(c.stages[1].depends_on.has_value());
  EXPECT_TRUE(c.stages[1].depends_on->empty());
  EXPECT_EQ(*c.stages[2].depends_on, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(c.stages[3].n_agents, 0U);  // 0: all
  EXPECT_FALSE(c.stages[3].filter);     // no filter: keep every response
  EXPECT_FALSE(c.stages[3].transform);  // the library's default concat
}

TEST(PipelineConfig, ReuseAgentsDefaultsToTheSeeds) {
  const auto c = PipelineConfig::parse(R"({"stages": [{"name": "a", "prompt": "x"}]})", "p");
  EXPECT_TRUE(c.reuse_agents);
  EXPECT_FALSE(c.input.has_value());
}

TEST(PipelineConfig, FiltersAreTheBuiltIns) {
  const auto c = PipelineConfig::parse(R"({"stages": [
      {"name": "a", "prompt": "x", "filter": "non-empty"},
      {"name": "b", "prompt": "x", "filter": {"regex": "^[0-9]+$"}},
      {"name": "c", "prompt": "x", "filter": "valid-json"},
      {"name": "d", "prompt": "x", "filter": "success"}]})",
                                       "p");
  EXPECT_TRUE(c.stages[0].filter(ok("hi")));
  EXPECT_FALSE(c.stages[0].filter(ok(" \n")));
  EXPECT_TRUE(c.stages[1].filter(ok("42")));
  EXPECT_FALSE(c.stages[1].filter(ok("42a")));
  EXPECT_TRUE(c.stages[2].filter(ok(R"({"k": 1})")));
  EXPECT_FALSE(c.stages[2].filter(ok("{nope")));
  EXPECT_TRUE(c.stages[3].filter(ok("")));
  EXPECT_FALSE(c.stages[3].filter(failed()));
}

TEST(PipelineConfig, RegexFilterIsLinearOnLongAnswers) {
  // std::regex recursed once per character here and overflowed the stack (SIGSEGV, exit 11).
  const auto c = PipelineConfig::parse(
      R"({"stages": [{"name": "a", "prompt": "x", "filter": {"regex": "(\\w|\\s)+DONE"}}]})", "p");
  std::string answer;
  for (int i = 0; i < 2000; ++i) answer += "word1 ";  // 12 KB of \w and \s
  EXPECT_FALSE(c.stages[0].filter(ok(answer + "done")));
  EXPECT_TRUE(c.stages[0].filter(ok(answer + "wordDONE")));
  EXPECT_FALSE(c.stages[0].filter(ok(std::string(1 << 20, 'a'))));
}

TEST(PipelineConfig, BadRegexIsAConfigError) {
  try {
    (void)PipelineConfig::parse(
        R"({"stages": [{"name": "a", "prompt": "x", "filter": {"regex": "(unclosed"}}]})", "p.json");
    FAIL() << "a bad pattern was accepted";
  } catch (const InputError& e) {
    const std::string what = e.what();
    EXPECT_EQ(what.rfind("p.json", 0), 0U) << what;
    EXPECT_NE(what.find("stage 'a': filter regex \"(unclosed\" is invalid"), std::string::npos)
        << what;
  }
  // Backreferences are ECMAScript, not RE2 (no linear-time guarantee): refused up front too.
  EXPECT_THROW((void)PipelineConfig::parse(
                   R"({"stages": [{"name": "a", "prompt": "x", "filter": {"regex": "(a)\\1"}}]})",
                   "p.json"),
               InputError);
}

TEST(PipelineConfig, TransformsAreTheBuiltIns) {
  const auto c = PipelineConfig::parse(R"({"stages": [
      {"name": "a", "prompt": "x", "transform": {"concat": " | "}},
      {"name": "b", "prompt": "x", "transform": "majority"},
      {"name": "c", "prompt": "x", "transform": "first"},
      {"name": "d", "prompt": "x", "transform": "statistics"}]})",
                                       "p");
  const std::vector<Response> rs = {failed(), ok("7"), ok("Yes"), ok("yes "), ok("5")};
  EXPECT_EQ(c.stages[0].transform(rs), "7 | Yes | yes  | 5");
  EXPECT_EQ(c.stages[1].transform(rs), "yes");
  EXPECT_EQ(c.stages[2].transform(rs), "7");
  const auto stats = nlohmann::json::parse(c.stages[3].transform(rs));
  EXPECT_EQ(stats["count"], 2);
  EXPECT_DOUBLE_EQ(stats["mean"].get<double>(), 6.0);
}

TEST(PipelineConfig, ConcatAndStructuredMergeByName) {
  const auto c = PipelineConfig::parse(R"({"stages": [
      {"name": "a", "prompt": "x", "transform": "concat"},
      {"name": "b", "prompt": "x", "transform": "structured-merge"}]})",
                                       "p");
  const std::vector<Response> rs = {ok("[1, 2]"), failed(), ok("3")};
  EXPECT_EQ(c.stages[0].transform(rs), "[1, 2]\n3");
  EXPECT_EQ(nlohmann::json::parse(c.stages[1].transform(rs)), nlohmann::json::parse("[1, 2, 3]"));
}

TEST(PipelineConfig, UnknownTransformListsTheNames) {
  try {
    (void)PipelineConfig::parse(
        R"({"stages": [{"name": "a", "prompt": "x", "transform": "failure-report"}]})", "p.json");
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(),
                 "p.json: stage 'a': 'transform' must be \"concat\", \"majority\", "
                 "\"structured-merge\", \"first\", \"statistics\" or {\"concat\": \"separator\"}");
  }
}

TEST(PipelineConfig, ErrorsNameTheFile) {
  try {
    (void)PipelineConfig::parse(R"({"stages": [{"name": "a", "prompt": "x", "tag": "role"}]})",
                                "dir/p.json");
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(),
                 "dir/p.json: stage 'a': 'tag' must be a \"key=value\" string (as in the "
                 "hostfile)");
  }
  try {
    (void)PipelineConfig::parse("{\"stages\": [\n\n{]}", "p.json");
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_EQ(e.line(), 3U);
  }
  EXPECT_THROW((void)PipelineConfig::parse(R"({"stages": [], "extra": 1})", "p"), InputError);
  EXPECT_THROW((void)PipelineConfig::parse(R"({"stages": [{"name": "a", "prompt": "x",
      "agents": -1}]})", "p"), InputError);
  EXPECT_THROW((void)PipelineConfig::load("/nonexistent/p.json"), InputError);
}

}  // namespace
}  // namespace swarm::cli
