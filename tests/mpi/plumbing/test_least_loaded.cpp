// The end-of-run rule of dynamic scheduling (least_loaded.hpp): how much work must be left for
// a slow agent to be worth a prompt. Pure arithmetic, no MPI traffic.

#include <cstdint>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "least_loaded.hpp"

namespace swarm::mpi::detail {
namespace {

using Needs = std::vector<std::pair<std::size_t, std::uint64_t>>;

TEST(WorkNeeded, ASlowAgentNeedsTheWorkItsFasterPeersCannotFinishWithinItsLatency) {
  // A fleet like bench/schedule_bench.sh's on one rank (latencies exact in binary): 9 agents at
  // 0.25 s and one at 1.0 s, 4 slots. The fast ones run 9 x 4 / 0.25 = 144 prompts/s and finish
  // a prompt queued now in about Q / 144 + 0.25 s; the slow one is worth it only while that
  // exceeds 1.0 s: Q >= 0.75 x 144 = 108.
  std::vector<std::pair<double, std::size_t>> known;
  for (std::size_t k = 0; k < 9; ++k) known.emplace_back(0.25, k);
  known.emplace_back(1.0, 9);
  Needs want;
  for (std::size_t k = 0; k < 9; ++k) want.emplace_back(k, 0);
  want.emplace_back(9, 108);
  EXPECT_EQ(work_needed(known, 4), want);
}

TEST(WorkNeeded, AgentsOfOneKindNeverBenchEachOther) {
  // Within 1.5x of each other: noise, not a slower kind of agent.
  const Needs got = work_needed({{0.21, 2}, {0.2, 0}, {0.29, 1}}, 4);
  EXPECT_EQ(got, (Needs{{0, 0}, {2, 0}, {1, 0}}));
}

TEST(WorkNeeded, EachTierCountsOnlyTheAgentsFasterThanIt) {
  // 0.125 s, 0.5 s and 2 s with 1 slot: the 0.5 s agent needs (0.5 - 0.125) x 8 = 3; the 2 s
  // one counts both faster ones, 8 + 2 = 10 prompts/s at a mean of 0.3125 s:
  // (2 - 0.3125) x 10 = 16.875, so 17.
  const Needs got = work_needed({{2.0, 7}, {0.125, 3}, {0.5, 5}}, 1);
  EXPECT_EQ(got, (Needs{{3, 0}, {5, 3}, {7, 17}}));
}

TEST(WorkNeeded, NothingKnownNothingNeeded) { EXPECT_TRUE(work_needed({}, 4).empty()); }

}  // namespace
}  // namespace swarm::mpi::detail
