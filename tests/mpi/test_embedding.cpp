// swarm::mpi embedded in an MPI code that keeps its own point-to-point traffic on the same
// communicator (MPI_COMM_WORLD) before, during and after a streaming pipeline run: messages
// with the farm's own tag numbers and the old hard-coded ones (7301-7303) are in flight in both
// directions, and neither side may lose, steal or reorder a message.

#include <mpi.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "mock_swarm.hpp"
#include "swarm/mpi/pipeline.hpp"

namespace {

using swarm::mpi::Stage;
using swarm::mpi_test::Communicator;
using swarm::mpi_test::MockSwarm;
using swarm::mpi_test::Swarm;

const std::vector<int> kHostTags = {1, 2, 3, 7301, 7302, 7303};

std::string host_text(int from, int to, int tag) {
  return "host " + std::to_string(from) + "->" + std::to_string(to) + " tag " + std::to_string(tag);
}

/// The host program's own sends; buffers live until MPI is done with them.
struct HostSends {
  std::vector<std::unique_ptr<std::string>> buffers;
  std::vector<MPI_Request> requests;
  void send(std::string text, int to, int tag) {
    buffers.push_back(std::make_unique<std::string>(std::move(text)));
    requests.emplace_back();
    MPI_Isend(buffers.back()->data(), static_cast<int>(buffers.back()->size()), MPI_CHAR, to, tag,
              MPI_COMM_WORLD, &requests.back());
  }
  ~HostSends() {
    MPI_Waitall(static_cast<int>(requests.size()), requests.data(), MPI_STATUSES_IGNORE);
  }
};

std::string host_receive(int from, int tag) {
  MPI_Status st;
  MPI_Probe(from, tag, MPI_COMM_WORLD, &st);
  int n = 0;
  MPI_Get_count(&st, MPI_CHAR, &n);
  std::string text(static_cast<std::size_t>(n), '\0');
  MPI_Recv(text.data(), n, MPI_CHAR, from, tag, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  return text;
}

TEST(MpiEmbedding, HostPointToPointTrafficSurvivesAStreamingPipeline) {
  MockSwarm mock({"--count", "3"});
  Swarm s = mock.swarm();
  const Communicator world;
  const int me = world.rank();
  HostSends host;
  for (int to = 0; to < world.size(); ++to) {
    if (to == me) continue;
    for (const int tag : kHostTags) host.send(host_text(me, to, tag), to, tag);
  }

  Stage a;
  a.name = "a";
  a.prompt_template = "a {input}";
  Stage b;
  b.name = "b";
  b.prompt_template = "b {input}";
  b.n_agents = 1;
  const std::vector<std::string> items = {"i0", "i1", "i2", "i3", "i4"};
  swarm::mpi::ItemsOptions options;
  // The root's callback runs inside the pipeline: the host talks to rank 1 during the run.
  options.on_item = [&](std::size_t i, const swarm::mpi::ItemResult&) {
    host.send("item " + std::to_string(i), 1, 2);
  };
  const auto r = swarm::mpi::run_pipeline_items(
      s, {a, b}, world.is_root() ? items : std::vector<std::string>{}, options);
  ASSERT_EQ(r.items.size(), items.size());
  for (std::size_t k = 0; k < items.size(); ++k) {
    EXPECT_TRUE(r.items[k].success) << r.items[k].error;
    const std::string in = items[k];
    EXPECT_EQ(r.items[k].output,
              "agent 0: b agent 0: a " + in + "\nagent 1: a " + in + "\nagent 2: a " + in);
  }

  for (int from = 0; from < world.size(); ++from) {
    if (from == me) continue;
    for (const int tag : kHostTags) EXPECT_EQ(host_receive(from, tag), host_text(from, me, tag));
  }
  if (me == 1) {  // after the root's first tag-2 message: one per item, in finishing order
    std::vector<bool> seen(items.size(), false);
    for (std::size_t k = 0; k < items.size(); ++k) {
      const auto text = host_receive(0, 2);
      ASSERT_EQ(text.rfind("item ", 0), 0u) << text;
      seen.at(std::stoul(text.substr(5))) = true;
    }
    EXPECT_EQ(std::count(seen.begin(), seen.end(), true), static_cast<long>(items.size()));
  }
  int stray = 0;
  MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &stray, MPI_STATUS_IGNORE);
  EXPECT_EQ(stray, 0) << "a message nobody sent to the host";
}

}  // namespace
