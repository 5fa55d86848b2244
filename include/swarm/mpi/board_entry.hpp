#pragma once
/// @file mpi/board_entry.hpp
/// One answer on a Blackboard (see blackboard.hpp).

#include <cstdint>
#include <string>

namespace swarm::mpi {

/// One answer on the board.
struct BoardEntry {
  /// What the agent wrote (or the seeded text).
  std::string text;
  std::uint32_t section = 0;  ///< Index into the board's sections.
  std::uint32_t round = 0;    ///< 1-based; 0 for initial entries.
  std::int64_t agent = -1;    ///< Author's index in the board's swarm; -1 for initial entries.
  std::uint32_t seq = 0;      ///< Order among one author's entries of one step (initial entries).
};

}  // namespace swarm::mpi
