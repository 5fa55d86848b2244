// await_healthy: every rank probes its own agents; the ranks agree on the count (and on whether
// the limit passed, by any rank's clock) with one small allreduce per round, so they all leave
// the gate in the same round.

#include <chrono>
#include <thread>
#include <vector>

#include "collectives.hpp"
#include "swarm/mpi/health.hpp"
#include "swarm/mpi/swarm.hpp"

namespace swarm::mpi {
namespace {

// Between rounds: probes finish in their own time; this only bounds how late the gate notices.
constexpr auto kRound = std::chrono::milliseconds(50);

}  // namespace

std::size_t await_healthy(Swarm& swarm, std::size_t min_healthy, Seconds limit) {
  AgentPool* pool = swarm.local_agents().empty() ? nullptr : &swarm.local_pool();
  if (pool != nullptr) pool->probe_health();
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::duration_cast<std::chrono::steady_clock::duration>(limit);
  for (bool first = true;; first = false) {
    if (!first) {
      // poll() waits on probes in flight and returns at once when none is; the sleep keeps
      // the round (and so the allreduce rate) bounded either way.
      const auto round_end = std::chrono::steady_clock::now() + kRound;
      if (pool != nullptr) pool->poll(kRound);
      std::this_thread::sleep_until(round_end);
    }
    std::vector<std::uint64_t> counts{pool != nullptr ? pool->healthy_count() : 0,
                                      std::chrono::steady_clock::now() >= deadline ? 1u : 0u};
    detail::allreduce_sum(swarm, counts);
    if (min_healthy == 0 || counts[0] >= min_healthy || counts[1] > 0) {
      return static_cast<std::size_t>(counts[0]);
    }
  }
}

}  // namespace swarm::mpi
