#include "least_loaded.hpp"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <memory>
#include <stdexcept>

#include "swarm/mpi/swarm.hpp"

namespace swarm::mpi::detail {
namespace {

// An agent's latency counts once it has this many successes (one is noise).
constexpr std::uint32_t kMinSamples = 4;
// Weight of the newest success in the moving average.
constexpr double kLatencyWeight = 0.2;
// "Faster" is more than this factor faster: agents of one kind differ by noise, not by this.
constexpr double kFaster = 1.5;

}  // namespace

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
      cooling_flag_(busy_.size(), false),
      latency_(busy_.size(), 0.0),
      samples_(busy_.size(), 0),
      need_(busy_.size(), 0),
      benched_flag_(busy_.size(), false) {
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

std::vector<Work> LeastLoaded::take_queued() {
  std::vector<Work> out(std::make_move_iterator(queue_.begin()),
                        std::make_move_iterator(queue_.end()));
  queue_.clear();
  return out;
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
  for (const auto k : benched_) {
    benched_flag_[k] = false;
    idle_.emplace(busy_[k], k);
  }
  benched_.clear();
  update_needs();
}

std::vector<std::pair<std::size_t, std::uint64_t>> work_needed(
    std::vector<std::pair<double, std::size_t>> known, std::size_t slots) {
  std::sort(known.begin(), known.end());
  std::vector<std::pair<std::size_t, std::uint64_t>> out;
  out.reserve(known.size());
  double rate = 0;         // slots / latency of the faster prefix
  double latency_sum = 0;  // of the faster prefix
  std::size_t faster = 0;
  const auto per_agent = static_cast<double>(slots);
  for (const auto& [latency, k] : known) {
    for (; faster < known.size() && known[faster].first * kFaster < latency; ++faster) {
      rate += per_agent / known[faster].first;
      latency_sum += known[faster].first;
    }
    std::uint64_t need = 0;
    if (faster > 0) {
      const double mean = latency_sum / static_cast<double>(faster);
      need = static_cast<std::uint64_t>(std::ceil((latency - mean) * rate));
    }
    out.emplace_back(k, need);
  }
  return out;
}

void LeastLoaded::update_needs() {
  if (agent_cap_ == 0) return;  // no slots to count throughput in
  std::vector<std::pair<double, std::size_t>> known;
  for (const auto& [busy, k] : idle_) {
    need_[k] = 0;
    if (samples_[k] >= kMinSamples && latency_[k] > 0) known.emplace_back(latency_[k], k);
  }
  for (const auto& [k, need] : work_needed(std::move(known), agent_cap_)) need_[k] = need;
}

bool LeastLoaded::too_slow(std::size_t k) const noexcept {
  return need_[k] > 0 && queue_.size() + std::min(backlog_, Chunk::kPlenty) < need_[k];
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
    if (too_slow(k)) {  // until the next refresh, unless nothing else is left
      benched_flag_[k] = true;
      benched_.push_back(k);
      idle_.erase(idle_.begin());
      // Nothing else healthy: the faster agents it was benched for went cooling meanwhile, so
      // recount (the fastest healthy agent never needs anything: this ends).
      if (idle_.empty()) refresh();
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
  if (idle_.empty() && benched_.empty() && !queue_.empty() && on_return_) {
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
  if (r.success) {
    const double seconds = r.latency.count();
    latency_[k] = samples_[k] == 0 ? seconds
                                   : (1 - kLatencyWeight) * latency_[k] + kLatencyWeight * seconds;
    ++samples_[k];
  }
  if (!cooling_flag_[k] && !benched_flag_[k]) {
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
    on_return_(std::move(back), down());
    return;
  }
  on_answer_(work.index, std::move(r));
}

}  // namespace swarm::mpi::detail
