// mpi::embed on the embedding agents of a mixed swarm: one vector per text, in input order,
// equal to what one AgentPool::embed_all gets from the same agents, at every rank count (the
// ctest entries run it at 1 and 3 ranks). The chat agents answer 503 to everything, so a
// request sent to one of them would fail the run.

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "mock_swarm.hpp"
#include "swarm/hostfile.hpp"
#include "swarm/mpi/embed.hpp"

namespace {

using swarm::mpi_test::MockSwarm;
using swarm::mpi_test::Swarm;

TEST(MpiEmbed, VectorsInInputOrderEqualOnePoolsAtAnyRankCount) {
  // Agents 1, 3, 5 embed; 0, 2, 4 are chat agents and dead.
  MockSwarm mock({"--count", "6", "--roles", "chat,embed", "--dead-agents", "0,2,4"});
  Swarm s = mock.swarm();
  Swarm embedders = s.by_tag("role", "embed");
  ASSERT_EQ(embedders.size(), 3U);
  std::vector<std::string> texts;
  for (int i = 0; i < 50; ++i) texts.push_back("text number " + std::to_string(i));
  swarm::mpi::EmbedOptions options;
  options.batch_size = 4;  // 13 requests, the last of 2 texts
  options.window = 12;     // 5 windows
  const auto got = swarm::mpi::embed(embedders, texts, options);
  if (!s.communicator().is_root()) {
    EXPECT_TRUE(got.empty());
    return;
  }
  std::vector<swarm::Endpoint> endpoints;
  for (const auto& e : swarm::parse_hostfile(mock.hostfile())) {
    if (e.tags.count("role") != 0 && e.tags.at("role") == "embed") endpoints.push_back(e);
  }
  swarm::AgentPool pool(endpoints, MockSwarm::options());
  const auto want = pool.embed_all(texts, 1);
  ASSERT_EQ(got.size(), texts.size());
  for (std::size_t i = 0; i < texts.size(); ++i) {
    SCOPED_TRACE(i);
    ASSERT_TRUE(got[i].response.success) << got[i].response.error;
    ASSERT_TRUE(want[i].response.success) << want[i].response.error;
    EXPECT_EQ(got[i].vector, want[i].vector);  // bit for bit
    EXPECT_EQ(got[i].vector.size(), 16U);
    EXPECT_GE(got[i].response.agent_index, 0);
    EXPECT_LT(got[i].response.agent_index, 3);
    EXPECT_TRUE(got[i].response.body.empty());
  }
  EXPECT_NE(got[0].vector, got[1].vector);
}

TEST(MpiEmbed, RefusesBadBatchSizes) {
  MockSwarm mock({"--count", "2", "--roles", "embed"});
  Swarm s = mock.swarm();
  swarm::mpi::EmbedOptions options;
  options.batch_size = 0;
  const std::vector<std::string> texts = {"a"};
  EXPECT_THROW((void)swarm::mpi::embed(s, texts, options), std::invalid_argument);
  options.batch_size = 1025;
  EXPECT_THROW((void)swarm::mpi::embed(s, texts, options), std::invalid_argument);
}

}  // namespace
