// The task farm at 1-4 ranks: the root posts tasks for agents on any rank, every answer comes
// back once with its task, position and swarm index, and close() ends every worker.

#include <map>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "mock_swarm.hpp"
#include "task_farm.hpp"

namespace {

using swarm::mpi::detail::FarmResult;
using swarm::mpi::detail::FarmTarget;
using swarm::mpi::detail::TaskFarm;
using swarm::mpi_test::MockSwarm;
using swarm::mpi_test::Swarm;

TEST(TaskFarm, EveryTargetAnswersOnceWhereverItsAgentIs) {
  MockSwarm mock({"--count", "5"});
  Swarm s = mock.swarm();
  std::map<std::pair<std::uint64_t, std::uint32_t>, swarm::Response> got;
  TaskFarm farm(s, 2, {}, [&](FarmResult&& r) {
    EXPECT_TRUE(got.emplace(std::make_pair(r.id, r.pos), std::move(r.response)).second);
  });
  if (!s.communicator().is_root()) {
    farm.serve();
    return;
  }
  const std::vector<FarmTarget> all = {{0, 0}, {1, 1}, {2, 2}, {3, 3}, {4, 4}};
  const std::vector<FarmTarget> some = {{4, 0}, {2, 1}};
  farm.post(0, 0, "first", all);
  farm.post(1, 1, "second", some);
  for (int guard = 0; guard < 20000 && got.size() < 7; ++guard) farm.step();
  farm.close();
  ASSERT_EQ(got.size(), 7u);
  for (const auto& t : all) {
    const auto& r = got.at({0, t.pos});
    EXPECT_EQ(r.text, "agent " + std::to_string(t.agent) + ": first");
    EXPECT_EQ(r.agent_index, static_cast<std::int64_t>(t.agent));
  }
  EXPECT_EQ(got.at({1, 0}).text, "agent 4: second");
  EXPECT_EQ(got.at({1, 1}).agent_index, 2);
}

}  // namespace
