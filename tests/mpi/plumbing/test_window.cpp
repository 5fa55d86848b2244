// Window: every rank's memory readable by every rank through passive-target gets.

#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include "swarm/mpi/communicator.hpp"
#include "swarm/mpi/window.hpp"

namespace {

using swarm::mpi::Communicator;
using swarm::mpi::ReadEpoch;
using swarm::mpi::Window;
using swarm::mpi::WriteEpoch;

TEST(Window, EveryRankReadsEveryRanksMemory) {
  const Communicator world;
  Window w(world, 100);
  EXPECT_GE(w.size(), 100u);
  {
    WriteEpoch epoch(w, world.rank());
    for (std::size_t k = 0; k < 100; ++k) {
      w.local()[k] = static_cast<std::byte>(world.rank() * 10 + static_cast<int>(k % 10));
    }
  }
  world.barrier();
  std::vector<std::vector<unsigned char>> seen(static_cast<std::size_t>(world.size()),
                                               std::vector<unsigned char>(20));
  {
    ReadEpoch epoch(w);
    for (int r = 0; r < world.size(); ++r)
      w.get(r, 40, seen[static_cast<std::size_t>(r)].data(), 20);
    w.flush_all();
  }
  for (int r = 0; r < world.size(); ++r) {
    for (std::size_t k = 0; k < 20; ++k) {
      EXPECT_EQ(seen[static_cast<std::size_t>(r)][k], r * 10 + static_cast<int>((40 + k) % 10));
    }
  }
  world.barrier();  // nobody frees the window while another rank still reads
}

TEST(Window, MovedWindowsKeepTheirMemory) {
  const Communicator world;
  Window a(world, 64);
  std::memset(a.local(), 7, 64);
  Window b = std::move(a);
  EXPECT_EQ(a.size(), 0u);
  EXPECT_EQ(static_cast<int>(b.local()[63]), 7);
}

}  // namespace
