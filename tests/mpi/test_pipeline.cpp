// Pipeline at 1-4 ranks against the mock (script mode: "agent <k>: <prompt>"): input flowing
// through stages, filters, reuse vs partition, DAG branches in flight together, failing
// stages, fan-in transforms, tag-selected stages, invalid graphs.

#include <gtest/gtest.h>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "http_client.hpp"
#include "mock_swarm.hpp"
#include "swarm/mpi/pipeline.hpp"
#include "swarm/mpi/tree_reduce.hpp"

namespace {

using swarm::mpi::PipelineResult;
using swarm::mpi::Stage;
using swarm::mpi_test::Communicator;
using swarm::mpi_test::MockSwarm;
using swarm::mpi_test::Swarm;
namespace filters = swarm::mpi::filters;
namespace transforms = swarm::mpi::transforms;

bool is_root() {
  return Communicator().is_root();
}

std::vector<std::int64_t> answered_by(const swarm::mpi::StageResult& s) {
  std::vector<std::int64_t> out;
  for (const auto& r : s.responses) out.push_back(r.agent_index);
  return out;
}

Stage stage(std::string name, std::string tmpl, std::size_t n) {
  Stage s;
  s.name = std::move(name);
  s.prompt_template = std::move(tmpl);
  s.n_agents = n;
  return s;
}

TEST(MpiPipeline, TwoStagesInputFlowsThroughWithReusedAgents) {
  MockSwarm mock({"--count", "3"});
  Swarm s = mock.swarm();
  const std::vector<Stage> stages = {stage("draft", "draft {input}", 2),
                                     stage("judge", "judge [{input}]", 1)};
  const PipelineResult r = swarm::mpi::run_pipeline(s, stages, is_root() ? "x" : "ignored");
  ASSERT_TRUE(r.success) << r.error;
  const std::string draft = "agent 0: draft x\nagent 1: draft x";
  EXPECT_EQ(r.stages[0].output, draft);
  EXPECT_EQ(r.stages[1].prompt, "judge [" + draft + "]");
  EXPECT_EQ(r.output, "agent 0: judge [" + draft + "]");  // every rank
  EXPECT_EQ(r.stages[1].agents, (std::vector<std::size_t>{0}));
  EXPECT_EQ(r.waves, 2u);
  if (is_root()) {
    EXPECT_EQ(answered_by(r.stages[0]), (std::vector<std::int64_t>{0, 1}));
    EXPECT_EQ(answered_by(r.stages[1]), (std::vector<std::int64_t>{0}));
    EXPECT_EQ(r.stages[0].kept, 2u);
  } else {
    EXPECT_TRUE(r.stages[0].responses.empty());
  }
}

TEST(MpiPipeline, PartitionGivesEachStageItsOwnAgents) {
  MockSwarm mock({"--count", "4"});
  Swarm s = mock.swarm();
  const std::vector<Stage> stages = {stage("a", "a {input}", 2), stage("b", "b {input}", 1),
                                     stage("c", "c {input}", 0)};  // 0: the rest
  const auto r = swarm::mpi::run_pipeline(s, stages, "q", /*reuse_agents=*/false);
  ASSERT_TRUE(r.success) << r.error;
  EXPECT_EQ(r.stages[0].agents, (std::vector<std::size_t>{0, 1}));
  EXPECT_EQ(r.stages[1].agents, (std::vector<std::size_t>{2}));
  EXPECT_EQ(r.stages[2].agents, (std::vector<std::size_t>{3}));
  const std::string a = "agent 0: a q\nagent 1: a q";
  EXPECT_EQ(r.stages[1].output, "agent 2: b " + a);
  EXPECT_EQ(r.output, "agent 3: c agent 2: b " + a);
  if (is_root()) {
    EXPECT_EQ(answered_by(r.stages[2]), (std::vector<std::int64_t>{3}));
  }

  // The same stages reusing agents: every stage starts at agent 0, "c" uses all four.
  const auto reused = swarm::mpi::run_pipeline(s, stages, "q", true);
  ASSERT_TRUE(reused.success);
  EXPECT_EQ(reused.stages[1].output, "agent 0: b " + a);
  if (is_root()) {
    EXPECT_EQ(answered_by(reused.stages[2]), (std::vector<std::int64_t>{0, 1, 2, 3}));
  }
}

TEST(MpiPipeline, FilterDropsResponsesBeforeTheTransform) {
  MockSwarm mock({"--count", "4"});
  Swarm s = mock.swarm();
  Stage a = stage("a", "a {input}", 0);
  a.filter = filters::regex("^agent [13]:");
  const std::vector<Stage> stages = {a, stage("b", "b {input}", 1)};
  const auto r = swarm::mpi::run_pipeline(s, stages, "z");
  ASSERT_TRUE(r.success);
  EXPECT_EQ(r.stages[0].output, "agent 1: a z\nagent 3: a z");
  EXPECT_EQ(r.output, "agent 0: b agent 1: a z\nagent 3: a z");
  if (is_root()) {
    EXPECT_EQ(r.stages[0].responses.size(), 4u);  // all kept in the result, filtered in output
    EXPECT_EQ(r.stages[0].kept, 2u);
  }
}

TEST(MpiPipeline, DagBranchesRunTogetherAndJoin) {
  // Both branches on agent 0 (reuse): the mock sees both requests at once iff they overlapped.
  MockSwarm mock({"--count", "3", "--latency", "fixed:300"});
  Swarm s = mock.swarm();
  Stage left = stage("left", "L {input}", 1);
  left.depends_on = std::vector<std::string>{};
  Stage right = stage("right", "R {input}", 1);
  right.depends_on = std::vector<std::string>{};
  Stage join = stage("join", "join <{stage:right}> <{stage:left}> <{input}>", 1);
  join.depends_on = std::vector<std::string>{"left", "right"};
  const auto r = swarm::mpi::run_pipeline(s, {left, right, join}, "in");
  ASSERT_TRUE(r.success) << r.error;
  EXPECT_EQ(r.waves, 2u);
  EXPECT_EQ(r.stages[0].wave, 0u);
  EXPECT_EQ(r.stages[1].wave, 0u);
  EXPECT_EQ(r.stages[2].wave, 1u);
  EXPECT_EQ(r.output,
            "agent 0: join <agent 0: R in> <agent 0: L in> <agent 0: L in\nagent 0: R in>");
  if (is_root()) {
    const auto m = swarm::mock::test::http_get(s.endpoint(0).url() + "/metrics").body;
    const std::string p = "{port=\"" + std::to_string(s.endpoint(0).port) + "\"}";
    EXPECT_EQ(swarm::mock::test::metric(m, "aswarm_mock_in_flight_max" + p), 2);
  }
}

TEST(MpiPipeline, DagBranchesOnDisjointAgentsAcrossRanks) {
  MockSwarm mock({"--count", "5"});
  Swarm s = mock.swarm();
  Stage root = stage("root", "root {input}", 1);  // agent 0
  Stage b1 = stage("b1", "one {input}", 1);       // agent 1
  b1.depends_on = std::vector<std::string>{"root"};
  Stage b2 = stage("b2", "two {input}", 2);  // agents 2, 3
  b2.depends_on = std::vector<std::string>{"root"};
  Stage join = stage("join", "{stage:b1} | {stage:b2}", 0);  // the rest: agent 4
  join.depends_on = std::vector<std::string>{"b1", "b2"};
  const auto r = swarm::mpi::run_pipeline(s, {root, b1, b2, join}, "s", false);
  ASSERT_TRUE(r.success) << r.error;
  EXPECT_EQ(r.stages[1].wave, 1u);
  EXPECT_EQ(r.stages[2].wave, 1u);
  EXPECT_EQ(r.stages[3].agents, (std::vector<std::size_t>{4}));
  const std::string two = "agent 2: two agent 0: root s\nagent 3: two agent 0: root s";
  EXPECT_EQ(r.stages[2].output, two);
  EXPECT_EQ(r.output, "agent 4: agent 1: one agent 0: root s | " + two);
  if (is_root()) {
    EXPECT_EQ(answered_by(r.stages[2]), (std::vector<std::int64_t>{2, 3}));
  }

  // A stage left without agents by the partition fails clearly.
  Stage extra = stage("extra", "{input}", 1);
  const auto none = swarm::mpi::run_pipeline(s, {root, b1, b2, join, extra}, "s", false);
  EXPECT_FALSE(none.success);
  EXPECT_NE(none.error.find("'extra' has no agents"), std::string::npos) << none.error;
  EXPECT_TRUE(none.stages[3].success);
}

TEST(MpiPipeline, StageWhoseAgentsAllFailStopsThePipeline) {
  MockSwarm mock({"--count", "4", "--dead-agents", "1,2"});
  Swarm s = mock.swarm();
  const std::vector<Stage> stages = {stage("ok", "ok {input}", 1), stage("dead", "d {input}", 2),
                                     stage("never", "n {input}", 1)};
  const auto r = swarm::mpi::run_pipeline(s, stages, "x", false);
  EXPECT_FALSE(r.success);
  EXPECT_TRUE(r.output.empty());
  EXPECT_NE(r.error.find("'dead'"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("all 2 agents failed"), std::string::npos) << r.error;
  EXPECT_TRUE(r.stages[0].success);
  EXPECT_TRUE(r.stages[1].ran);
  EXPECT_FALSE(r.stages[1].success);
  EXPECT_FALSE(r.stages[2].ran);
  EXPECT_TRUE(r.stages[2].output.empty());

  // One live agent in a stage is enough; the failure is left out of the default transform.
  const std::vector<Stage> mixed = {stage("m", "m {input}", 3)};
  const auto ok = swarm::mpi::run_pipeline(s, mixed, "y");
  ASSERT_TRUE(ok.success);
  EXPECT_EQ(ok.output, "agent 0: m y");
}

TEST(MpiPipeline, FanInThroughTransforms) {
  MockSwarm mock({"--count", "4"}, R"([{"match": "^vote", "answer": " Yes "},
                                       {"match": "^num", "answer": "{agent}"},
                                       {"match": "^json", "answer": "[{agent}]"}])");
  Swarm s = mock.swarm();
  Stage vote = stage("vote", "vote {input}", 0);
  vote.transform = transforms::majority();
  Stage num = stage("num", "num {input}", 0);
  num.transform = transforms::statistics();
  Stage js = stage("json", "json {input}", 3);
  js.transform = transforms::structured_merge();
  Stage first = stage("first", "{input}", 2);
  first.transform = transforms::first();
  const auto r = swarm::mpi::run_pipeline(s, {vote, num, js, first}, "?");
  ASSERT_TRUE(r.success) << r.error;
  EXPECT_EQ(r.stages[0].output, "yes");
  const auto stats = nlohmann::json::parse(r.stages[1].output);
  EXPECT_DOUBLE_EQ(stats["mean"].get<double>(), 1.5);
  EXPECT_EQ(stats["count"], 4);
  EXPECT_EQ(r.stages[2].output, "[0,1,2]");
  EXPECT_EQ(r.output, "agent 0: [0,1,2]");
}

TEST(MpiPipeline, BuiltInFilters) {
  swarm::Response ok = swarm::Response::ok("{\"a\": 1}");
  swarm::Response blank = swarm::Response::ok(" \n");
  swarm::Response bad = swarm::Response::failure("down");
  EXPECT_TRUE(filters::success()(ok));
  EXPECT_FALSE(filters::success()(bad));
  EXPECT_TRUE(filters::non_empty()(ok));
  EXPECT_FALSE(filters::non_empty()(blank));
  EXPECT_TRUE(filters::valid_json()(ok));
  EXPECT_FALSE(filters::valid_json()(blank));
  EXPECT_TRUE(filters::regex("a\"")(ok));
  EXPECT_FALSE(filters::regex("zzz")(ok));
  EXPECT_EQ(transforms::concat(" | ")({ok, bad, blank}), "{\"a\": 1} |  \n");
}

TEST(MpiPipeline, StagesByTag) {
  MockSwarm mock({"--count", "4", "--roles", "writer,critic"});
  Swarm s = mock.swarm();
  Stage w = stage("write", "write {input}", 0);
  w.tag_key = "role";
  w.tag_value = "writer";  // agents 0, 2
  Stage c = stage("crit", "crit {input}", 1);
  c.tag_key = "role";
  c.tag_value = "critic";  // agent 1 (first of 1, 3)
  const auto r = swarm::mpi::run_pipeline(s, {w, c}, "t", false);
  ASSERT_TRUE(r.success) << r.error;
  EXPECT_EQ(r.stages[0].agents, (std::vector<std::size_t>{0, 2}));
  EXPECT_EQ(r.output, "agent 1: crit agent 0: write t\nagent 2: write t");
}

TEST(MpiPipeline, TransformThatThrowsFailsOnEveryRank) {
  MockSwarm mock({"--count", "2"});
  Swarm s = mock.swarm();
  Stage a = stage("boom", "a {input}", 0);
  a.transform = [](const std::vector<swarm::Response>&) -> std::string {
    throw std::runtime_error("bad transform");
  };
  const auto r = swarm::mpi::run_pipeline(s, {a, stage("after", "{input}", 1)}, "x");
  EXPECT_FALSE(r.success);
  EXPECT_NE(r.error.find("'boom'"), std::string::npos);
  EXPECT_NE(r.error.find("bad transform"), std::string::npos);
  EXPECT_FALSE(r.stages[1].ran);
}

TEST(MpiPipeline, InvalidGraphsThrowOnEveryRank) {
  MockSwarm mock({"--count", "2"});
  Swarm s = mock.swarm();
  Stage a = stage("a", "{input}", 1);
  Stage b = stage("b", "{stage:c}", 1);  // not a dependency
  EXPECT_THROW(swarm::mpi::run_pipeline(s, {a, b}, "x"), std::invalid_argument);
  Stage d = stage("d", "{input}", 1);
  d.depends_on = std::vector<std::string>{"later"};
  EXPECT_THROW(swarm::mpi::run_pipeline(s, {d, stage("later", "{input}", 1)}, "x"),
               std::invalid_argument);
  EXPECT_THROW(swarm::mpi::run_pipeline(s, {a, a}, "x"), std::invalid_argument);
  // Still usable afterwards (nobody is stuck in a collective).
  EXPECT_EQ(swarm::mpi::run_pipeline(s, {a}, "x").output, "agent 0: x");
}

TEST(MpiPipeline, FanOutFanIn) {
  MockSwarm mock({"--count", "3"});
  Swarm s = mock.swarm();
  const auto r = swarm::mpi::fan_out_fan_in(s, "w", "collect: {responses}", 2);
  ASSERT_TRUE(r.success) << r.error;
  EXPECT_EQ(r.text, "agent 0: collect: agent 0: w\n---\nagent 1: w");
  EXPECT_EQ(r.agent_index, 0);
}

TEST(MpiPipelineItems, EachItemFlowsThroughTheStages) {
  MockSwarm mock({"--count", "3"});
  Swarm s = mock.swarm();
  const std::vector<Stage> stages = {stage("a", "a {input}", 2), stage("b", "b [{input}]", 1)};
  const std::vector<std::string> items = {"i0", "i1", "i2", "i3"};
  const auto r = swarm::mpi::run_pipeline_items(
      s, stages, is_root() ? items : std::vector<std::string>{}, {.record_events = true});
  ASSERT_EQ(r.items.size(), 4u);
  for (std::size_t k = 0; k < 4; ++k) {
    EXPECT_TRUE(r.items[k].success) << r.items[k].error;
    const std::string it = items[k];
    EXPECT_EQ(r.items[k].output, "agent 0: b [agent 0: a " + it + "\nagent 1: a " + it + "]");
  }
  if (is_root()) {
    EXPECT_EQ(answered_by(r.items[2].stages[0]), (std::vector<std::int64_t>{0, 1}));
    EXPECT_EQ(r.events.size(), 16u);
  } else {
    EXPECT_TRUE(r.items[0].stages.empty());
  }
}

TEST(MpiPipelineItems, ItemsStreamThroughStagesIndependently) {
  // One request at a time per agent, 300 ms each: stage "a" (agent 0) works through the items
  // one by one, and item 0 must reach stage "b" (agent 1) before item 2 has left stage "a".
  MockSwarm mock({"--count", "2", "--latency", "fixed:300", "--max-concurrent", "1"});
  Swarm s = mock.swarm();
  const std::vector<Stage> stages = {stage("a", "a {input}", 1), stage("b", "b {input}", 1)};
  const auto r = swarm::mpi::run_pipeline_items(s, stages, {"p", "q", "r"},
                                                {.reuse_agents = false, .record_events = true});
  ASSERT_EQ(r.items.size(), 3u);
  EXPECT_EQ(r.items[2].output, "agent 1: b agent 0: a r");
  if (is_root()) {
    const auto at = [&](const std::string& e) {
      return std::find(r.events.begin(), r.events.end(), e) - r.events.begin();
    };
    ASSERT_EQ(r.events.size(), 12u);
    EXPECT_LT(at("start 0 b"), at("done 2 a"));
    EXPECT_LT(at("start 1 b"), at("done 2 a"));
  }
}

TEST(MpiPipelineItems, AFailingItemStopsOnlyItself) {
  MockSwarm mock({"--count", "4"});
  Swarm s = mock.swarm();
  Stage a = stage("a", "a {input}", 0);
  a.transform = [](const std::vector<swarm::Response>& rs) -> std::string {
    if (rs.front().text.find("bad") != std::string::npos) throw std::runtime_error("no bad");
    return rs.back().text;
  };
  const std::vector<Stage> stages = {a, stage("b", "b {input}", 2)};
  const auto r = swarm::mpi::run_pipeline_items(s, stages, {"good", "bad", "fine"});
  ASSERT_EQ(r.items.size(), 3u);
  EXPECT_TRUE(r.events.empty());  // recorded only when asked for
  EXPECT_TRUE(r.items[0].success);
  EXPECT_EQ(r.items[0].output, "agent 0: b agent 3: a good\nagent 1: b agent 3: a good");
  EXPECT_FALSE(r.items[1].success);
  EXPECT_TRUE(r.items[1].output.empty());
  EXPECT_NE(r.items[1].error.find("'a'"), std::string::npos);
  EXPECT_NE(r.items[1].error.find("no bad"), std::string::npos);
  EXPECT_TRUE(r.items[2].success);
  if (is_root()) {
    EXPECT_FALSE(r.items[1].stages[1].ran);
  }
  // Dead agents: the stage fails for every item, nobody hangs.
  MockSwarm dead({"--count", "2", "--dead-agents", "0,1"});
  Swarm d = dead.swarm();
  const auto f = swarm::mpi::run_pipeline_items(d, {stage("x", "{input}", 0)}, {"1", "2"});
  ASSERT_EQ(f.items.size(), 2u);
  EXPECT_FALSE(f.items[1].success);
  EXPECT_NE(f.items[1].error.find("all 2 agents failed"), std::string::npos);
}

}  // namespace

