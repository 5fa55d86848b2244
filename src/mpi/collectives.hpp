#pragma once
// Internal: the data movement shared by the patterns, timed into the Swarm's MpiStats.

#include <chrono>
#include <functional>
#include <vector>

#include "pack.hpp"
#include "swarm/mpi/swarm.hpp"

namespace swarm::mpi::detail {

/// Adds the wall time of one MPI step to `stats`.
class MpiTimer {
 public:
  explicit MpiTimer(MpiStats& stats) : stats_(stats), start_(std::chrono::steady_clock::now()) {}
  ~MpiTimer() {
    stats_.seconds +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    ++stats_.calls;
  }
  MpiTimer(const MpiTimer&) = delete;
  MpiTimer& operator=(const MpiTimer&) = delete;

 private:
  MpiStats& stats_;
  std::chrono::steady_clock::time_point start_;
};

/// Collective: rank r receives buckets[r] (buckets significant on the root, one per rank).
std::vector<Work> scatter_work(Swarm& swarm, const std::vector<std::vector<Work>>& buckets);

/// Collective: the root receives every rank's `local` concatenated in rank order.
std::vector<Response> gather_responses(Swarm& swarm, const std::vector<Response>& local);

/// Collective: the root receives every rank's `mine` concatenated in rank order, and in
/// `counts` how many bytes came from each rank; other ranks get nothing.
std::vector<char> gather_bytes(Swarm& swarm, const std::vector<char>& mine,
                               std::vector<int>& counts);

/// Collective: every rank receives `r` as held by `from`.
void broadcast_response(Swarm& swarm, Response& r, int from);

/// Runs `work` on this rank's agents (prompt -> agent index mod N) and returns the Responses in
/// the order of `work`, agent_index set to the agent's index in `swarm`. With batch_size > 1,
/// each agent's prompts go in /v1/completions list requests. Requests are fed to the engine
/// with at most twice the concurrency cap outstanding, so engine memory does not grow with the
/// window. No MPI inside.
std::vector<Response> run_local(Swarm& swarm, const std::vector<Work>& work, CallOptions call,
                                std::size_t batch_size = 1);

/// Receives the Response to work[k], agent_index set.
using ResultFn = std::function<void(std::size_t k, Response&& response)>;

/// As run_local, but each Response goes to `done` as it arrives (in any order) instead of into
/// a vector, so a caller that packs or writes them never holds a window of Responses.
void run_local_each(Swarm& swarm, const std::vector<Work>& work, CallOptions call,
                    std::size_t batch_size, const ResultFn& done);

}  // namespace swarm::mpi::detail
