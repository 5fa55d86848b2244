// tree_reduce and fan_out_fan_in under mpiexec at 1-4 ranks against a real aswarm-mock-agent.
// The mock's script answers "agent <k>: <prompt>", so the final text spells out the whole tree:
// every test compares it, the per-level counts and the mock's per-agent request counters with
// the seed's algorithm written independently (tree_reduce_reference.hpp), at every rank count:
// the result must not depend on `mpiexec -n`.

#include <mpi.h>

#include <optional>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include "swarm/mpi/pipeline.hpp"
#include "tree_reduce_reference.hpp"

namespace {

using swarm::mpi::Communicator;
using swarm::mpi::TreeReduceResult;
using tree_test::Expected;
using tree_test::kReducePrompt;
using tree_test::MockModel;
using tree_test::MockSwarm;

using Items = std::optional<std::vector<std::string>>;

bool is_root() {
  return Communicator().is_root();
}

std::vector<std::string> dead_args(const std::set<std::size_t>& dead) {
  std::vector<std::string> args;
  if (!dead.empty()) {
    std::string list;
    for (const auto a : dead) list += (list.empty() ? "" : ",") + std::to_string(a);
    args.insert(args.end(), {"--dead-agents", list});
  }
  return args;
}

void expect_matches(const TreeReduceResult& got, const Expected& want) {
  EXPECT_EQ(got.response.success, want.success) << got.response.error;
  EXPECT_EQ(got.response.text, want.text);
  if (want.success) {
    EXPECT_EQ(got.response.agent_index, want.agent);
  } else {
    EXPECT_EQ(got.response.error, "all agents failed during reduction");
  }
  EXPECT_EQ(got.levels, want.levels);
  EXPECT_EQ(got.levels.size(), static_cast<std::size_t>(want.supervisor_levels + 1));
  EXPECT_EQ(got.leaves_covered, want.leaves_covered);
}

/// Runs tree_reduce on a fresh mock and checks it against the seed's algorithm, including which
/// agent got how many prompts. Only the root passes the items and the real fanin; the other
/// ranks pass junk, which must not matter.
TreeReduceResult run_case(std::size_t agents, std::size_t fanin, const Items& items,
                          const std::string& prompt = "q", const std::set<std::size_t>& dead = {}) {
  MockSwarm mock(agents, dead_args(dead));
  auto s = mock.swarm();
  const MockModel model{.agents = agents, .dead = dead};
  const auto want = tree_test::seed_tree_reduce(model, prompt, fanin, items);

  std::optional<std::span<const std::string>> mine;
  if (items && is_root()) mine = std::span<const std::string>(*items);
  const auto got = swarm::mpi::tree_reduce(s, is_root() ? prompt : "ignored", kReducePrompt,
                                           is_root() ? fanin : 99, mine);
  expect_matches(got, want);
  if (is_root()) {
    EXPECT_EQ(mock.requests_per_agent(), want.calls);
  }
  return got;
}

Items numbered_items(std::size_t count, const std::string& prefix = "x") {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < count; ++i) out.push_back(prefix + std::to_string(i));
  return out;
}

TEST(MpiTreeReduce, SeedGroupingWithoutItems) {
  const auto r = run_case(7, 3, std::nullopt);
  EXPECT_TRUE(r.response.success);
  // 7 leaves -> groups {0,1,2} {3,4,5} {6} (supervised by agents 0, 3, 6, each its group's
  // first leaf) -> one group of 3: levels 1 and 2, 4 supervisor calls, at any rank count
  // (grouping by rank shards would give {0,1,2} {3,4} {5,6} at 3 ranks).
  ASSERT_EQ(r.levels.size(), 3u);
  EXPECT_EQ(r.levels[1].calls, 3u);
  EXPECT_EQ(r.levels[2].calls, 1u);
  EXPECT_EQ(r.response.text,
            "agent 0: sum 2: agent 0: sum 1: agent 0: q\n---\nagent 1: q\n---\nagent 2: q"
            "\n---\nagent 3: sum 1: agent 3: q\n---\nagent 4: q\n---\nagent 5: q"
            "\n---\nagent 6: sum 1: agent 6: q");
}

TEST(MpiTreeReduce, DeepTreeWithFaninTwo) {
  const auto r = run_case(9, 2, std::nullopt);
  EXPECT_TRUE(r.response.success);
  EXPECT_EQ(r.levels.size(), 5u);  // 9 -> 5 -> 3 -> 2 -> 1
}

