#pragma once
// Internal: dynamic scheduling within a rank. Queued prompts go, one at a time, to the local
// agent with the fewest requests in flight (ties to the lower index), never past the pool's cap
// nor `per_agent_concurrency`, so a slow agent holds its few slots longer and simply receives
// fewer prompts. No MPI inside.

#include <cstdint>
#include <deque>
#include <functional>
#include <set>
#include <utility>
#include <vector>

#include "swarm/mpi/work.hpp"
#include "swarm/pool.hpp"

namespace swarm::mpi {
class Swarm;
}

namespace swarm::mpi::detail {

class LeastLoaded {
 public:
  /// Receives the answer to the Work whose index was `seq` (agent_index: who answered).
  using AnswerFn = std::function<void(std::uint64_t seq, Response&& response)>;

  /// Over this rank's agents of `swarm` (none: add() is a logic error).
  LeastLoaded(Swarm& swarm, CallOptions call, AnswerFn on_answer);
  LeastLoaded(const LeastLoaded&) = delete;
  LeastLoaded& operator=(const LeastLoaded&) = delete;

  /// Queues prompts; Work::index is the caller's sequence number, handed back with the answer.
  void add(std::vector<Work> work);
  /// Submits queued prompts while an agent has room.
  void pump();
  /// Prompts queued or in flight.
  [[nodiscard]] std::size_t load() const noexcept { return queue_.size() + in_flight_; }
  /// What this rank can have in flight at once.
  [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }

 private:
  void finished(std::size_t local);

  Swarm& swarm_;
  CallOptions call_;
  AnswerFn on_answer_;
  std::size_t agent_cap_;  // 0: unlimited
  std::size_t capacity_;
  std::deque<Work> queue_;
  std::size_t in_flight_ = 0;
  std::vector<std::size_t> busy_;                       // per local agent: requests in flight
  std::set<std::pair<std::size_t, std::size_t>> idle_;  // (busy, local agent), least first
};

/// What rank `rank` of `swarm` can have in flight at once under `options`: the pool's cap, or
/// less when per-agent caps bound it (0 for a rank without agents).
std::size_t rank_capacity(const Swarm& swarm, int rank);

}  // namespace swarm::mpi::detail
