#pragma once
/// @file mpi/shard.hpp
/// How endpoints are dealt to ranks: contiguous blocks in hostfile order, the first N % R ranks
/// taking one extra, so that MPI_Gatherv with block displacements lands results in global order.

#include <cstdint>

namespace swarm::mpi {

/// A contiguous range [begin, begin + count) of global agent indices.
struct Block {
  std::int64_t begin = 0;
  std::int64_t count = 0;
  friend bool operator==(const Block&, const Block&) = default;
};

/// The block of `n` items owned by `rank` of `size` ranks: count = n/size + (rank < n%size).
/// Ranks beyond `n` get empty blocks (legal: 64 ranks, 10 agents). Local, not collective.
constexpr Block block_of(std::int64_t n, int size, int rank) noexcept {
  const std::int64_t base = n / size;
  const std::int64_t extra = n % size;
  const std::int64_t r = rank;
  return Block{r * base + (r < extra ? r : extra), base + (r < extra ? 1 : 0)};
}

}  // namespace swarm::mpi