TEST(MpiTreeReduce, ItemsGoToAgentIModNAndReduceInItemOrder) {
  const auto r = run_case(4, 3, numbered_items(11), "item: {item}");
  EXPECT_TRUE(r.response.success);
  EXPECT_EQ(r.levels[0].calls, 11u);
}

TEST(MpiTreeReduce, RanksWithoutAgents) {
  // At 3 and 4 ranks some ranks hold no agent; they get the result all the same.
  run_case(2, 2, std::nullopt);
  run_case(2, 2, numbered_items(5), "item: {item}");
}

TEST(MpiTreeReduce, ALoneLeafIsTheAnswerWithoutASupervisor) {
  const auto r = run_case(1, 50, std::nullopt);
  EXPECT_EQ(r.response.text, "agent 0: q");
  EXPECT_EQ(r.levels.size(), 1u);
}

TEST(MpiTreeReduce, FailedAndBlankLeavesAreDropped) {
  // Agent 2 is dead; the script answers items starting with "blank" with whitespace.
  const Items items =
      std::vector<std::string>{"a", "blank1", "b", "c", "blank2", "d", "e", "f", "g", "h"};
  const auto r = run_case(6, 2, items, "{item}", {2});
  EXPECT_TRUE(r.response.success);
  EXPECT_EQ(r.levels[0].failed, 2u);  // items 2 and 8
  EXPECT_EQ(r.levels[0].blank, 2u);
  EXPECT_EQ(r.levels[0].ok, 6u);
  EXPECT_EQ(r.response.text.find("blank"), std::string::npos);
}

TEST(MpiTreeReduce, AFailedSupervisorDropsItsGroup) {
  // Leaves of agents 0, 1, 3, 4; group 1 of level 1 ({3, 4}) goes to agent 1 * 2 = dead agent 2.
  const auto r = run_case(5, 2, std::nullopt, "q", {2});
  EXPECT_TRUE(r.response.success);
  EXPECT_EQ(r.levels[1].calls, 2u);
  EXPECT_EQ(r.levels[1].failed, 1u);
  EXPECT_EQ(r.response.text, "agent 0: sum 1: agent 0: q\n---\nagent 1: q");
  EXPECT_EQ(r.leaves_covered, 2u);  // of the 4 leaves that answered: {3, 4} were dropped
}

TEST(MpiTreeReduce, AllFailedIsTheSameFailureOnEveryRank) {
  const auto dead = run_case(3, 2, std::nullopt, "q", {0, 1, 2});
  EXPECT_FALSE(dead.response.success);
  EXPECT_EQ(dead.levels[0].failed, 3u);
  const auto blank = run_case(3, 2, numbered_items(4, "blank"), "{item}");
  EXPECT_FALSE(blank.response.success);
  EXPECT_EQ(blank.levels[0].blank, 4u);
}

TEST(MpiTreeReduce, PlaceholdersInAnswersAreNotFilledAgain) {
  // Leaf answers quote {level}, {responses} and {item}; supervisors must see them verbatim.
  const auto r = run_case(4, 2, std::nullopt, "q {level} {responses} {item}");
  EXPECT_NE(r.response.text.find("q {level} {responses} {item}"), std::string::npos);
}

TEST(MpiTreeReduce, SweepOverSizesAndFanins) {
  // One mock, swarms of its first n agents: every small shape against the seed.
  constexpr std::size_t kAgents = 6;
  MockSwarm mock(kAgents, {});
  std::vector<std::uint64_t> calls(kAgents);
  for (std::size_t n = 1; n <= kAgents; ++n) {
    auto s = mock.swarm(n);
    for (std::size_t fanin = 2; fanin <= 4; ++fanin) {
      for (const Items& items : {Items{}, numbered_items(7)}) {
        SCOPED_TRACE(testing::Message() << "n=" << n << " fanin=" << fanin << " items=" << !!items);
        const MockModel model{.agents = n};
        const std::string prompt = items ? "item {item}" : "q";
        const auto want = tree_test::seed_tree_reduce(model, prompt, fanin, items);
        std::optional<std::span<const std::string>> mine;
        if (items) mine = std::span<const std::string>(*items);
        expect_matches(swarm::mpi::tree_reduce(s, prompt, kReducePrompt, fanin, mine), want);
        for (std::size_t a = 0; a < n; ++a) calls[a] += want.calls[a];
      }
    }
  }
  if (is_root()) {
    EXPECT_EQ(mock.requests_per_agent(), calls);
  }
}

