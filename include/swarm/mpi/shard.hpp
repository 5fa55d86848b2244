#pragma once
/// @file mpi/shard.hpp
/// How endpoints are dealt to ranks: contiguous blocks in hostfile order, the first N % R ranks
/// taking one extra. Local, not collective; testable without MPI.

#include <cstdint>

namespace swarm::mpi {

/// A contiguous range [begin, begin + count) of global agent indices.
struct Block {
  /// First global agent index of the range.
  std::int64_t begin = 0;
  /// Number of agents in the range (0: empty).
  std::int64_t count = 0;
  /// Same range.
  friend bool operator==(const Block&, const Block&) = default;
};

/// The block of `n` items owned by `rank` of `size` ranks: count = n/size + (rank < n%size).
/// Ranks beyond `n` get empty blocks (legal: 64 ranks, 10 agents).
constexpr Block block_of(std::int64_t n, int size, int rank) noexcept {
  const std::int64_t base = n / size;
  const std::int64_t extra = n % size;
  const std::int64_t r = rank;
  return Block{r * base + (r < extra ? r : extra), base + (r < extra ? 1 : 0)};
}

/// The rank whose block_of(n, size, rank) holds item `i` (0 <= i < n): the inverse of block_of.
constexpr int block_owner(std::int64_t n, int size, std::int64_t i) noexcept {
  const std::int64_t base = n / size;
  const std::int64_t extra = n % size;
  if (i < extra * (base + 1)) return static_cast<int>(i / (base + 1));
  return static_cast<int>(extra + (i - extra * (base + 1)) / base);
}

}  // namespace swarm::mpi
