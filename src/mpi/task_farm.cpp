#include "task_farm.hpp"

#include <map>
#include <stdexcept>
#include <vector>

#include "swarm/mpi/swarm.hpp"
#include "wire.hpp"

namespace swarm::mpi::detail {
namespace {

constexpr int kTaskTag = 1;    // root -> owner: a FarmTask
constexpr int kResultTag = 2;  // owner -> root: a FarmResult
constexpr int kCloseTag = 3;   // root -> every rank: no more tasks

}  // namespace

TaskFarm::TaskFarm(Swarm& swarm, std::size_t priorities, CallOptions call, ResultFn on_result)
    : swarm_(swarm),
      comm_(swarm.communicator().mpi_communicator()),
      progress_(swarm),
      sends_(comm_.get(), progress_),
      on_result_(std::move(on_result)) {
  // A task names its target agents (a pipeline stage's): none may answer for another.
  call.may_fail_over = false;
  if (!swarm.local_agents().empty()) feeder_.emplace(swarm.rank_pool(), priorities, call);
}

TaskFarm::~TaskFarm() = default;

void TaskFarm::enqueue(const FarmTask& task, std::shared_ptr<const std::string> prompt,
                       const std::function<void(FarmResult&&)>& deliver) {
  if (!feeder_) throw std::logic_error("task farm: a task for a rank without agents");
  for (const auto& t : task.targets) {
    const auto agent = static_cast<std::size_t>(t.agent);
    const Placement p = swarm_.placement(agent);
    feeder_->add(task.priority, p.slot, prompt,
                 [deliver, id = task.id, pos = t.pos, agent](Response&& r) {
                   r.agent_index = static_cast<std::int64_t>(agent);
                   deliver(FarmResult{id, pos, std::move(r)});
                 });
  }
}

void TaskFarm::post(std::uint64_t id, std::uint32_t priority, const std::string& prompt,
                    std::span<const FarmTarget> targets) {
  FarmTask local{id, priority, {}, {}};
  std::map<int, FarmTask> remote;
  for (const auto& t : targets) {
    const int owner = swarm_.owner_of(static_cast<std::size_t>(t.agent));
    if (owner == Communicator::kRoot) {
      local.targets.push_back(t);
      continue;
    }
    auto [it, fresh] = remote.try_emplace(owner, FarmTask{id, priority, {}, {}});
    it->second.targets.push_back(t);
  }
  if (!local.targets.empty()) {
    enqueue(local, std::make_shared<const std::string>(prompt),
            [this](FarmResult&& r) { on_result_(std::move(r)); });
  }
  for (auto& [rank, task] : remote) {
    task.prompt = prompt;
    sends_.send(encode(task), rank, kTaskTag);
  }
}

bool TaskFarm::drive() {
  if (!feeder_) return false;
  feeder_->pump();
  const bool completed = progress_.drive(kPollWithMpi) > 0;
  feeder_->pump();
  return completed;
}

void TaskFarm::step() {
  bool moved = drive();
  while (auto m = try_receive(comm_.get(), MPI_ANY_SOURCE, kResultTag, progress_)) {
    on_result_(decode<FarmResult>(m->bytes));
    moved = true;
  }
  sends_.progress();
  progress_.end_round(moved);
}

void TaskFarm::close() {
  for (int r = 1; r < swarm_.communicator().size(); ++r) sends_.send({}, r, kCloseTag);
  sends_.finish();
}

void TaskFarm::serve() {
  const auto send_back = [this](FarmResult&& r) {
    sends_.send(encode(r), Communicator::kRoot, kResultTag);
  };
  for (bool open = true; open;) {
    bool moved = drive();
    while (auto m = try_receive(comm_.get(), Communicator::kRoot, MPI_ANY_TAG, progress_)) {
      moved = true;
      if (m->tag == kCloseTag) {
        open = false;
        break;
      }
      FarmTask task = decode<FarmTask>(m->bytes);
      enqueue(task, std::make_shared<const std::string>(std::move(task.prompt)), send_back);
    }
    sends_.progress();
    progress_.end_round(moved);
  }
  sends_.finish();
}

}  // namespace swarm::mpi::detail
