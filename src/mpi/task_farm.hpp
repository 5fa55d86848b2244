#pragma once
// Internal: a root-coordinated task farm. The root posts tasks (a prompt for some agents, with a
// priority); each target's request runs on the rank that drives the agent, and each answer comes
// back to the root as it finishes. Workers serve until the root closes the farm.
//
// Point-to-point on a private duplicate of the swarm's communicator, so the farm's messages and
// an embedding code's own can never match each other. Messages are matched and received as one
// (MPI_Improbe + MPI_Mrecv). On every rank a Feeder decides which queued request the pool gets
// next (higher priority first), and every wait goes through Progress.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "feeder.hpp"
#include "messages.hpp"
#include "private_comm.hpp"
#include "progress.hpp"
#include "swarm/pool.hpp"
#include "transport.hpp"

namespace swarm::mpi {
class Swarm;
}

namespace swarm::mpi::detail {

class TaskFarm {
 public:
  /// Root: receives each answer, for local and remote targets alike, inside step().
  using ResultFn = std::function<void(FarmResult&&)>;

  /// Collective over the swarm's communicator (duplicates it). `priorities` levels (0 lowest);
  /// `on_result` is significant on the root.
  TaskFarm(Swarm& swarm, std::size_t priorities, CallOptions call, ResultFn on_result = {});
  TaskFarm(const TaskFarm&) = delete;
  TaskFarm& operator=(const TaskFarm&) = delete;
  ~TaskFarm();

  /// Root: `prompt` goes to every target; the root's own targets wait in its feeder, the others
  /// travel in one message per owning rank.
  void post(std::uint64_t id, std::uint32_t priority, const std::string& prompt,
            std::span<const FarmTarget> targets);
  /// Root: one round of feeding, HTTP and MPI; answers that arrived go to on_result. Sleeps
  /// the idle back-off when nothing happened.
  void step();
  /// Root: tells every other rank to stop serving and waits for the farm's sends. Call once no
  /// answer is outstanding.
  void close();
  /// Non-root: serves the root's tasks until close().
  void serve();

 private:
  void enqueue(const FarmTask& task, std::shared_ptr<const std::string> prompt,
               const std::function<void(FarmResult&&)>& deliver);
  /// Feeds the pool and drives HTTP; true when something completed.
  bool drive();

  Swarm& swarm_;
  PrivateComm comm_;
  Progress progress_;
  SendQueue sends_;
  ResultFn on_result_;
  std::optional<Feeder> feeder_;  // ranks that drive agents
};

}  // namespace swarm::mpi::detail
