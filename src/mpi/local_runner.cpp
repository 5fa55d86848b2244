#include "local_runner.hpp"

#include <algorithm>
#include <stdexcept>

#include "swarm/mpi/swarm.hpp"

namespace swarm::mpi::detail {

LocalRunner::LocalRunner(Swarm& swarm, CallOptions call, std::size_t batch_size)
    : swarm_(swarm), call_(call), batch_size_(batch_size) {}

std::size_t LocalRunner::agent_of(const Work& w) const {
  return static_cast<std::size_t>(agent_for(w.index, swarm_.size()));
}

void LocalRunner::add(std::vector<Work> work, ResultFn done) {
  Batch& b = batches_.emplace_back();
  b.work = std::move(work);
  b.done = std::move(done);
  b.remaining = b.work.size();
  if (batch_size_ > 1) {
    std::vector<std::vector<std::size_t>> by_agent(swarm_.local_agents().size());
    for (std::size_t k = 0; k < b.work.size(); ++k) {
      by_agent[swarm_.local_index(agent_of(b.work[k]))].push_back(k);
    }
    for (const auto& ks : by_agent) {
      for (std::size_t start = 0; start < ks.size(); start += batch_size_) {
        const auto stop = std::min(start + batch_size_, ks.size());
        b.units.emplace_back(ks.begin() + static_cast<long>(start),
                             ks.begin() + static_cast<long>(stop));
      }
    }
  }
  b.unit_count = batch_size_ > 1 ? b.units.size() : b.work.size();
}

void LocalRunner::submit(Batch& b, std::size_t u) {
  if (batch_size_ > 1) {
    std::vector<std::string> prompts;
    for (const auto k : b.units[u]) prompts.push_back(std::move(b.work[k].prompt));
    swarm_.submit_batch(
        agent_of(b.work[b.units[u].front()]), std::move(prompts),
        [this, &b, u](std::vector<Response>&& out) {
          for (std::size_t j = 0; j < b.units[u].size(); ++j)
            b.done(b.units[u][j], std::move(out[j]));
          b.remaining -= b.units[u].size();
          --outstanding_;
        },
        call_);
    return;
  }
  CallOptions c = call_;
  if (b.work[u].max_tokens) c.max_tokens = b.work[u].max_tokens;
  swarm_.submit(
      agent_of(b.work[u]), b.work[u].prompt,
      [this, &b, u](Response&& r) {
        b.done(u, std::move(r));
        --b.remaining;
        --outstanding_;
      },
      c);
  // The engine copied the prompt; the window's copy is not needed any more.
  b.work[u].prompt = std::string{};
}

void LocalRunner::step(std::chrono::milliseconds max_wait) {
  for (auto& b : batches_) {
    if (b.next < b.unit_count && limit_ == 0) {
      limit_ = 2 * swarm_.rank_pool().options().concurrency;
    }
    for (; b.next < b.unit_count && outstanding_ < limit_; ++b.next, ++outstanding_) {
      submit(b, b.next);
    }
    if (b.next < b.unit_count) break;  // the cap is reached: later batches wait their turn
  }
  if (outstanding_ > 0) swarm_.rank_pool().poll(max_wait);
}

bool LocalRunner::front_done() const noexcept {
  return !batches_.empty() && batches_.front().remaining == 0 &&
         batches_.front().next == batches_.front().unit_count;
}

void LocalRunner::pop_front() {
  if (!front_done()) throw std::logic_error("LocalRunner::pop_front: the batch is not done");
  batches_.pop_front();
}

void run_local_each(Swarm& swarm, const std::vector<Work>& work, CallOptions call,
                    std::size_t batch_size, const ResultFn& done) {
  if (work.empty()) return;
  LocalRunner runner(swarm, call, batch_size);
  runner.add(work, done);
  while (!runner.front_done()) runner.step(std::chrono::milliseconds(200));
}

std::vector<Response> run_local(Swarm& swarm, const std::vector<Work>& work, CallOptions call,
                                std::size_t batch_size) {
  std::vector<Response> results(work.size());
  run_local_each(swarm, work, call, batch_size,
                 [&](std::size_t k, Response&& r) { results[k] = std::move(r); });
  return results;
}

}  // namespace swarm::mpi::detail
