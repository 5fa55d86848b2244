#pragma once
// Internal: dynamic scheduling within a rank. Queued prompts go, one at a time, to the healthy
// local agent with the fewest requests in flight (ties to the lower index), never past the
// pool's cap nor `per_agent_concurrency`, so a slow agent holds its few slots longer and simply
// receives fewer prompts. Cooling agents (AgentHealth) get nothing until a probe brings them
// back. When no local agent is healthy the rank is `down`: its queued prompts are given back
// through the ReturnFn for another rank to run; with PoolOptions::failover so is every prompt
// that failed here through its agent's fault (after the engine's own failover). No MPI inside.

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <set>
#include <utility>
#include <vector>

#include "messages.hpp"
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
  /// Receives prompts given back (Work::index is the caller's seq): `down` when no local agent
  /// is healthy; otherwise prompts that failed here through their agent's fault, for another
  /// try elsewhere.
  using ReturnFn = std::function<void(std::vector<Returned>&& back, bool down)>;

  /// Over this rank's agents of `swarm` (none: add() is a logic error). Without `on_return`
  /// prompts wait for a local agent to come back, and failures are answers.
  LeastLoaded(Swarm& swarm, CallOptions call, AnswerFn on_answer, ReturnFn on_return = {});
  LeastLoaded(const LeastLoaded&) = delete;
  LeastLoaded& operator=(const LeastLoaded&) = delete;

  /// Queues prompts; Work::index is the caller's sequence number, handed back with the answer.
  void add(std::vector<Work> work);
  /// Notices agents that turned healthy, submits queued prompts while a healthy agent has
  /// room, and gives the queue back when none is healthy.
  void pump();
  /// Prompts queued or in flight.
  [[nodiscard]] std::size_t load() const noexcept { return queue_.size() + in_flight_; }
  /// What this rank can have in flight at once.
  [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }
  /// No local agent was healthy at the last pump() or answer.
  [[nodiscard]] bool down() const noexcept { return idle_.empty(); }

 private:
  void finished(std::size_t local, Work&& work, Response&& response);
  /// Moves agents between idle_ (healthy) and cooling_ as the engine's health says.
  void refresh();
  /// Moves the agent at `it` from idle_ to cooling_; the iterator after it.
  std::set<std::pair<std::size_t, std::size_t>>::iterator set_aside(
      std::set<std::pair<std::size_t, std::size_t>>::iterator it);

  Swarm& swarm_;
  CallOptions call_;
  AnswerFn on_answer_;
  ReturnFn on_return_;
  bool failover_;
  std::size_t agent_cap_;  // 0: unlimited
  std::size_t capacity_;
  std::deque<Work> queue_;
  std::size_t in_flight_ = 0;
  std::vector<std::size_t> busy_;                       // per local agent: requests in flight
  std::vector<bool> cooling_flag_;                      // per local agent: in cooling_
  std::set<std::pair<std::size_t, std::size_t>> idle_;  // healthy (busy, local agent), least first
  std::vector<std::size_t> cooling_;                    // local agents left out of idle_
  std::chrono::steady_clock::time_point last_refresh_{};
  /// How soon an agent back from cooling is noticed (a full scan of the local agents).
  static constexpr std::chrono::milliseconds kRefreshEvery{50};
};

/// What rank `rank` of `swarm` can have in flight at once under `options`: the pool's cap, or
/// less when per-agent caps bound it (0 for a rank without agents).
std::size_t rank_capacity(const Swarm& swarm, int rank);

}  // namespace swarm::mpi::detail
