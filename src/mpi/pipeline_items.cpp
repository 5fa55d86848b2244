// run_pipeline_items: the streaming pipeline, as a plan plus an item state machine over the task
// farm. The root keeps every (item, stage) task's state and posts each ready task to the farm;
// the farm runs each target's request on the rank that drives the agent and brings the answers
// back as they finish; an item's next stages are posted as soon as its previous ones are done.

#include <algorithm>
#include <chrono>
#include <deque>
#include <utility>

#include <fmt/format.h>

#include "collectives.hpp"
#include "pipeline_plan.hpp"
#include "progress.hpp"
#include "swarm/mpi/pipeline.hpp"
#include "swarm/mpi/swarm.hpp"
#include "task_farm.hpp"
#include "transport.hpp"
#include "wire.hpp"

namespace swarm::mpi {
namespace {

enum class StageState : std::uint8_t { waiting, running, done, failed };

/// Root: every item's progress through the stages.
class ItemRun {
 public:
  ItemRun(const std::vector<Stage>& stages, const detail::Plan& plan,
          const std::vector<std::string>& items, const ItemsOptions& options, ItemsResult& out)
      : stages_(stages), plan_(plan), items_(items), options_(options), out_(out) {}

  /// Posts every item's first stages (items without stages finish at once).
  void start(detail::TaskFarm& farm) {
    out_.items.resize(items_.size());
    state_.assign(items_.size(), std::vector<StageState>(stages_.size(), StageState::waiting));
    for (std::size_t i = 0; i < items_.size(); ++i) {
      auto& st = out_.items[i].stages;
      st.resize(stages_.size());
      for (std::size_t s = 0; s < stages_.size(); ++s) {
        st[s].name = stages_[s].name;
        st[s].agents = plan_.agents[s];
        st[s].wave = plan_.wave[s];
      }
      if (stages_.empty()) {
        out_.items[i].success = true;
        report(i);
      }
    }
    for (std::size_t i = 0; i < items_.size() && !stages_.empty(); ++i) post_ready(farm, i);
    settle(farm);
  }

  /// One answer of a task.
  void take(detail::FarmResult&& r) {
    Task& task = tasks_.at(r.id);
    out_.items[task.item].stages[task.stage].responses.at(r.pos) = std::move(r.response);
    --outstanding_;
    if (--task.remaining == 0) ready_.push_back(r.id);
  }

  /// Finishes the tasks whose answers are all in and posts what they unblock.
  void settle(detail::TaskFarm& farm) {
    while (!ready_.empty()) {
      const Task task = tasks_[ready_.front()];
      ready_.pop_front();
      finish_task(farm, task);
    }
  }

  [[nodiscard]] bool finished() const noexcept { return finished_ == items_.size(); }
  /// Answers still on their way (stragglers of failed items included).
  [[nodiscard]] std::size_t outstanding() const noexcept { return outstanding_; }

 private:
  struct Task {
    std::size_t item, stage, remaining;
  };

  void post_ready(detail::TaskFarm& farm, std::size_t i) {
    for (std::size_t s = 0; s < stages_.size(); ++s) {
      if (state_[i][s] != StageState::waiting) continue;
      const bool deps_done =
          std::all_of(plan_.deps[s].begin(), plan_.deps[s].end(),
                      [&](std::size_t d) { return state_[i][d] == StageState::done; });
      if (deps_done) post(farm, i, s);
    }
  }

  void post(detail::TaskFarm& farm, std::size_t i, std::size_t s) {
    StageResult& res = out_.items[i].stages[s];
    res.prompt =
        detail::fill_stage(stages_[s], plan_.deps[s], stages_, out_.items[i].stages, items_[i]);
    res.ran = true;
    res.responses.resize(plan_.agents[s].size());
    state_[i][s] = StageState::running;
    const std::uint64_t id = tasks_.size();
    tasks_.push_back({i, s, plan_.agents[s].size()});
    outstanding_ += plan_.agents[s].size();
    if (options_.record_events)
      out_.events.push_back(fmt::format("start {} {}", i, stages_[s].name));
    if (plan_.agents[s].empty()) ready_.push_back(id);
    std::vector<detail::FarmTarget> targets;
    for (std::size_t j = 0; j < plan_.agents[s].size(); ++j) {
      targets.push_back({plan_.agents[s][j], static_cast<std::uint32_t>(j)});
    }
    farm.post(id, static_cast<std::uint32_t>(plan_.wave[s]), res.prompt, targets);
  }

  void finish_task(detail::TaskFarm& farm, const Task& task) {
    ItemResult& item = out_.items[task.item];
    StageResult& res = item.stages[task.stage];
    detail::finish_stage(stages_[task.stage], res);
    if (options_.record_events) {
      out_.events.push_back(fmt::format("done {} {}", task.item, stages_[task.stage].name));
    }
    auto& states = state_[task.item];
    if (!res.success) {
      states[task.stage] = StageState::failed;
      if (item.error.empty()) {
        item.error = res.error;  // the item stops here; its other running stages are ignored
        report(task.item);
      }
      return;
    }
    states[task.stage] = StageState::done;
    if (!item.error.empty()) return;
    post_ready(farm, task.item);
    if (std::all_of(states.begin(), states.end(), [](auto v) { return v == StageState::done; })) {
      item.success = true;
      item.output = item.stages.back().output;
      report(task.item);
    }
  }

  void report(std::size_t i) {
    ++finished_;
    if (options_.on_item) options_.on_item(i, out_.items[i]);
  }

  const std::vector<Stage>& stages_;
  const detail::Plan& plan_;
  const std::vector<std::string>& items_;
  const ItemsOptions& options_;
  ItemsResult& out_;
  std::vector<Task> tasks_;
  std::deque<std::size_t> ready_;  // tasks whose answers are all in
  std::vector<std::vector<StageState>> state_;
  std::size_t finished_ = 0;
  std::size_t outstanding_ = 0;
};

/// Collective: every rank learns each item's outcome (the root's stages stay on the root).
void share_outcomes(Swarm& swarm, ItemsResult& out) {
  std::vector<detail::Outcome> outcomes;
  if (swarm.communicator().is_root()) {
    for (const auto& item : out.items) outcomes.push_back({item.success, item.output, item.error});
  }
  std::vector<char> bytes =
      swarm.communicator().is_root() ? detail::encode(outcomes) : std::vector<char>{};
  detail::broadcast_from_root(swarm, bytes);
  if (swarm.communicator().is_root()) return;
  for (auto& o : detail::decode<std::vector<detail::Outcome>>(bytes)) {
    ItemResult& item = out.items.emplace_back();
    item.success = o.success;
    item.output = std::move(o.output);
    item.error = std::move(o.error);
  }
}

}  // namespace

ItemsResult run_pipeline_items(Swarm& swarm, const std::vector<Stage>& stages,
                               const std::vector<std::string>& items, const ItemsOptions& options) {
  const auto t0 = std::chrono::steady_clock::now();
  const detail::Plan plan = detail::make_plan(swarm, stages, options.reuse_agents);
  ItemsResult out;
  {
    ItemRun run(stages, plan, items, options, out);
    detail::TaskFarm farm(swarm, plan.waves, options.call,
                          [&run](detail::FarmResult&& r) { run.take(std::move(r)); });
    if (!swarm.communicator().is_root()) {
      farm.serve();
    } else {
      run.start(farm);
      // Stragglers of failed items are received too, so no answer is left in flight.
      while (!run.finished() || run.outstanding() > 0) {
        farm.step();
        run.settle(farm);
      }
      farm.close();
    }
  }
  share_outcomes(swarm, out);
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

}  // namespace swarm::mpi
