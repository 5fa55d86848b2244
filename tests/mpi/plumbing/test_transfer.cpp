// Byte transfers at 1-4 ranks: the two-step scatter and gather, broadcasts and point-to-point
// messages, each through the int-count calls and, with a small artificial threshold, through
// the MPI-4 large-count calls a payload past 2 GiB takes.

#include <mpi.h>

#include <climits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "byte_transfer.hpp"
#include "private_comm.hpp"
#include "progress.hpp"
#include "swarm/mpi/communicator.hpp"
#include "transport.hpp"

namespace {

using namespace swarm::mpi::detail;  // NOLINT(google-build-using-namespace): the code under test
using swarm::mpi::Communicator;

/// Lowers the large-count threshold on every rank for one test, and puts it back.
class Threshold {
 public:
  explicit Threshold(std::size_t bytes) { set_large_count_threshold(bytes); }
  ~Threshold() { set_large_count_threshold(static_cast<std::size_t>(INT_MAX)); }
  Threshold(const Threshold&) = delete;
  Threshold& operator=(const Threshold&) = delete;
};

std::vector<char> pattern(int rank, std::size_t n) {
  std::vector<char> v(n);
  for (std::size_t k = 0; k < n; ++k) v[k] = static_cast<char>('a' + (rank * 7 + k) % 26);
  return v;
}

class Transfers : public ::testing::TestWithParam<std::size_t> {
 protected:
  Threshold threshold_{GetParam()};
  Communicator world_;
  swarm::mpi::MpiStats stats_;
  Progress progress_{stats_};
};

TEST_P(Transfers, ScatterHandsEachRankItsBucketAndGatherBringsThemBack) {
  const PrivateComm comm(world_.mpi_communicator());
  const int ranks = world_.size();
  std::vector<char> all;
  std::vector<std::size_t> sizes;
  if (world_.is_root()) {
    for (int r = 0; r < ranks; ++r) {
      const auto bucket = pattern(r, 13 * static_cast<std::size_t>(r) + 9);
      all.insert(all.end(), bucket.begin(), bucket.end());
      sizes.push_back(bucket.size());
    }
  }
  const auto before = large_count_transfers();
  ByteScatter scatter(comm.get(), progress_, all, sizes);
  while (!scatter.test()) progress_.idle(true);
  EXPECT_EQ(scatter.received(),
            pattern(world_.rank(), 13 * static_cast<std::size_t>(world_.rank()) + 9));

  auto mine = scatter.received();
  mine.push_back('!');
  ByteGather gather(comm.get(), progress_, mine);
  while (!gather.test()) progress_.idle(true);
  ASSERT_EQ(gather.sizes().size(), static_cast<std::size_t>(ranks));
  if (world_.is_root()) {
    std::size_t offset = 0;
    for (int r = 0; r < ranks; ++r) {
      auto want = pattern(r, 13 * static_cast<std::size_t>(r) + 9);
      want.push_back('!');
      const auto size = static_cast<std::size_t>(gather.sizes()[static_cast<std::size_t>(r)]);
      ASSERT_EQ(size, want.size());
      EXPECT_EQ(std::vector<char>(gather.received().begin() + static_cast<long>(offset),
                                  gather.received().begin() + static_cast<long>(offset + size)),
                want);
      offset += size;
    }
    EXPECT_EQ(offset, gather.received().size());
  }
  if (GetParam() < 8) {
    EXPECT_GE(large_count_transfers() - before, 2u);
  } else {
    EXPECT_EQ(large_count_transfers(), before);
  }
  EXPECT_GT(stats_.calls, 0u);
}

TEST_P(Transfers, TheEndMarkReachesEveryRank) {
  const PrivateComm comm(world_.mpi_communicator());
  ByteScatter scatter(comm.get(), progress_, {}, {}, /*end=*/true);
  while (!scatter.test()) progress_.idle(true);
  EXPECT_TRUE(scatter.end());
}

TEST_P(Transfers, BroadcastBytesOfAnyLength) {
  for (const std::size_t n : {0u, 1u, 1000u}) {
    std::string text = world_.is_root() ? std::string(n, 'z') : std::string("stale");
    broadcast_bytes(text, Communicator::kRoot, world_.mpi_communicator(), progress_);
    EXPECT_EQ(text, std::string(n, 'z'));
  }
  // From another root too.
  const int from = world_.size() - 1;
  std::vector<char> bytes = world_.rank() == from ? pattern(from, 40) : std::vector<char>{};
  broadcast_bytes(bytes, from, world_.mpi_communicator(), progress_);
  EXPECT_EQ(bytes, pattern(from, 40));
}

TEST_P(Transfers, PointToPointMessagesArriveWholeAndMatchedOnce) {
  const PrivateComm comm(world_.mpi_communicator());
  SendQueue sends(comm.get(), progress_);
  if (!world_.is_root()) {
    sends.send(pattern(world_.rank(), 100), Communicator::kRoot, 5);
    sends.send(pattern(world_.rank(), 3), Communicator::kRoot, 6);
    sends.finish();
    return;
  }
  std::vector<int> long_from(static_cast<std::size_t>(world_.size()), 0);
  for (int k = 0; k < 2 * (world_.size() - 1); ++k) {
    const auto m = receive(comm.get(), MPI_ANY_SOURCE, MPI_ANY_TAG, progress_);
    EXPECT_EQ(m.bytes, pattern(m.source, m.tag == 5 ? 100 : 3));
    if (m.tag == 5) ++long_from[static_cast<std::size_t>(m.source)];
  }
  for (int r = 1; r < world_.size(); ++r) EXPECT_EQ(long_from[static_cast<std::size_t>(r)], 1);
  EXPECT_FALSE(try_receive(comm.get(), MPI_ANY_SOURCE, MPI_ANY_TAG, progress_).has_value());
}

INSTANTIATE_TEST_SUITE_P(IntAndLargeCounts, Transfers,
                         ::testing::Values(static_cast<std::size_t>(INT_MAX), std::size_t{7}),
                         [](const auto& info) { return info.param < 8 ? "large" : "int"; });

TEST(Progress, IdleSleepsCountAsMpiTimeOnlyWhenWaitingForMpi) {
  swarm::mpi::MpiStats stats;
  Progress progress(stats);
  for (int k = 0; k < 5; ++k) progress.idle(false);
  EXPECT_EQ(stats.seconds, 0.0);
  for (int k = 0; k < 5; ++k) progress.idle(true);
  EXPECT_GT(stats.seconds, 0.0);
  MPI_Request none = MPI_REQUEST_NULL;
  EXPECT_TRUE(progress.test(none));
}

}  // namespace
