// run_pipeline_items: the streaming pipeline. The root keeps every (item, stage) task's state
// and sends each ready task to the ranks owning the stage's agents; those ranks serve tasks until
// the root says done, posting results back point-to-point as each request finishes. On every
// rank a Feeder decides which queued request the AgentPool gets next (later stages first).

#include <algorithm>
#include <chrono>
#include <deque>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <utility>

#include <fmt/format.h>
#include <mpi.h>

#include "collectives.hpp"
#include "pack.hpp"
#include "pipeline_plan.hpp"
#include "swarm/mpi/broadcast.hpp"
#include "swarm/mpi/error.hpp"
#include "swarm/mpi/pipeline.hpp"
#include "swarm/mpi/strings.hpp"
#include "swarm/mpi/swarm.hpp"

namespace swarm::mpi {

using detail::fill_stage;
using detail::finish_stage;
using detail::get_string;
using detail::put_string;

namespace {

// root -> owner: u64 task, u32 wave, u32 n, n x (u64 agent, u32 pos), prompt
constexpr int kTaskTag = 7301;
constexpr int kResultTag = 7302;  // owner -> root: u64 task, u32 pos, Response
constexpr int kDoneTag = 7303;    // root -> every rank: no more tasks

/// Non-blocking sends whose buffers live until MPI is done with them.
class Sender {
 public:
  explicit Sender(MPI_Comm comm) : comm_(comm) {}
  void send(std::vector<char> data, int dest, int tag) {
    auto& e = q_.emplace_back(std::move(data), MPI_REQUEST_NULL);
    check(MPI_Isend(e.first.data(), static_cast<int>(e.first.size()), MPI_CHAR, dest, tag, comm_,
                    &e.second),
          "MPI_Isend");
  }
  void progress() {
    for (auto it = q_.begin(); it != q_.end();) {
      int flag = 0;
      check(MPI_Test(&it->second, &flag, MPI_STATUS_IGNORE), "MPI_Test");
      it = flag != 0 ? q_.erase(it) : std::next(it);
    }
  }
  void finish() {
    for (auto& e : q_) check(MPI_Wait(&e.second, MPI_STATUS_IGNORE), "MPI_Wait");
    q_.clear();
  }

 private:
  MPI_Comm comm_;
  std::list<std::pair<std::vector<char>, MPI_Request>> q_;
};

/// Hands this rank's requests to its AgentPool, later waves first. The pool serves first come,
/// first served, so if the requests went straight in, every request of an item's second stage
/// would queue behind the first stage's whole backlog (all items are ready for stage 1 at once)
/// and streaming would degrade to stage-by-stage. Requests wait here instead and enter the pool
/// only while it has a free slot (and, with a per-agent cap, their agent has one), so nothing
/// queues inside the pool and a finished request's slot goes to the most advanced waiting item.
class Feeder {
 public:
  Feeder(AgentPool& pool, std::size_t agents, std::size_t waves, CallOptions call)
      : pool_(pool),
        call_(call),
        cap_(pool.options().concurrency),
        agent_cap_(pool.options().per_agent_concurrency),
        tickets_(waves),
        agents_(agents) {}
  // Completion functions in the pool hold `this`.
  Feeder(const Feeder&) = delete;
  Feeder& operator=(const Feeder&) = delete;

  /// Queues `prompt` for local agent `agent`; `done` runs inside a later AgentPool::poll().
  void add(std::size_t wave, std::size_t agent, std::shared_ptr<const std::string> prompt,
           AgentPool::ResponseFn done) {
    Agent& a = agents_.at(agent);
    if (a.queued.empty()) {  // sized on first use: a rank may hold thousands of idle agents
      a.queued.resize(tickets_.size());
      a.parked.assign(tickets_.size(), 0);
    }
    a.queued.at(wave).push_back({std::move(prompt), std::move(done)});
    tickets_[wave].push_back(agent);
  }

