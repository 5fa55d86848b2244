#include "progress.hpp"

#include <algorithm>
#include <thread>

#include "swarm/mpi/error.hpp"
#include "swarm/mpi/swarm.hpp"
#include "swarm/pool.hpp"

namespace swarm::mpi::detail {

Progress::Progress(Swarm& swarm) : stats_(swarm.mpi_stats()), swarm_(&swarm) {}

AgentPool* Progress::pool() const {
  // Looked up at each wait: a pattern creates the rank's pool on first use, possibly after
  // this Progress was made.
  return swarm_ != nullptr ? swarm_->existing_rank_pool() : nullptr;
}

std::size_t Progress::http_outstanding() const {
  const AgentPool* p = pool();
  return p != nullptr ? p->outstanding() : 0;
}

std::size_t Progress::drive(std::chrono::milliseconds max_wait) {
  AgentPool* p = pool();
  if (p == nullptr) return 0;
  if (p->outstanding() == 0) {
    // Nothing to wait for, but the engine's timers still run: the /health probes that bring
    // a rank's cooling agents back while it has no work.
    p->poll(std::chrono::milliseconds(0));
    return 0;
  }
  return p->poll(max_wait);
}

bool Progress::test(MPI_Request& request) {
  int flag = 0;
  MpiTimer t(stats_);
  check(MPI_Test(&request, &flag, MPI_STATUS_IGNORE), "MPI_Test");
  return flag != 0;
}

void Progress::wait(MPI_Request& request) {
  while (!test(request)) idle(true);
  moved();
}

void Progress::idle(bool for_mpi) {
  if (http_outstanding() > 0) {
    if (drive(kPollWithMpi) > 0) moved();
    return;
  }
  const auto start = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(pause_);
  pause_ = std::min(pause_ * 2, kLongestPause);
  if (for_mpi) {
    const double slept =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    stats_.seconds += slept;
    stats_.idle_seconds += slept;
  }
}

}  // namespace swarm::mpi::detail
