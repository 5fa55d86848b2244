#pragma once
// Internal: dynamic scheduling within a rank. Queued prompts go, one at a time, to the healthy
// local agent with the fewest requests in flight (ties to the lower index), never past the
// pool's cap nor `per_agent_concurrency`, so a slow agent holds its few slots longer and simply
// receives fewer prompts. Cooling agents (AgentHealth) get nothing until a probe brings them
// back. When no local agent is healthy the rank is `down`: its queued prompts are given back
// through the ReturnFn for another rank to run; with PoolOptions::failover so is every prompt
// that failed here through its agent's fault (after the engine's own failover). No MPI inside.
//
// The end of a run: an agent much slower than others (its recent latency L) is worth a prompt
// only while the work left would keep the faster ones busy for longer than L; otherwise its
// prompt finishes after the faster agents would have finished it, and the slowest agents set
// the makespan (a 1 s tail on a 5 s run in bench/schedule_bench.sh). With per-agent slots, each
// refresh computes, per agent k, the queue it needs: (L_k - L_f) x R_f, where R_f is the
// throughput (slots / latency) of the healthy agents more than 1.5x faster and L_f their mean
// latency, so a prompt queued now would be done by them at about Q / R_f + L_f. An agent whose
// need exceeds the work left (this rank's queue plus the root's backlog share, set_backlog) is
// benched until the next refresh. While input remains the backlog is unbounded and every agent
// works; benching never applies without a per-agent cap, or while no faster agent is healthy.

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

/// The end-of-run rule's arithmetic (see the file comment): for healthy agents given as
/// (latency in seconds, agent), each with `slots` slots, the work left (prompts) each needs to
/// be worth a prompt, as (agent, need), fastest first; 0 for an agent no other is more than
/// 1.5x faster than.
std::vector<std::pair<std::size_t, std::uint64_t>> work_needed(
    std::vector<std::pair<double, std::size_t>> known, std::size_t slots);

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
  /// Removes and returns the prompts not yet given to an agent (the end of a run: a rank with
  /// free slots runs them sooner than this one would).
  std::vector<Work> take_queued();
  /// The root's work left per rank after its last chunk (Chunk::backlog).
  void set_backlog(std::uint64_t backlog) noexcept { backlog_ = backlog; }
  /// Prompts queued (not yet given to an agent).
  [[nodiscard]] std::size_t queued() const noexcept { return queue_.size(); }
  /// Prompts queued or in flight.
  [[nodiscard]] std::size_t load() const noexcept { return queue_.size() + in_flight_; }
  /// What this rank can have in flight at once.
  [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }
  /// No local agent was healthy at the last pump() or answer.
  [[nodiscard]] bool down() const noexcept { return idle_.empty() && benched_.empty(); }

 private:
  void finished(std::size_t local, Work&& work, Response&& response);
  /// Moves agents between idle_ (healthy) and cooling_ as the engine's health says, returns
  /// benched agents to idle_ and recomputes what each needs to be worth a prompt.
  void refresh();
  void update_needs();
  /// Whether local agent `k` is too slow for the work left (see the file comment).
  [[nodiscard]] bool too_slow(std::size_t k) const noexcept;
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
  // The end-of-run rule: per local agent, the latency of its recent successes (moving average)
  // and their count, and the work left it needs to be worth a prompt (0: always).
  std::vector<double> latency_;
  std::vector<std::uint32_t> samples_;
  std::vector<std::uint64_t> need_;
  std::vector<bool> benched_flag_;
  std::vector<std::size_t> benched_;  // healthy agents left out of idle_ until the next refresh
  std::uint64_t backlog_ = 0;
  std::chrono::steady_clock::time_point last_refresh_{};
  /// How soon an agent back from cooling is noticed (a full scan of the local agents).
  static constexpr std::chrono::milliseconds kRefreshEvery{50};
};

/// What rank `rank` of `swarm` can have in flight at once under `options`: the pool's cap, or
/// less when per-agent caps bound it (0 for a rank without agents).
std::size_t rank_capacity(const Swarm& swarm, int rank);

}  // namespace swarm::mpi::detail
