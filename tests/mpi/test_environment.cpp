// Smoke tests of the swarm::mpi RAII layer, run at 1-4 ranks.

#include <mpi.h>

#include <string>

#include <gtest/gtest.h>

#include "swarm/mpi/communicator.hpp"
#include "swarm/mpi/environment.hpp"
#include "swarm/mpi/error.hpp"
#include "swarm/mpi/shard.hpp"
#include "swarm/mpi/strings.hpp"

namespace {

TEST(MpiEnvironment, NestedEnvironmentDoesNotOwnOrFinalize) {
  // The test main already initialised MPI, as a host application embedding swarm::mpi would.
  {
    swarm::mpi::Environment nested;
    EXPECT_FALSE(nested.owns_mpi());
    EXPECT_TRUE(swarm::mpi::Environment::active());
    EXPECT_GE(nested.thread_level(), MPI_THREAD_FUNNELED);
  }
  // Destroying the non-owning environment must leave MPI usable.
  EXPECT_TRUE(swarm::mpi::Environment::active());
  int sum = 0;
  const int one = 1;
  ASSERT_EQ(MPI_Allreduce(&one, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD), MPI_SUCCESS);
  int size = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  EXPECT_EQ(sum, size);
}

TEST(MpiCommunicator, RankAndSizeMatchMpi) {
  const swarm::mpi::Communicator world;
  int rank = -1;
  int size = -1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  EXPECT_EQ(world.rank(), rank);
  EXPECT_EQ(world.size(), size);
  EXPECT_EQ(world.is_root(), rank == 0);
  EXPECT_EQ(world.mpi_communicator(), MPI_COMM_WORLD);

  // Every rank reports a distinct rank: the sum of ranks is size*(size-1)/2.
  int sum = 0;
  MPI_Allreduce(&rank, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  EXPECT_EQ(sum, size * (size - 1) / 2);
  world.barrier();
}

TEST(MpiCommunicator, ViewOfSubCommunicator) {
  // Embedding codes hand aswarm a sub-communicator; the view must report ranks within it.
  const swarm::mpi::Communicator world;
  MPI_Comm half = MPI_COMM_NULL;
  ASSERT_EQ(MPI_Comm_split(MPI_COMM_WORLD, world.rank() % 2, world.rank(), &half), MPI_SUCCESS);
  {
    const swarm::mpi::Communicator sub(half);
    EXPECT_EQ(sub.rank(), world.rank() / 2);
    EXPECT_EQ(sub.size(), (world.size() + 1 - world.rank() % 2) / 2);
    sub.barrier();
  }
  MPI_Comm_free(&half);  // the view never frees what it was handed
}

TEST(MpiError, CheckTurnsErrorCodesIntoExceptionsWithMpiText) {
  // The test main's Environment set MPI_ERRORS_RETURN on MPI_COMM_WORLD, so a bad call returns.
  const swarm::mpi::Communicator world;
  int bad_root = world.size() + 5;
  int value = 0;
  try {
    swarm::mpi::check(MPI_Bcast(&value, 1, MPI_INT, bad_root, MPI_COMM_WORLD), "MPI_Bcast");
    FAIL() << "expected swarm::mpi::Error";
  } catch (const swarm::mpi::Error& e) {
    EXPECT_NE(e.code(), MPI_SUCCESS);
    const std::string what = e.what();
    EXPECT_EQ(what.rfind("MPI_Bcast: ", 0), 0u) << what;
    EXPECT_EQ(what, "MPI_Bcast: " + swarm::mpi::error_string(e.code()));
    EXPECT_GT(what.size(), std::string("MPI_Bcast: ").size());
  }
  EXPECT_NO_THROW(swarm::mpi::check(MPI_SUCCESS, "MPI_Barrier"));
}

TEST(MpiError, ErrorStringOfKnownCodes) {
  EXPECT_NE(swarm::mpi::error_string(MPI_ERR_COMM).find("comm"), std::string::npos)
      << swarm::mpi::error_string(MPI_ERR_COMM);
}

TEST(MpiStrings, BroadcastReachesEveryRank) {
  const swarm::mpi::Communicator world;
  std::string text = world.is_root() ? std::string("prompt with\0nul and ünïcode", 27) : "stale";
  swarm::mpi::broadcast_string(text, world);
  EXPECT_EQ(text, std::string("prompt with\0nul and ünïcode", 27));

  std::string empty = world.is_root() ? "" : "stale";
  swarm::mpi::broadcast_string(empty, world);
  EXPECT_TRUE(empty.empty());
}

TEST(MpiShard, BlocksCoverEveryAgentOnceInOrder) {
  for (std::int64_t n : {0, 1, 3, 10, 64, 1001}) {
    for (int size : {1, 2, 3, 4, 64}) {
      std::int64_t next = 0;
      for (int r = 0; r < size; ++r) {
        const auto b = swarm::mpi::block_of(n, size, r);
        EXPECT_EQ(b.begin, next) << "n=" << n << " size=" << size << " rank=" << r;
        EXPECT_LE(b.count, n / size + 1);
        EXPECT_GE(b.count, n / size);
        next += b.count;
      }
      EXPECT_EQ(next, n) << "n=" << n << " size=" << size;
    }
  }
  // The first N % R ranks take the extra agent.
  EXPECT_EQ(swarm::mpi::block_of(10, 4, 0), (swarm::mpi::Block{0, 3}));
  EXPECT_EQ(swarm::mpi::block_of(10, 4, 1), (swarm::mpi::Block{3, 3}));
  EXPECT_EQ(swarm::mpi::block_of(10, 4, 2), (swarm::mpi::Block{6, 2}));
  EXPECT_EQ(swarm::mpi::block_of(10, 4, 3), (swarm::mpi::Block{8, 2}));
  EXPECT_EQ(swarm::mpi::block_of(2, 4, 3), (swarm::mpi::Block{2, 0}));
}

}  // namespace
