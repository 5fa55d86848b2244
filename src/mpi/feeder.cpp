#include "feeder.hpp"

namespace swarm::mpi::detail {

Feeder::Feeder(AgentPool& pool, std::size_t priorities, CallOptions call)
    : pool_(pool),
      call_(call),
      cap_(pool.options().concurrency),
      agent_cap_(pool.options().per_agent_concurrency),
      tickets_(priorities),
      agents_(pool.size()) {}

void Feeder::add(std::size_t priority, std::size_t slot, std::shared_ptr<const std::string> prompt,
                 AgentPool::ResponseFn done) {
  Agent& a = agents_.at(slot);
  if (a.queued.empty()) {  // sized on first use: a rank may hold thousands of idle agents
    a.queued.resize(tickets_.size());
    a.parked.assign(tickets_.size(), 0);
  }
  a.queued.at(priority).push_back({std::move(prompt), std::move(done)});
  tickets_[priority].push_back(slot);
}

void Feeder::pump() {
  for (std::size_t w = tickets_.size(); w-- > 0;) {
    auto& line = tickets_[w];
    while (!line.empty()) {
      if (pool_.outstanding() >= cap_) return;
      const std::size_t k = line.front();
      line.pop_front();
      Agent& a = agents_[k];
      if (agent_cap_ != 0 && a.in_pool >= agent_cap_) {
        ++a.parked[w];  // back in line when one of this agent's requests finishes
        continue;
      }
      Request r = std::move(a.queued[w].front());
      a.queued[w].pop_front();
      ++a.in_pool;
      pool_.submit(
          k, *r.prompt,
          [this, k, done = std::move(r.done)](Response&& resp) {
            release(k);
            done(std::move(resp));
          },
          call_);
    }
  }
}

void Feeder::release(std::size_t k) {
  Agent& a = agents_[k];
  --a.in_pool;
  for (std::size_t w = a.parked.size(); w-- > 0;) {
    if (a.parked[w] == 0) continue;
    --a.parked[w];
    tickets_[w].push_front(k);  // it was at the head of its line when it was set aside
    return;
  }
}

}  // namespace swarm::mpi::detail
