#pragma once
// Internal: this rank's share of a pattern, sent to its agents batch after batch without a gap.

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <vector>

#include "swarm/mpi/work.hpp"
#include "swarm/pool.hpp"

namespace swarm::mpi {
class Swarm;
}

namespace swarm::mpi::detail {

/// Receives the Response to work[k] of its batch, agent_index set to the agent's index in the
/// swarm.
using ResultFn = std::function<void(std::size_t k, Response&& response)>;

/// Runs batches of Work on this rank's agents (Work::index -> agent agent_for(index, N), which
/// must be this rank's). Batches start in the order added, and the next batch's requests are fed
/// as soon as the previous one's are all submitted, so a rank that has the next window never
/// idles while the current one drains. At most twice the pool's concurrency cap is outstanding,
/// so engine memory does not grow with a batch. With batch_size > 1, each agent's prompts of a
/// batch go in /v1/completions list requests (work order kept within an agent). No MPI inside;
/// one thread.
class LocalRunner {
 public:
  LocalRunner(Swarm& swarm, CallOptions call, std::size_t batch_size);
  LocalRunner(const LocalRunner&) = delete;
  LocalRunner& operator=(const LocalRunner&) = delete;

  /// Queues a batch; each of its Responses goes to `done`, in completion order.
  void add(std::vector<Work> work, ResultFn done);

  /// Submits what the cap allows, then drives the transfers for at most `max_wait` (returning
  /// early after completions or when nothing is outstanding).
  void step(std::chrono::milliseconds max_wait);

  /// Batches added and not yet dropped by pop_front().
  [[nodiscard]] std::size_t batches() const noexcept { return batches_.size(); }
  /// True when the oldest batch has delivered every Response.
  [[nodiscard]] bool front_done() const noexcept;
  /// Drops the oldest batch, which must be done.
  void pop_front();

 private:
  struct Batch {
    std::vector<Work> work;
    ResultFn done;
    std::vector<std::vector<std::size_t>> units;  // batch_size > 1: the list requests
    std::size_t unit_count = 0;
    std::size_t next = 0;       // next unit to submit
    std::size_t remaining = 0;  // Responses not yet delivered
  };
  void submit(Batch& b, std::size_t unit);
  [[nodiscard]] std::size_t agent_of(const Work& w) const;

  Swarm& swarm_;
  CallOptions call_;
  std::size_t batch_size_;
  std::size_t limit_ = 0;  // on first submit: a rank without agents has no pool
  std::size_t outstanding_ = 0;
  std::deque<Batch> batches_;  // a deque: callbacks hold references to their Batch
};

/// Runs `work` on this rank's agents (a LocalRunner with one batch) and returns the Responses
/// in the order of `work`. No MPI inside.
std::vector<Response> run_local(Swarm& swarm, const std::vector<Work>& work, CallOptions call,
                                std::size_t batch_size = 1);

/// As run_local, but each Response goes to `done` as it arrives (in any order) instead of into
/// a vector, so a caller that packs or writes them never holds a window of Responses.
void run_local_each(Swarm& swarm, const std::vector<Work>& work, CallOptions call,
                    std::size_t batch_size, const ResultFn& done);

}  // namespace swarm::mpi::detail
