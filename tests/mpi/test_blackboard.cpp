// Blackboard over MPI windows at 1-4 ranks against the mock: the seed's cases, in-round section
// ordering, identical boards whatever the rank count, failures mid-round, window growth.

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "http_client.hpp"
#include "mock_swarm.hpp"
#include "swarm/mpi/blackboard.hpp"

namespace {

using swarm::mpi::Blackboard;
using swarm::mpi::BoardState;
using swarm::mpi_test::Communicator;
using swarm::mpi_test::MockSwarm;
using swarm::mpi_test::Swarm;

// Proposers get "propose <round>"; critics get the hypotheses on the board as they stand.
std::string prompt_for(const std::string& section, const BoardState& board) {
  if (section == "hypotheses") return "propose " + std::to_string(board.round() + 1);
  std::string p = "critique:";
  for (const auto& h : board.texts("hypotheses")) p += " [" + h + "]";
  return p;
}

// 4 agents alternating roles: 0 and 2 propose, 1 and 3 criticise.
std::vector<std::string> roles() {
  return {"--count", "4", "--roles", "hypotheses,critiques"};
}

TEST(MpiBlackboard, TwoProposersTwoCriticsTwoRounds) {
  MockSwarm mock(roles());
  Swarm s = mock.swarm();
  Blackboard board(s, {"hypotheses", "critiques"}, prompt_for);
  const auto final_board = board.run(2);
  EXPECT_EQ(board.round(), 2);
  EXPECT_EQ(board.stop_reason(), swarm::mpi::StopReason::max_rounds);

  const std::vector<std::string> hyps = {"agent 0: propose 1", "agent 2: propose 1",
                                         "agent 0: propose 2", "agent 2: propose 2"};
  EXPECT_EQ(final_board.texts("hypotheses"), hyps);
  const auto crits = final_board.texts("critiques");
  ASSERT_EQ(crits.size(), 4u);
  // In-round ordering: round 1's critics already see round 1's hypotheses (and nothing else).
  EXPECT_EQ(crits[0], "agent 1: critique: [agent 0: propose 1] [agent 2: propose 1]");
  EXPECT_EQ(crits[1], "agent 3: critique: [agent 0: propose 1] [agent 2: propose 1]");
  EXPECT_EQ(crits[3], "agent 3: critique: [" + hyps[0] + "] [" + hyps[1] + "] [" + hyps[2] + "] [" +
                          hyps[3] + "]");
  // Board order: round, then section, then agent.
  const auto& e = final_board.entries();
  ASSERT_EQ(e.size(), 8u);
  EXPECT_EQ(e[0].round, 1u);
  EXPECT_EQ(e[2].section, 1u);
  EXPECT_EQ(e[3].agent, 3);
  EXPECT_EQ(e[4].round, 2u);

  const auto snap = board.snapshot();
  EXPECT_EQ(snap["round"], 2);
  EXPECT_EQ(snap["board"]["hypotheses"].size(), 4u);
  EXPECT_EQ(snap["board"]["critiques"].size(), 4u);
  EXPECT_EQ(board.answers_ok(), 8u);
  EXPECT_EQ(board.answers_failed(), 0u);
}

TEST(MpiBlackboard, ConvergenceAfterRoundOneStopsThere) {
  MockSwarm mock(roles());
  Swarm s = mock.swarm();
  Blackboard board(s, {"hypotheses", "critiques"}, prompt_for);
  int calls = 0;
  const auto final_board = board.run(5, [&](const BoardState& b) {
    ++calls;  // evaluated on rank 0 only
    return b.round() >= 1;
  });
  EXPECT_EQ(board.round(), 1);
  EXPECT_EQ(board.stop_reason(), swarm::mpi::StopReason::converged);
  EXPECT_EQ(final_board.texts("hypotheses").size(), 2u);
  EXPECT_EQ(final_board.texts("critiques").size(), 2u);
  EXPECT_EQ(calls, Communicator().is_root() ? 1 : 0);
}

TEST(MpiBlackboard, EveryRankReadsTheSameBoard) {
  MockSwarm mock({"--count", "7", "--roles", "hypotheses,critiques"});
  Swarm s = mock.swarm();
  Blackboard board(s, {"hypotheses", "critiques"}, prompt_for);
  board.run(2);
  const std::string mine = board.snapshot().dump();
  std::string roots = mine;
  swarm::mpi::broadcast_string(roots, Communicator());
  EXPECT_EQ(mine, roots);
  // And the same as a fixed expectation, so 1, 2, 3 and 4 ranks all agree.
  const auto hyps = board.read().texts("hypotheses");
  ASSERT_EQ(hyps.size(), 8u);  // agents 0, 2, 4, 6 over two rounds
  EXPECT_EQ(hyps[3], "agent 6: propose 1");
  EXPECT_EQ(hyps[4], "agent 0: propose 2");
}

TEST(MpiBlackboard, FailedAnswersAreSkippedAndCounted) {
  MockSwarm mock({"--count", "4", "--roles", "hypotheses,critiques", "--dead-agents", "2"});
  Swarm s = mock.swarm();
  Blackboard board(s, {"hypotheses", "critiques"}, prompt_for);
  const auto b = board.run(2);
  EXPECT_EQ(b.texts("hypotheses"),
            (std::vector<std::string>{"agent 0: propose 1", "agent 0: propose 2"}));
  EXPECT_EQ(b.texts("critiques")[0], "agent 1: critique: [agent 0: propose 1]");
  EXPECT_EQ(board.answers_failed(), 2u);
  EXPECT_EQ(board.answers_ok(), 6u);
}

TEST(MpiBlackboard, WindowGrowsPastItsInitialCapacity) {
  MockSwarm mock(roles());
  Swarm s = mock.swarm();
  Blackboard board(s, {"hypotheses", "critiques"}, prompt_for, /*initial_capacity=*/96);
  // Critiques quote the whole board: well past one page even for a rank with one critic.
  const auto b = board.run(20);
  EXPECT_GT(board.grow_count(), 0);
  EXPECT_EQ(b.texts("hypotheses").size(), 40u);
  EXPECT_EQ(b.texts("critiques").size(), 40u);
  EXPECT_EQ(b.texts("hypotheses")[23], "agent 2: propose 12");
  EXPECT_GT(board.capacity(), 4096u);
}

TEST(MpiBlackboard, InitialEntriesAndSectionsWithoutAgents) {
  MockSwarm mock(roles());
  Swarm s = mock.swarm();
  Blackboard board(s, {"hypotheses", "critiques", "judgements"}, prompt_for);
  board.seed({{"hypotheses", "seeded idea"}});
  std::vector<swarm::mpi::BoardStep> steps;
  const auto b =
      board.run(1, {}, [&](swarm::mpi::BoardStep&& st) { steps.push_back(std::move(st)); });
  EXPECT_EQ(b.texts("hypotheses").front(), "seeded idea");
  EXPECT_EQ(b.entries().front().round, 0u);
  EXPECT_TRUE(b.texts("judgements").empty());  // nobody has role=judgements: skipped
  EXPECT_EQ(b.texts("critiques")[0],
            "agent 1: critique: [seeded idea] [agent 0: propose 1] [agent 2: propose 1]");
  if (Communicator().is_root()) {
    ASSERT_EQ(steps.size(), 2u);
    EXPECT_EQ(steps[1].section, "critiques");
    ASSERT_EQ(steps[1].responses.size(), 2u);
    EXPECT_EQ(steps[1].responses[1].agent_index, 3);
  } else {
    EXPECT_TRUE(steps.empty());
  }
}

}  // namespace