namespace {

// The first stage's whole backlog is ready at once. With the pool's cap (global, or per agent)
// filled, a freed slot must go to an item's next stage before the next item's first stage, or
// later stages wait behind every first-stage request and streaming turns into stage-by-stage.
void expect_later_stages_go_first(swarm::PoolOptions o) {
  MockSwarm mock({"--count", "2", "--latency", "fixed:40"});
  o.model = "mock-model";
  o.model_max_context = 32768;
  o.retries = 0;
  Swarm s = Swarm::from_hostfile(Communicator(), mock.hostfile(), o);
  Stage b = stage("b", "b {input}", 0);
  b.transform = transforms::first();
  Stage a = b;
  a.name = "a";
  a.prompt_template = "a {input}";
  const std::vector<std::string> items = {"0", "1", "2", "3", "4", "5", "6", "7"};
  // Both stages on both agents.
  const auto r = swarm::mpi::run_pipeline_items(s, {a, b}, items, {.record_events = true});
  ASSERT_EQ(r.items.size(), items.size());
  for (std::size_t k = 0; k < items.size(); ++k) {
    EXPECT_EQ(r.items[k].output, "agent 0: b agent 0: a " + items[k]) << r.items[k].error;
  }
  if (is_root()) {
    const auto at = [&](const std::string& e) {
      return std::find(r.events.begin(), r.events.end(), e) - r.events.begin();
    };
    ASSERT_EQ(r.events.size(), 4 * items.size());
    EXPECT_LT(at("done 0 b"), at("done 7 a"));
  }
}

TEST(MpiPipelineItems, OnItemReportsEachFinishedItemOnceOnTheRoot) {
  MockSwarm mock({"--count", "3"});
  Swarm s = mock.swarm();
  Stage a = stage("a", "a {input}", 1);
  a.filter = filters::regex("keep");  // "drop" items keep nothing...
  a.transform = [](const std::vector<swarm::Response>& rs) -> std::string {
    if (rs.empty()) throw std::runtime_error("nothing kept");  // ...and fail here
    return rs.front().text;
  };
  const std::vector<Stage> stages = {a, stage("b", "b {input}", 2)};
  const std::vector<std::string> items = {"keep0", "drop1", "keep2", "keep3", "drop4"};
  std::vector<std::size_t> seen;
  std::vector<bool> ok;
  const auto r = swarm::mpi::run_pipeline_items(
      s, stages, is_root() ? items : std::vector<std::string>{},
      {.reuse_agents = false, .on_item = [&](std::size_t i, const swarm::mpi::ItemResult& item) {
         seen.push_back(i);
         ok.push_back(item.success);
         EXPECT_EQ(item.output, item.success ? item.stages.back().output : "");
       }});
  ASSERT_EQ(r.items.size(), items.size());
  if (!is_root()) {
    EXPECT_TRUE(seen.empty());  // the root coordinates; others only serve
    return;
  }
  std::vector<std::size_t> sorted = seen;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, (std::vector<std::size_t>{0, 1, 2, 3, 4}));  // each once
  for (std::size_t k = 0; k < seen.size(); ++k) {
    EXPECT_EQ(ok[k], r.items[seen[k]].success) << "item " << seen[k];
    EXPECT_EQ(ok[k], items[seen[k]].starts_with("keep")) << "item " << seen[k];
  }
}

TEST(MpiPipelineItems, LaterStagesGoAheadOfTheBacklogAtThePoolCap) {
  swarm::PoolOptions o;
  o.concurrency = 2;
  expect_later_stages_go_first(o);
}

TEST(MpiPipelineItems, LaterStagesGoAheadOfTheBacklogAtThePerAgentCap) {
  swarm::PoolOptions o;
  o.per_agent_concurrency = 1;
  expect_later_stages_go_first(o);
}

}  // namespace
