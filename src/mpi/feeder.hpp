#pragma once
// Internal: hands a rank's queued requests to its AgentPool, higher priority first.
//
// The pool serves first come, first served, so if a streaming pipeline's requests went straight
// in, every request of an item's second stage would queue behind the first stage's whole backlog
// (all items are ready for stage 1 at once) and streaming would degrade to stage-by-stage.
// Requests wait here instead and enter the pool only while it has a free slot (and, with a
// per-agent cap, their agent has one), so nothing queues inside the pool and a finished
// request's slot goes to the most advanced waiting item.

#include <cstddef>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "swarm/pool.hpp"

namespace swarm::mpi::detail {

class Feeder {
 public:
  /// `priorities` levels, 0 the lowest; agents are slots of `pool`.
  Feeder(AgentPool& pool, std::size_t priorities, CallOptions call);
  // Completion functions in the pool hold `this`.
  Feeder(const Feeder&) = delete;
  Feeder& operator=(const Feeder&) = delete;

  /// Queues `prompt` for pool slot `slot`; `done` runs inside a later AgentPool::poll().
  void add(std::size_t priority, std::size_t slot, std::shared_ptr<const std::string> prompt,
           AgentPool::ResponseFn done);

  /// Moves queued requests into the pool while it has room, highest priority first.
  void pump();

 private:
  struct Request {
    std::shared_ptr<const std::string> prompt;  // one copy however many agents a task has
    AgentPool::ResponseFn done;
  };
  struct Agent {
    std::size_t in_pool = 0;                  // submitted, not completed
    std::vector<std::deque<Request>> queued;  // per priority, oldest first
    std::vector<std::size_t> parked;          // per priority: tickets set aside at the agent's cap
  };

  void release(std::size_t slot);

  AgentPool& pool_;
  CallOptions call_;
  std::size_t cap_;
  std::size_t agent_cap_;
  std::vector<std::deque<std::size_t>> tickets_;  // per priority: one slot per queued request
  std::vector<Agent> agents_;
};

}  // namespace swarm::mpi::detail
