#pragma once
// Internal: the messages the patterns exchange besides Responses and Work, as plain values, so
// that one codec (wire.hpp) defines all the bytes that cross MPI.

#include <cstdint>
#include <string>
#include <vector>

#include "swarm/mpi/work.hpp"
#include "swarm/response.hpp"

namespace swarm::mpi::detail {

/// How one pipeline stage (waves) or one item (streaming) ended; the root decides, every rank
/// learns it.
struct Outcome {
  bool success = false;
  std::string output;
  std::string error;
};

/// One agent of a farm task: the swarm agent and the answer's position in the task.
struct FarmTarget {
  std::uint64_t agent = 0;
  std::uint32_t pos = 0;
};

/// Root -> owner: one prompt for some of the owner's agents. `priority` orders the owner's
/// queue (higher first).
struct FarmTask {
  std::uint64_t id = 0;
  std::uint32_t priority = 0;
  std::vector<FarmTarget> targets;
  std::string prompt;
};

/// Owner -> root: the answer of one target of a task.
struct FarmResult {
  std::uint64_t id = 0;
  std::uint32_t pos = 0;
  Response response;
};

/// Root -> worker in dynamic scatter-gather: prompts numbered by the root, and the root's backlog
/// after them (its queue's share per active rank, or kPlenty while input remains unread), which
/// tells the worker whether the run is near its end (LeastLoaded's slow-agent rule).
struct Chunk {
  static constexpr std::uint64_t kPlenty = ~std::uint64_t{0} >> 1;
  std::uint64_t backlog = 0;
  std::vector<Work> work;
};

/// Worker -> root in dynamic scatter-gather: the answer to the prompt the root numbered `seq`.
struct Answer {
  std::uint64_t seq = 0;
  Response response;
};

/// Worker -> root in dynamic scatter-gather: a prompt this rank gives back because none of its
/// agents is healthy; `last` is the failure of its attempt here (attempts 0: never sent).
struct Returned {
  Work work;
  Response last;
};

}  // namespace swarm::mpi::detail
