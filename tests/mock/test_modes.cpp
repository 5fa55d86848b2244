// --mode echo/fixed/script, --reasoning, and the script file's error messages.

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "http_client.hpp"
#include "mock_process.hpp"

namespace swarm::mock::test {
namespace {

using nlohmann::json;

std::string chat_answer(const MockProcess& mock, std::size_t agent, std::string_view prompt) {
  const auto r = http_post(mock.url(agent, "/v1/chat/completions"), chat_body(prompt));
  EXPECT_EQ(r.status, 200) << r.body;
  return r.json()["choices"][0]["message"]["content"].get<std::string>();
}

// Drives the patterns: per-role answers, a vote, numbers, JSON, and a blackboard that reaches
// consensus once the prompt mentions round 3.
constexpr std::string_view kScript = R"({
  "rules": [
    {"match": "round [3-9]", "answer": "CONSENSUS reached by agent {agent}"},
    {"role": "critiques", "match": "^critique", "answer": "critic {agent} ({role}) objects to: {prompt}"},
    {"role": "hypotheses", "match": "VOTE", "ignore_case": true, "answer": "B"},
    {"match": "json", "answer": "{\"score\": {agent}, \"label\": \"x\"}"},
    {"match": "number", "answers": [{"text": "1"}, {"text": "2", "weight": 2}, {"text": "3", "weight": 1}]}
  ],
  "default": "default answer to {prompt}"
})";

TEST(MockModes, EchoRepeatsThePromptOnEveryRoute) {
  MockProcess mock({"--mode", "echo"});
  EXPECT_EQ(chat_answer(mock, 0, "ping"), "completion: ping");
  EXPECT_EQ(http_post(mock.url(0, "/generate"), R"({"prompt": "ping"})").json()["response"],
            "completion: ping");
  EXPECT_EQ(http_post(mock.url(0, "/v1/completions"), R"({"prompt": "ping"})")
                .json()["choices"][0]["text"],
            "completion: ping");
}

TEST(MockModes, FixedAnswersTheSameTextWithPlaceholders) {
  MockProcess mock(
      {"--count", "2", "--mode", "fixed", "--text", "agent {agent} says hi to {prompt}"});
  EXPECT_EQ(chat_answer(mock, 0, "bob"), "agent 0 says hi to bob");
  EXPECT_EQ(chat_answer(mock, 1, "ann"), "agent 1 says hi to ann");
}

TEST(MockModes, ScriptMatchesRolesRegexesAndDefaults) {
  TempDir dir;
  write_file(dir.path() / "script.json", kScript);
  MockProcess mock({"--count", "4", "--roles", "hypotheses,critiques", "--mode", "script",
                    "--script", (dir.path() / "script.json").string()});
  // Agents 0 and 2 are hypotheses, 1 and 3 critiques.
  EXPECT_EQ(chat_answer(mock, 1, "critique this plan"),
            "critic 1 (critiques) objects to: critique this plan");
  EXPECT_EQ(chat_answer(mock, 0, "critique this plan"), "default answer to critique this plan");
  EXPECT_EQ(chat_answer(mock, 2, "please vote now"), "B");  // ignore_case
  EXPECT_EQ(chat_answer(mock, 3, "please vote now"), "default answer to please vote now");
  // Rule order: the consensus rule comes first, for every role.
  EXPECT_EQ(chat_answer(mock, 1, "critique, round 4"), "CONSENSUS reached by agent 1");
  EXPECT_EQ(chat_answer(mock, 0, "blackboard round 2"), "default answer to blackboard round 2");
  // JSON answers keep their braces and parse.
  const json structured = json::parse(chat_answer(mock, 3, "give json"));
  EXPECT_EQ(structured["score"], 3);
  EXPECT_EQ(structured["label"], "x");
  // The same rules answer /generate and /v1/completions.
  EXPECT_EQ(http_post(mock.url(0, "/generate"), R"({"prompt": "round 7"})").json()["response"],
            "CONSENSUS reached by agent 0");
}