std::uint64_t total(const std::vector<std::uint64_t>& v) {
  std::uint64_t sum = 0;
  for (const auto x : v) sum += x;
  return sum;
}

TEST(MpiTreeReduce, TheSeedsLargeExampleCapsCharactersAndShowsEveryLevel) {
  // tree_reduce_coli.py's caps, in characters (the items are two-byte letters): leaf answers
  // "agent i: \u00e9\u00e9\u00e9\u00e9i" (14 characters) go up as their first 12 and "...";
  // level 2's joined input (107 characters) is cut to 80 - 60 and the seed's note.
  MockSwarm mock(4, {});
  auto s = mock.swarm();
  std::vector<std::string> items;
  for (int i = 0; i < 4; ++i) items.push_back("\u00e9\u00e9\u00e9\u00e9" + std::to_string(i));
  std::vector<std::tuple<int, std::uint64_t, std::string>> shown;
  swarm::mpi::TreeReduceOptions o{.fanin = 2, .max_response_chars = 12, .max_reduce_input_chars = 80};
  if (is_root()) {
    o.items = std::span<const std::string>(items);
    o.on_level_output = [&shown](int level, std::uint64_t group, const swarm::Response& r) {
      shown.emplace_back(level, group, r.text);
    };
  }
  const auto got = swarm::mpi::tree_reduce(s, "{item}", kReducePrompt, o);
  const auto leaf = [](int i) { return "agent " + std::to_string(i) + ": \u00e9\u00e9\u00e9..."; };
  const std::string g0 = "agent 0: " + tree_test::reduce_text(1, {leaf(0), leaf(1)});
  const std::string g1 = "agent 2: " + tree_test::reduce_text(1, {leaf(2), leaf(3)});
  ASSERT_EQ(g0.size(), 51u + 6u);  // 51 characters, 6 of them two bytes long
  const std::string final_text =
      "agent 0: sum 2: " + g0.substr(0, 20) + "\n... [input truncated to fit model context]";
  ASSERT_TRUE(got.response.success) << got.response.error;
  EXPECT_EQ(got.response.text, final_text);
  EXPECT_EQ(got.leaves_covered, 4u);
  if (is_root()) {
    const std::vector<std::tuple<int, std::uint64_t, std::string>> want = {
        {1, 0, g0}, {1, 1, g1}, {2, 0, final_text}};
    EXPECT_EQ(shown, want);
  }
}

TEST(MpiTreeReduce, AGroupBudgetSizesEachSupervisorsMaxTokens) {
  // The seed's rule: max_tokens = 3 per member x 2 members + 1 = 7 for every supervisor; the
  // mock cuts an answer at max_tokens words, so each summary keeps its first 7 words.
  MockSwarm mock(4, {});
  auto s = mock.swarm();
  std::vector<std::string> items{"aaaa0", "aaaa1", "aaaa2", "aaaa3"};
  swarm::mpi::TreeReduceOptions o{.fanin = 2,
                                  .group_budget = swarm::mpi::GroupBudget{3, 1}};
  if (is_root()) o.items = std::span<const std::string>(items);
  const auto got = swarm::mpi::tree_reduce(s, "{item}", kReducePrompt, o);
  ASSERT_TRUE(got.response.success) << got.response.error;
  // Level 1: "agent 0: sum 1: agent 0: aaaa0" (7 words of 11); level 2 likewise.
  EXPECT_EQ(got.response.text, "agent 0: sum 2: agent 0: sum");
  // Without it, the aggregation cap (2 x 8192) leaves the whole tree in the answer.
  const auto uncapped = swarm::mpi::tree_reduce(s, "{item}", kReducePrompt,
                                                swarm::mpi::TreeReduceOptions{.fanin = 2, .items = o.items});
  EXPECT_NE(uncapped.response.text.find("aaaa3"), std::string::npos) << uncapped.response.text;
}