  /// Moves queued requests into the pool while it has room, deepest wave first.
  void pump() {
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

 private:
  struct Request {
    std::shared_ptr<const std::string> prompt;  // one copy however many agents a stage has
    AgentPool::ResponseFn done;
  };
  struct Agent {
    std::size_t in_pool = 0;                  // submitted, not completed
    std::vector<std::deque<Request>> queued;  // per wave, oldest first
    std::vector<std::size_t> parked;          // per wave: tickets set aside at the agent's cap
  };

  void release(std::size_t k) {
    Agent& a = agents_[k];
    --a.in_pool;
    for (std::size_t w = a.parked.size(); w-- > 0;) {
      if (a.parked[w] == 0) continue;
      --a.parked[w];
      tickets_[w].push_front(k);  // it was at the head of its line when it was set aside
      return;
    }
  }

  AgentPool& pool_;
  CallOptions call_;
  std::size_t cap_;
  std::size_t agent_cap_;
  std::vector<std::deque<std::size_t>> tickets_;  // per wave: one local agent per queued request
  std::vector<Agent> agents_;
};

std::vector<char> receive(MPI_Comm comm, const MPI_Status& st) {
  int n = 0;
  check(MPI_Get_count(&st, MPI_CHAR, &n), "MPI_Get_count");
  std::vector<char> buf(static_cast<std::size_t>(n));
  check(MPI_Recv(buf.data(), n, MPI_CHAR, st.MPI_SOURCE, st.MPI_TAG, comm, MPI_STATUS_IGNORE),
        "MPI_Recv");
  return buf;
}

/// Non-root ranks: serve the root's requests on this rank's agents until told to stop.
void serve(Swarm& swarm, std::size_t waves, CallOptions call) {
  const MPI_Comm comm = swarm.communicator().mpi_communicator();
  Sender out(comm);
  AgentPool* pool = swarm.shard().count > 0 ? &swarm.local_pool() : nullptr;
  std::optional<Feeder> feeder;
  if (pool != nullptr) feeder.emplace(*pool, swarm.shard().count, waves, call);
  const std::int64_t begin = swarm.shard().begin;
  bool done = false;
  while (!done) {
    const bool busy = pool != nullptr && pool->outstanding() > 0;
    for (bool first = true;; first = false) {
      int flag = 0;
      MPI_Status st;
      if (first && !busy) {
        check(MPI_Probe(Communicator::kRoot, MPI_ANY_TAG, comm, &st), "MPI_Probe");
        flag = 1;
      } else {
        check(MPI_Iprobe(Communicator::kRoot, MPI_ANY_TAG, comm, &flag, &st), "MPI_Iprobe");
      }
      if (flag == 0) break;
      const auto msg = receive(comm, st);
      if (st.MPI_TAG == kDoneTag) {
        done = true;
        break;
      }
      if (pool == nullptr) throw std::logic_error("pipeline: task for a rank without agents");
      detail::ByteReader in(msg.data(), msg.size());
      const auto task = in.get<std::uint64_t>();
      const auto wave = in.get<std::uint32_t>();
      const auto n = in.get<std::uint32_t>();
      std::vector<std::pair<std::uint64_t, std::uint32_t>> targets(n);
      for (auto& t : targets) {
        t.first = in.get<std::uint64_t>();
        t.second = in.get<std::uint32_t>();
      }
      const auto prompt = std::make_shared<const std::string>(in.get_string());
      for (const auto& [agent, pos] : targets) {
        feeder->add(wave, static_cast<std::size_t>(static_cast<std::int64_t>(agent) - begin),
                    prompt, [&out, task, agent, pos](Response&& r) {
                      r.agent_index = static_cast<std::int64_t>(agent);
                      detail::ByteWriter w;
                      w.put(task);
                      w.put(pos);
                      detail::put_response(w, r);
                      out.send(std::move(w.bytes()), Communicator::kRoot, kResultTag);
                    });
      }
    }
    if (feeder) feeder->pump();
    if (pool != nullptr && pool->outstanding() > 0) {
      pool->poll(std::chrono::milliseconds(10));
      feeder->pump();
    }
    out.progress();
  }
  out.finish();
}

}  // namespace

ItemsResult run_pipeline_items(Swarm& swarm, const std::vector<Stage>& stages,
                               const std::vector<std::string>& items, const ItemsOptions& options) {
  const auto t0 = std::chrono::steady_clock::now();
  const bool reuse_agents = options.reuse_agents;
  const CallOptions call = options.call;
  const ItemDoneFn& on_item = options.on_item;
  const detail::Plan plan = detail::make_plan(swarm, stages, reuse_agents);
  const Communicator comm = swarm.communicator();
  const MPI_Comm mpi_comm = comm.mpi_communicator();
  ItemsResult out;
  std::string packed;

  if (!comm.is_root()) {
    serve(swarm, plan.waves, call);
  } else {
    struct Task {
      std::size_t item, stage, remaining;
    };
    std::vector<Task> tasks;
    std::deque<std::size_t> ready;  // tasks whose responses are all in
    std::vector<std::vector<int>> state(items.size(), std::vector<int>(stages.size(), 0));
    out.items.resize(items.size());
    std::size_t finished = 0;
    Sender sender(mpi_comm);
    AgentPool* pool = swarm.shard().count > 0 ? &swarm.local_pool() : nullptr;
    std::optional<Feeder> feeder;
    if (pool != nullptr) feeder.emplace(*pool, swarm.shard().count, plan.waves, call);
    // Local requests of newly ready tasks wait in the feeder; this hands them to the pool.
    const auto drive = [&](std::chrono::milliseconds wait) {
      if (pool == nullptr) return;
      feeder->pump();
      if (pool->outstanding() > 0) pool->poll(wait);
      feeder->pump();
    };

    const auto dispatch = [&](std::size_t i, std::size_t s) {
      StageResult& res = out.items[i].stages[s];
      res.prompt = fill_stage(stages[s], plan.deps[s], stages, out.items[i].stages, items[i]);
      res.ran = true;
      res.responses.resize(plan.agents[s].size());
      state[i][s] = 1;
      const std::uint64_t id = tasks.size();
      tasks.push_back({i, s, plan.agents[s].size()});
      if (options.record_events) {
        out.events.push_back(fmt::format("start {} {}", i, stages[s].name));
      }
      if (plan.agents[s].empty()) ready.push_back(id);
      std::map<int, std::vector<std::pair<std::uint64_t, std::uint32_t>>> remote;
      std::shared_ptr<const std::string> prompt;  // shared by this rank's agents of the stage
      for (std::size_t j = 0; j < plan.agents[s].size(); ++j) {
        const std::size_t a = plan.agents[s][j];
        const int owner = swarm.owner_of(a);
        if (owner != Communicator::kRoot) {
          remote[owner].emplace_back(a, static_cast<std::uint32_t>(j));
          continue;
        }
        if (!prompt) prompt = std::make_shared<const std::string>(res.prompt);
        feeder->add(plan.wave[s], a, prompt, [&, id, a, j](Response&& r) {
          r.agent_index = static_cast<std::int64_t>(a);
          out.items[tasks[id].item].stages[tasks[id].stage].responses[j] = std::move(r);
          if (--tasks[id].remaining == 0) ready.push_back(id);
        });
      }
      for (auto& [rank, targets] : remote) {
        detail::ByteWriter w;
        w.put(id);
        w.put(static_cast<std::uint32_t>(plan.wave[s]));
        w.put(static_cast<std::uint32_t>(targets.size()));
        for (const auto& [a, pos] : targets) {
          w.put(a);
          w.put(pos);
        }
        w.put_string(res.prompt);
        sender.send(std::move(w.bytes()), rank, kTaskTag);
      }
    };
    const auto take_result = [&](const MPI_Status& st) {
      const auto msg = receive(mpi_comm, st);
      detail::ByteReader in(msg.data(), msg.size());
      const auto id = in.get<std::uint64_t>();
      const auto pos = in.get<std::uint32_t>();
      Task& task = tasks.at(id);
      out.items[task.item].stages[task.stage].responses.at(pos) = detail::get_response(in);
      if (--task.remaining == 0) ready.push_back(id);
    };
    const auto dispatch_ready = [&](std::size_t i) {
      for (std::size_t s = 0; s < stages.size(); ++s) {
        if (state[i][s] != 0) continue;
        const bool deps_done = std::all_of(plan.deps[s].begin(), plan.deps[s].end(),
                                           [&](std::size_t d) { return state[i][d] == 2; });
        if (deps_done) dispatch(i, s);
      }
    };

    for (std::size_t i = 0; i < items.size(); ++i) {
      auto& st = out.items[i].stages;
      st.resize(stages.size());
      for (std::size_t s = 0; s < stages.size(); ++s) {
        st[s].name = stages[s].name;
        st[s].agents = plan.agents[s];
        st[s].wave = plan.wave[s];
      }
      if (stages.empty()) {
        out.items[i].success = true;
        ++finished;
        if (on_item) on_item(i, out.items[i]);
      }
    }
    for (std::size_t i = 0; i < items.size() && !stages.empty(); ++i) dispatch_ready(i);

    while (finished < items.size()) {
      while (!ready.empty()) {
        const Task task = tasks[ready.front()];
        ready.pop_front();
        ItemResult& item = out.items[task.item];
        StageResult& res = item.stages[task.stage];
        finish_stage(stages[task.stage], res);
        if (options.record_events) {
          out.events.push_back(fmt::format("done {} {}", task.item, stages[task.stage].name));
        }
        if (!res.success) {
          state[task.item][task.stage] = 3;
          if (item.error.empty()) {
            item.error = res.error;
            ++finished;  // the item stops here; its other running stages are ignored
            if (on_item) on_item(task.item, item);
          }
          continue;
        }
        state[task.item][task.stage] = 2;
        if (!item.error.empty()) continue;
        dispatch_ready(task.item);
        if (std::all_of(state[task.item].begin(), state[task.item].end(),
                        [](int v) { return v == 2; })) {
          item.success = true;
          item.output = item.stages.back().output;
          ++finished;
          if (on_item) on_item(task.item, item);
        }
      }
      if (finished == items.size()) break;
      if (feeder) feeder->pump();
      const bool local_busy = pool != nullptr && pool->outstanding() > 0;
      for (bool first = true;; first = false) {
        int flag = 0;
        MPI_Status st;
        if (first && !local_busy && ready.empty()) {
          check(MPI_Probe(MPI_ANY_SOURCE, kResultTag, mpi_comm, &st), "MPI_Probe");
          flag = 1;
        } else {
          check(MPI_Iprobe(MPI_ANY_SOURCE, kResultTag, mpi_comm, &flag, &st), "MPI_Iprobe");
        }
        if (flag == 0) break;
        take_result(st);
      }
      drive(std::chrono::milliseconds(5));
      sender.progress();
    }
    // Wait for stragglers of failed items so no result message is left unreceived.
    for (auto& task : tasks) {
      while (task.remaining > 0) {
        drive(std::chrono::milliseconds(5));
        int flag = 0;
        MPI_Status st;
        check(MPI_Iprobe(MPI_ANY_SOURCE, kResultTag, mpi_comm, &flag, &st), "MPI_Iprobe");
        if (flag != 0) take_result(st);
      }
    }
    for (int r = 1; r < comm.size(); ++r) sender.send({}, r, kDoneTag);
    sender.finish();
    for (const auto& item : out.items) {
      packed += item.success ? 'S' : 'F';
      put_string(packed, item.output);
      put_string(packed, item.error);
    }
  }
  {
    detail::MpiTimer t(swarm.mpi_stats());
    mpi::broadcast(packed, comm);
  }
  if (!comm.is_root()) {
    std::size_t pos = 0;
    while (pos < packed.size()) {
      ItemResult item;
      item.success = packed[pos++] == 'S';
      item.output = get_string(packed, pos);
      item.error = get_string(packed, pos);
      out.items.push_back(std::move(item));
    }
  }
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

}  // namespace swarm::mpi