// A request's "seed" picks among weighted answers (script.hpp): weights 2, 1, 1 laid end to end,
// seeds 0..3 give A, A, B, C on whichever agent, and seed 4 starts over; unseeded requests
// still draw from the agent's stream.
TEST(MockModes, ScriptPicksWeightedAnswersByTheRequestSeed) {
  TempDir dir;
  write_file(dir.path() / "script.json",
             R"({"rules": [{"match": "sample", "answers": [{"text": "A", "weight": 2},
                                         {"text": "B"}, {"text": "C"}]}], "default": "none"})");
  MockProcess mock({"--count", "3", "--mode", "script", "--script",
                    (dir.path() / "script.json").string()});
  const auto seeded = [&](std::size_t agent, int seed) {
    json body = json::parse(chat_body("sample"));
    body["seed"] = seed;
    const auto r = http_post(mock.url(agent, "/v1/chat/completions"), body.dump());
    EXPECT_EQ(r.status, 200) << r.body;
    return r.json()["choices"][0]["message"]["content"].get<std::string>();
  };
  const std::vector<std::string> want = {"A", "A", "B", "C", "A", "A", "B", "C"};
  for (int seed = 0; seed < 8; ++seed) {
    EXPECT_EQ(seeded(static_cast<std::size_t>(seed) % 3, seed), want[static_cast<std::size_t>(seed)])
        << seed;
    EXPECT_EQ(seeded(2 - static_cast<std::size_t>(seed) % 3, seed),
              want[static_cast<std::size_t>(seed)])
        << seed;
  }
  std::map<std::string, int> drawn;
  for (int i = 0; i < 40; ++i) ++drawn[chat_answer(mock, 0, "sample")];
  EXPECT_GE(drawn.size(), 2U);  // the unseeded draw is random, not the seed rule at 0
}

std::vector<std::string> numbers(const MockProcess& mock, std::size_t agent, int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back(chat_answer(mock, agent, "a number please"));
  return out;
}

TEST(MockModes, WeightedAnswersAreReproducibleBySeed) {
  TempDir dir;
  write_file(dir.path() / "script.json", kScript);
  const std::vector<std::string> args = {
      "--count", "2", "--mode", "script", "--script", (dir.path() / "script.json").string()};
  auto with_seed = [&](const char* seed) {
    auto a = args;
    a.insert(a.end(), {"--seed", seed});
    return a;
  };
  std::vector<std::string> first;
  std::vector<std::string> other_agent;
  {
    MockProcess mock(with_seed("1234"));
    first = numbers(mock, 0, 40);
    other_agent = numbers(mock, 1, 40);
  }
  std::map<std::string, int> histogram;
  for (const auto& x : first) ++histogram[x];
  EXPECT_EQ(histogram.size(), 3U) << "all three weighted answers should appear in 40 draws";
  EXPECT_GT(histogram["2"], histogram["3"]);  // weight 2 vs 1 (fails with p < 1e-3)
  EXPECT_NE(first, other_agent) << "agents draw from independent streams";
  {
    MockProcess again(with_seed("1234"));
    EXPECT_EQ(numbers(again, 0, 40), first);
  }
  {
    MockProcess different(with_seed("99"));
    EXPECT_NE(numbers(different, 0, 40), first);
  }
}

TEST(MockModes, ReasoningMovesTheTextOutOfContent) {
  MockProcess mock({"--reasoning", "--mode", "fixed", "--text", "let me think"});
  const auto r = http_post(mock.url(0, "/v1/chat/completions"), chat_body("q"));
  ASSERT_EQ(r.status, 200) << r.body;
  const json message = r.json()["choices"][0]["message"];
  EXPECT_EQ(message["content"], "");
  EXPECT_EQ(message["reasoning"], "let me think");
  EXPECT_EQ(message["reasoning_content"], "let me think");
  EXPECT_EQ(r.json()["usage"]["completion_tokens"], 3);
}

RunResult run_script(std::string_view text) {
  TempDir dir;
  write_file(dir.path() / "bad.json", text);
  return run_mock(
      {"--port-base", "0", "--mode", "script", "--script", (dir.path() / "bad.json").string()});
}

void expect_script_error(std::string_view text, std::string_view needle) {
  const RunResult r = run_script(text);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(r.err.starts_with("aswarm-mock-agent: error: script ")) << r.err;
  EXPECT_NE(r.err.find("bad.json"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << "expected '" << needle << "' in: " << r.err;
  EXPECT_TRUE(r.out.empty()) << "no ready line for a bad script";
}

TEST(MockModes, BadScriptsNameTheFileAndTheProblem) {
  expect_script_error(R"({"rules": [], "default": "x",})", "parse error at line 1, column 30");
  expect_script_error(
      R"({"rules": [{"answer": "a"}, {"match": "(", "answer": "b"}], "default": "x"})",
      "rule 1: bad regex");
  expect_script_error(R"({"rules": [{"answer": "a", "answers": [{"text": "b"}]}], "default": "x"})",
                      "rule 0: needs exactly one of");
  expect_script_error(R"({"rules": [{"anwser": "a"}], "default": "x"})",
                      "rule 0: unknown key \"anwser\"");
  expect_script_error(R"({"rules": [{"answers": [{"text": "a", "weight": -1}]}], "default": "x"})",
                      "rule 0: answers[0]: \"weight\" must be a positive number");
  expect_script_error(R"({"rules": []})", "missing \"default\"");

  const RunResult missing =
      run_mock({"--port-base", "0", "--mode", "script", "--script", "/nonexistent/s.json"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("/nonexistent/s.json: cannot open"), std::string::npos) << missing.err;
}

}  // namespace
}  // namespace swarm::mock::test