TEST(MpiTreeReduce, ResumeStartsAtTheLowestLevelEveryRankSaved) {
  // 8 leaves, fanin 2: levels 0..3 with 4, 2, 1 supervisor calls. A kill can leave the ranks
  // one level apart: rank 0 hands back what it saved after level 2, the others after level 1.
  // The run must continue at level 2 (level 3 alone at one rank) and give the same answer.
  MockSwarm mock(8, {});
  auto s = mock.swarm();
  std::vector<std::vector<char>> saved;
  swarm::mpi::ReduceCheckpoint keep;
  keep.save = [&](std::span<const char> r) { saved.emplace_back(r.begin(), r.end()); };
  const auto whole = swarm::mpi::tree_reduce(s, "q", kReducePrompt, 2, std::nullopt, {},
                                             {.aggregation = true}, keep);
  ASSERT_TRUE(whole.response.success);
  ASSERT_EQ(saved.size(), 4u);  // the leaves and each of the three levels
  const auto before = is_root() ? total(mock.requests_per_agent()) : 0;

  swarm::mpi::ReduceCheckpoint resume;
  resume.load = [&] { return is_root() ? saved[2] : saved[1]; };
  const auto resumed = swarm::mpi::tree_reduce(s, "q", kReducePrompt, 2, std::nullopt, {},
                                               {.aggregation = true}, resume);
  EXPECT_EQ(resumed.response.text, whole.response.text);
  EXPECT_EQ(resumed.levels, whole.levels);
  const bool alone = Communicator().size() == 1;
  if (is_root()) {
    EXPECT_EQ(total(mock.requests_per_agent()) - before, alone ? 1u : 3u);
  }

  // One rank without a record: every rank starts over (at one rank there is nobody else).
  if (alone) return;
  const auto again = is_root() ? total(mock.requests_per_agent()) : 0;
  swarm::mpi::ReduceCheckpoint partial;
  partial.load = [&] { return is_root() ? std::vector<char>{} : saved[3]; };
  const auto fresh = swarm::mpi::tree_reduce(s, "q", kReducePrompt, 2, std::nullopt, {},
                                             {.aggregation = true}, partial);
  EXPECT_EQ(fresh.response.text, whole.response.text);
  if (is_root()) {
    EXPECT_EQ(total(mock.requests_per_agent()) - again, 15u);
  }
}

TEST(MpiTreeReduce, BadArgumentsThrowOnEveryRank) {
  MockSwarm mock(2, {});
  auto s = mock.swarm();
  // fanin is the root's: every rank throws even though only the root passed 1.
  EXPECT_THROW((void)swarm::mpi::tree_reduce(s, "q", kReducePrompt, is_root() ? 1 : 50),
               std::invalid_argument);
  auto none = s.slice(0, 0);
  EXPECT_THROW((void)swarm::mpi::tree_reduce(none, "q", kReducePrompt), std::logic_error);
  EXPECT_THROW((void)swarm::mpi::fan_out_fan_in(none, "q", kReducePrompt), std::logic_error);
  if (is_root()) {
    EXPECT_EQ(mock.requests_per_agent(), (std::vector<std::uint64_t>{0, 0}));
  }
}

TEST(MpiFanOutFanIn, TheFirstWorkersAnswerThenAgentZeroCollects) {
  MockSwarm mock(5, dead_args({3}));
  auto s = mock.swarm();
  const auto w = [](int k) { return "agent " + std::to_string(k) + ": p"; };
  const std::string sep = "\n---\n";

  auto r = swarm::mpi::fan_out_fan_in(s, "p", "collect: {responses}", 3);
  EXPECT_TRUE(r.success) << r.error;
  EXPECT_EQ(r.text, "agent 0: collect: " + w(0) + sep + w(1) + sep + w(2));
  EXPECT_EQ(r.agent_index, 0);

  // All workers by default; dead agent 3's failure is left out, as in the seed.
  r = swarm::mpi::fan_out_fan_in(s, "p", "collect: {responses}");
  EXPECT_EQ(r.text, "agent 0: collect: " + w(0) + sep + w(1) + sep + w(2) + sep + w(4));

  // More workers than agents means all of them; zero workers leaves {responses} empty.
  r = swarm::mpi::fan_out_fan_in(s, "p", "collect: {responses}", 100);
  EXPECT_EQ(r.text, "agent 0: collect: " + w(0) + sep + w(1) + sep + w(2) + sep + w(4));
  r = swarm::mpi::fan_out_fan_in(s, "p", "collect: {responses}", 0);
  EXPECT_EQ(r.text, "agent 0: collect: ");
  if (is_root()) {
    EXPECT_EQ(mock.requests_per_agent(), (std::vector<std::uint64_t>{3 + 4, 3, 3, 2, 2}));
  }
}

}  // namespace
