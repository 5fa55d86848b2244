// Swarm and selections under mpiexec at 1-4 ranks, against a real
// aswarm-mock-agent started by rank 0. The mock's script answers "agent <k>: <prompt>", so every
// test sees which hostfile agent answered which prompt; results must not depend on the number
// of ranks.

#include <mpi.h>

#include <algorithm>
#include <memory>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "mock_swarm.hpp"
#include "swarm/hostfile.hpp"
#include "swarm/mpi/broadcast.hpp"
#include "swarm/mpi/scatter_gather.hpp"
#include "swarm/mpi/strings.hpp"
#include "swarm/mpi/swarm.hpp"

namespace {

using swarm::Response;
using swarm::mock::test::TempDir;
using swarm::mpi::Communicator;
using swarm::mpi::Swarm;
using swarm::mpi_test::MockSwarm;
using swarm::mpi_test::who;

TEST(MpiSwarm, EveryRankKnowsAllEndpointsAndItsBlock) {
  MockSwarm mock({"--count", "10"});
  Swarm s = mock.swarm();
  const Communicator world;
  ASSERT_EQ(s.size(), 10u);
  const auto block = swarm::mpi::block_of(10, world.size(), world.rank());
  std::vector<std::size_t> expected(static_cast<std::size_t>(block.count));
  std::iota(expected.begin(), expected.end(), static_cast<std::size_t>(block.begin));
  EXPECT_EQ(s.local_agents(), expected);
  for (std::size_t a = 0; a < 10; ++a) {
    const auto owner = s.owner_of(a);
    const auto b = swarm::mpi::block_of(10, world.size(), owner);
    EXPECT_GE(static_cast<std::int64_t>(a), b.begin);
    EXPECT_LT(static_cast<std::int64_t>(a), b.begin + b.count);
  }
  // The endpoint list is identical everywhere: compare each rank's text with the root's.
  std::vector<swarm::Endpoint> mine;
  for (std::size_t a = 0; a < s.size(); ++a) mine.push_back(s.endpoint(a));
  const std::string text = swarm::format_hostfile(mine);
  std::string root_text = text;
  swarm::mpi::broadcast_string(root_text, world);
  EXPECT_EQ(text, root_text);
}

TEST(MpiSwarm, BadHostfileGivesTheSameErrorOnEveryRank) {
  const Communicator world;
  std::string path;
  TempDir dir;  // each rank has its own; only the root's file is read
  if (world.is_root()) {
    path = (dir.path() / "bad.hostfile").string();
    swarm::mock::test::write_file(path, "a:1\nb:99999\n");
  }
  swarm::mpi::broadcast_string(path, world);
  try {
    (void)Swarm::from_hostfile(world, path);
    FAIL() << "no error";
  } catch (const swarm::HostfileError& e) {
    EXPECT_EQ(std::string(e.what()), path + ":2: port 99999 is out of range (1-65535)");
    EXPECT_EQ(e.line(), 2u);
  }
  try {
    (void)Swarm::from_hostfile(world, path + ".missing");
    FAIL() << "no error";
  } catch (const swarm::HostfileError& e) {
    EXPECT_EQ(std::string(e.what()),
              path + ".missing: cannot read hostfile: No such file or directory");
  }
}

TEST(MpiSelections, ViewsKeepTheirAgentsRanksAndMapToTheirOwnAgents) {
  MockSwarm mock({"--count", "6", "--roles", "a,b"});
  Swarm s = mock.swarm();
  Swarm b = s.by_tag("role", "b");  // hostfile agents 1, 3, 5
  ASSERT_EQ(b.size(), 3u);
  // A view renumbers its agents but each stays with the rank that drives its hostfile position.
  std::vector<std::size_t> mine;
  for (std::size_t k = 0; k < b.size(); ++k) {
    EXPECT_EQ(b.owner_of(k), s.owner_of(b.hostfile_index(k))) << k;
    if (b.is_mine(k)) mine.push_back(k);
  }
  EXPECT_EQ(b.local_agents(), mine);
  std::vector<std::string> prompts = {"p0", "p1", "p2", "p3"};
  auto results = swarm::mpi::scatter_gather(b, prompts);
  if (Communicator().is_root()) {
    EXPECT_EQ(results[0].text, who(1, "p0"));
    EXPECT_EQ(results[1].text, who(3, "p1"));
    EXPECT_EQ(results[2].text, who(5, "p2"));
    EXPECT_EQ(results[3].text, who(1, "p3"));
    EXPECT_EQ(results[1].agent_index, 1);  // index within the view
  }
  const std::vector<std::size_t> picks = {4, 0};
  Swarm selected = s.select(picks);
  auto chosen = swarm::mpi::broadcast(selected, "s");
  Swarm sliced = s.slice(2, 5);
  auto sl = swarm::mpi::broadcast(sliced, "t");
  Swarm sampled = s.sample(3, 11);
  auto sa = swarm::mpi::broadcast(sampled, "u");
  if (Communicator().is_root()) {
    EXPECT_EQ(chosen[0].text, who(4, "s"));
    EXPECT_EQ(chosen[1].text, who(0, "s"));
    ASSERT_EQ(sl.size(), 3u);
    EXPECT_EQ(sl[0].text, who(2, "t"));
    EXPECT_EQ(sl[2].text, who(4, "t"));
    ASSERT_EQ(sa.size(), 3u);
  }
  // The sample is the same on every rank: compare each rank's endpoint ports with the root's.
  std::string ports;
  for (std::size_t k = 0; k < sampled.size(); ++k)
    ports += std::to_string(sampled.endpoint(k).port) + ",";
  std::string root_ports = ports;
  swarm::mpi::broadcast_string(root_ports, Communicator());
  EXPECT_EQ(ports, root_ports);
}

TEST(MpiSelections, EmptyViewIsRejectedOnEveryRank) {
  MockSwarm mock({"--count", "2"});
  Swarm s = mock.swarm();
  Swarm none = s.by_tag("role", "nobody");
  EXPECT_EQ(none.size(), 0u);
  const std::vector<std::string> prompts = {"x"};
  EXPECT_THROW(swarm::mpi::scatter_gather(none, prompts), std::logic_error);
  EXPECT_THROW(swarm::mpi::broadcast_and_reduce(none, "x", "y"), std::logic_error);
}

}  // namespace