namespace {

TEST(MpiBlackboard, OneAgentPoolPerRankSharedByEverySection) {
  MockSwarm mock(roles());
  swarm::PoolOptions o;  // no model: each pool asks /v1/models once
  o.retries = 0;
  Swarm s = Swarm::from_hostfile(Communicator(), mock.hostfile(), o);
  Blackboard board(s, {"hypotheses", "critiques"}, prompt_for);
  board.run(2);
  EXPECT_EQ(board.answers_ok(), 8u);
  // Ranks that drive agents: each made one pool (one engine, one lookup), not one per section.
  std::uint64_t ranks_with_agents = 0;
  for (int r = 0; r < Communicator().size(); ++r) ranks_with_agents += s.count_on(r) > 0 ? 1 : 0;
  if (Communicator().is_root()) {
    const auto m = swarm::mock::test::http_get(s.endpoint(0).url() + "/metrics").body;
    double lookups = 0;
    for (std::size_t a = 0; a < s.size(); ++a) {
      lookups += swarm::mock::test::metric(m, "aswarm_mock_requests_total{port=\"" +
                                                  std::to_string(s.endpoint(a).port) +
                                                  "\",route=\"/v1/models\"}");
    }
    EXPECT_EQ(lookups, static_cast<double>(ranks_with_agents));
  }
}

}  // namespace

namespace {

// A user's prompt or convergence function that throws on rank 0 ends run() with an exception
// on every rank, and the ranks stay in step: the next collective (another run) completes.
// Without the broadcast of the failure, rank 0 would leave and the others hang in its broadcast.
TEST(MpiBlackboard, AThrowingPromptFunctionThrowsOnEveryRank) {
  MockSwarm mock(roles());
  Swarm s = mock.swarm();
  Blackboard board(s, {"hypotheses", "critiques"}, [](const std::string& section, const BoardState& b) {
    if (section == "critiques" && b.round() == 1) throw std::invalid_argument("no critique in round 2");
    return prompt_for(section, b);
  });
  try {
    board.run(3);
    FAIL() << "run() returned";
  } catch (const std::invalid_argument& e) {  // rank 0: its own exception
    EXPECT_TRUE(Communicator().is_root());
    EXPECT_STREQ(e.what(), "no critique in round 2");
  } catch (const std::runtime_error& e) {  // the others: its message
    EXPECT_FALSE(Communicator().is_root());
    EXPECT_EQ(std::string(e.what()),
              "blackboard: rank 0's prompt function threw: no critique in round 2");
  }
  EXPECT_EQ(board.round(), 1);
  // Round 2's hypotheses were written before the critics' prompt failed; nothing after.
  EXPECT_EQ(board.read().texts("hypotheses").size(), 4u);
  EXPECT_EQ(board.read().texts("critiques").size(), 2u);
}

TEST(MpiBlackboard, AThrowingConvergenceFunctionThrowsOnEveryRank) {
  MockSwarm mock(roles());
  Swarm s = mock.swarm();
  Blackboard board(s, {"hypotheses", "critiques"}, prompt_for);
  const auto bad = [](const BoardState&) -> bool { throw std::runtime_error("cannot judge"); };
  try {
    board.run(3, bad);
    FAIL() << "run() returned";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), Communicator().is_root()
                                         ? std::string("cannot judge")
                                         : "blackboard: rank 0's convergence function threw: cannot judge");
  }
  EXPECT_EQ(board.round(), 1);
  // Still in step: a second run on every rank completes.
  board.run(1);
  EXPECT_EQ(board.round(), 2);
}

}  // namespace
