#include "least_loaded.hpp"

#include <algorithm>
#include <iterator>
#include <memory>
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

LeastLoaded::LeastLoaded(Swarm& swarm, CallOptions call, AnswerFn on_answer, ReturnFn on_return)
    : swarm_(swarm),
      call_(call),
      on_answer_(std::move(on_answer)),
      on_return_(std::move(on_return)),
      failover_(swarm.options().failover),
      agent_cap_(swarm.options().per_agent_concurrency),
      capacity_(rank_capacity(swarm, swarm.communicator().rank())),
      busy_(swarm.local_agents().size(), 0),
      cooling_flag_(busy_.size(), false) {
  // A rank that can give prompts back must not let the engine hold them while every local
  // agent is cooling: such a request fails at once and comes back here to be returned.
  if (on_return_) call_.wait_for_healthy = false;
  for (std::size_t k = 0; k < busy_.size(); ++k) idle_.emplace(0, k);
  refresh();
}

void LeastLoaded::add(std::vector<Work> work) {
  if (busy_.empty() && !work.empty()) {
    throw std::logic_error("LeastLoaded: work for a rank without agents");
  }
  for (auto& w : work) queue_.push_back(std::move(w));
}

void LeastLoaded::refresh() {
  last_refresh_ = std::chrono::steady_clock::now();
  AgentPool& pool = swarm_.local_pool();
  // Cooling agents that a probe brought back; then healthy ones that went cooling. Both scans
  // are over this rank's agents only, once per pump.
  std::erase_if(cooling_, [&](std::size_t k) {
    if (pool.health(k) != AgentHealth::healthy) return false;
    cooling_flag_[k] = false;
    idle_.emplace(busy_[k], k);
    return true;
  });
  for (auto it = idle_.begin(); it != idle_.end();) {
    it = pool.health(it->second) == AgentHealth::healthy ? std::next(it) : set_aside(it);
  }
}

std::set<std::pair<std::size_t, std::size_t>>::iterator LeastLoaded::set_aside(
    std::set<std::pair<std::size_t, std::size_t>>::iterator it) {
  cooling_flag_[it->second] = true;
  cooling_.push_back(it->second);
  return idle_.erase(it);
}

void LeastLoaded::pump() {
  if (busy_.empty()) return;
  // A full scan finds agents that came back; one that went cooling is also caught below, as
  // it is about to be given a prompt.
  if (std::chrono::steady_clock::now() - last_refresh_ >= kRefreshEvery) refresh();
  AgentPool& pool = swarm_.local_pool();
  while (!queue_.empty() && in_flight_ < capacity_ && !idle_.empty()) {
    const auto [busy, k] = *idle_.begin();
    if (agent_cap_ != 0 && busy >= agent_cap_) return;  // every healthy agent is at its cap
    if (pool.health(k) != AgentHealth::healthy) {
      set_aside(idle_.begin());
      continue;
    }
    idle_.erase(idle_.begin());
    idle_.emplace(busy + 1, k);
    ++busy_[k];
    ++in_flight_;
    // The Work stays with its callback, to be given back if it fails; shared, not copied.
    auto w = std::make_shared<Work>(std::move(queue_.front()));
    queue_.pop_front();
    CallOptions c = call_;
    if (w->max_tokens) c.max_tokens = w->max_tokens;
    swarm_.submit(
        swarm_.local_agents()[k], w->prompt,
        [this, k, w](Response&& r) { finished(k, std::move(*w), std::move(r)); }, c);
  }
  if (idle_.empty() && !queue_.empty() && on_return_) {
    // Never sent here: they carry why this rank's agents are cooling, and cost no budget.
    const Response why = pool.last_failure(cooling_.front());
    std::vector<Returned> back;
    back.reserve(queue_.size());
    for (auto& w : queue_) back.push_back({std::move(w), why});
    queue_.clear();
    on_return_(std::move(back), true);
  }
}

void LeastLoaded::finished(std::size_t k, Work&& work, Response&& r) {
  if (!cooling_flag_[k]) {
    idle_.erase({busy_[k], k});
    idle_.emplace(busy_[k] - 1, k);
  }
  --busy_[k];
  --in_flight_;
  if (!r.success && failover_ && on_return_ && agent_fault(r)) {
    // The engine's failover could not save it here; the root decides whether it gets another
    // try (elsewhere, or here again once this rank is up), within its return budget.
    refresh();
    std::vector<Returned> back;
    back.push_back({std::move(work), std::move(r)});
    on_return_(std::move(back), idle_.empty());
    return;
  }
  on_answer_(work.index, std::move(r));
}

}  // namespace swarm::mpi::detail
