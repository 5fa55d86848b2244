#pragma once
// Internal: the one way a rank waits. DESIGN's central rule, "HTTP and MPI progress together;
// nothing spins", lives here: every pattern waits for MPI through Progress, which keeps this
// rank's HTTP transfers moving while it waits, sleeps with one back-off when there is nothing to
// drive, and adds the MPI part of the time to the Swarm's MpiStats (so --summary's per-rank MPI
// share is complete for every pattern).

#include <mpi.h>

#include <chrono>
#include <cstddef>

#include "swarm/mpi/stats.hpp"

namespace swarm {
class AgentPool;
}

namespace swarm::mpi {
class Swarm;
}

namespace swarm::mpi::detail {

using namespace std::chrono_literals;

/// How long an HTTP poll may block while an MPI transfer is in flight: MPI progresses only
/// inside MPI calls, so this bounds how late the next test sees a step of the transfer.
inline constexpr std::chrono::milliseconds kPollWithMpi = 2ms;
/// How long an HTTP poll may block when no MPI transfer is waiting.
inline constexpr std::chrono::milliseconds kPollHttpOnly = 200ms;
/// The idle back-off: a rank with nothing to drive sleeps this long at first, doubling up to
/// kLongestPause, so ranks oversubscribing cores leave them to the ranks that have work.
inline constexpr std::chrono::microseconds kFirstPause = 20us;
inline constexpr std::chrono::microseconds kLongestPause = 2ms;

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

class Progress {
 public:
  /// Waits that drive this rank's pool of `swarm` (once it exists) and count into its MpiStats.
  explicit Progress(Swarm& swarm);
  /// Waits that only sleep (no HTTP), counted into `stats`.
  explicit Progress(MpiStats& stats) noexcept : stats_(stats) {}

  [[nodiscard]] MpiStats& stats() noexcept { return stats_; }

  /// Runs `call` (one or a few MPI calls) with its wall time counted as MPI time.
  template <typename F>
  decltype(auto) mpi(F&& call) {
    MpiTimer t(stats_);
    return call();
  }

  /// MPI_Test, counted. True when the request is complete (or null).
  bool test(MPI_Request& request);
  /// Waits for `request`, driving HTTP meanwhile (see idle()).
  void wait(MPI_Request& request);

  /// One round with nothing to do but wait: drives this rank's outstanding HTTP transfers for
  /// at most kPollWithMpi (not counted as MPI time), or, with none outstanding, sleeps the
  /// current pause and backs off. The sleep counts as MPI time when `for_mpi` (the rank waits
  /// for a transfer, not for its own file I/O).
  void idle(bool for_mpi = true);
  /// Something happened: the next idle() starts again at the shortest pause.
  void moved() noexcept { pause_ = kFirstPause; }
  /// The end of one round of a loop that drives HTTP itself: back to the shortest pause if
  /// something moved, else (with no HTTP outstanding to block in) one idle wait for MPI.
  void end_round(bool something_moved) {
    if (something_moved) {
      moved();
    } else if (http_outstanding() == 0) {
      idle(true);
    }
  }

  /// Drives this rank's HTTP transfers for at most `max_wait`; returns completions (0 without a
  /// pool or with nothing outstanding, when it only runs the engine's timers, e.g. probes).
  std::size_t drive(std::chrono::milliseconds max_wait);
  /// Requests outstanding in this rank's pool (0 without one).
  [[nodiscard]] std::size_t http_outstanding() const;

 private:
  AgentPool* pool() const;

  MpiStats& stats_;
  Swarm* swarm_ = nullptr;
  std::chrono::microseconds pause_ = kFirstPause;
};

}  // namespace swarm::mpi::detail
