#include "least_loaded.hpp"

#include <algorithm>
#include <stdexcept>

#include "swarm/mpi/swarm.hpp"

namespace swarm::mpi::detail {

std::size_t rank_capacity(const Swarm& swarm, int rank) {
  const std::size_t agents = swarm.count_on(rank);
  const auto& o = swarm.options();
  if (agents == 0) return 0;
  if (o.per_agent_concurrency == 0) return o.concurrency;
  return std::min(o.concurrency, agents * o.per_agent_concurrency);
}

LeastLoaded::LeastLoaded(Swarm& swarm, CallOptions call, AnswerFn on_answer)
    : swarm_(swarm),
      call_(call),
      on_answer_(std::move(on_answer)),
      agent_cap_(swarm.options().per_agent_concurrency),
      capacity_(rank_capacity(swarm, swarm.communicator().rank())),
      busy_(swarm.local_agents().size(), 0) {
  for (std::size_t k = 0; k < busy_.size(); ++k) idle_.emplace(0, k);
}

void LeastLoaded::add(std::vector<Work> work) {
  if (busy_.empty() && !work.empty()) {
    throw std::logic_error("LeastLoaded: work for a rank without agents");
  }
  for (auto& w : work) queue_.push_back(std::move(w));
}

void LeastLoaded::pump() {
  while (!queue_.empty() && in_flight_ < capacity_ && !idle_.empty()) {
    const auto [busy, k] = *idle_.begin();
    if (agent_cap_ != 0 && busy >= agent_cap_) return;  // every agent is at its cap
    idle_.erase(idle_.begin());
    idle_.emplace(busy + 1, k);
    ++busy_[k];
    ++in_flight_;
    Work w = std::move(queue_.front());
    queue_.pop_front();
    CallOptions c = call_;
    if (w.max_tokens) c.max_tokens = w.max_tokens;
    swarm_.submit(
        swarm_.local_agents()[k], w.prompt,
        [this, k, seq = w.index](Response&& r) {
          finished(k);
          on_answer_(seq, std::move(r));
        },
        c);
  }
}

void LeastLoaded::finished(std::size_t k) {
  idle_.erase({busy_[k], k});
  --busy_[k];
  idle_.emplace(busy_[k], k);
  --in_flight_;
}

}  // namespace swarm::mpi::detail
