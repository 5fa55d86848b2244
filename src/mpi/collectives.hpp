#pragma once
// Internal: the data movement shared by the patterns, timed into the Swarm's MpiStats.

#include <chrono>
#include <functional>
#include <vector>

#include "local_runner.hpp"
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

/// `bytes` as an MPI count; throws std::length_error (use a smaller window) past INT_MAX.
int checked_count(std::size_t bytes);

/// Displacements for `counts` laid end to end; throws std::length_error past INT_MAX in all.
std::vector<int> displacements(const std::vector<int>& counts);

/// The buckets' Work end to end (what rank r receives is buckets[r]), and in `counts` each
/// bucket's size in bytes.
std::vector<char> pack_buckets(const std::vector<std::vector<Work>>& buckets,
                               std::vector<int>& counts);

/// The Work items packed in one bucket's bytes.
std::vector<Work> unpack_work(const std::vector<char>& bytes);

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

/// Runs `work` on this rank's agents (a LocalRunner with one batch) and returns the Responses
/// in the order of `work`. No MPI inside.
std::vector<Response> run_local(Swarm& swarm, const std::vector<Work>& work, CallOptions call,
                                std::size_t batch_size = 1);

/// As run_local, but each Response goes to `done` as it arrives (in any order) instead of into
/// a vector, so a caller that packs or writes them never holds a window of Responses.
void run_local_each(Swarm& swarm, const std::vector<Work>& work, CallOptions call,
                    std::size_t batch_size, const ResultFn& done);

}  // namespace swarm::mpi::detail
