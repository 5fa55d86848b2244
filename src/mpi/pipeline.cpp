#include "swarm/mpi/pipeline.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <exception>
#include <map>
#include <regex>
#include <stdexcept>
#include <unordered_map>
#include <utility>

#include <list>

#include <fmt/format.h>
#include <mpi.h>
#include <nlohmann/json.hpp>

#include "collectives.hpp"
#include "swarm/aggregators.hpp"
#include "swarm/mpi/broadcast.hpp"
#include "swarm/mpi/error.hpp"
#include "swarm/mpi/strings.hpp"
#include "swarm/mpi/swarm.hpp"
#include "swarm/template.hpp"

namespace swarm::mpi {

namespace {

std::string default_transform(const std::vector<Response>& responses) {
  return ::swarm::concat(responses, "\n");
}

/// Status of a wave as one string: per stage 'S'/'F', then "<len>:<output><len>:<error>".
void put_string(std::string& out, const std::string& s) {
  out += std::to_string(s.size());
  out += ':';
  out += s;
}

std::string get_string(const std::string& in, std::size_t& pos) {
  const std::size_t colon = in.find(':', pos);
  const std::size_t len = std::stoull(in.substr(pos, colon - pos));
  std::string s = in.substr(colon + 1, len);
  pos = colon + 1 + len;
  return s;
}

/// Every rank computes the same plan from the same stages, without communicating.
struct Plan {
  std::vector<std::vector<std::size_t>> deps;    ///< Indices of the stages feeding stage i.
  std::vector<std::vector<std::size_t>> agents;  ///< Swarm indices, ascending.
  std::vector<std::size_t> wave;
  std::size_t waves = 0;
};

Plan make_plan(const Swarm& swarm, const std::vector<Stage>& stages, bool reuse_agents) {
  Plan plan;
  const std::size_t n = stages.size();
  std::map<std::string, std::size_t, std::less<>> index;
  for (std::size_t i = 0; i < n; ++i) {
    const Stage& st = stages[i];
    if (st.name.empty())
      throw std::invalid_argument(fmt::format("pipeline stage {} has no name", i));
    if (index.contains(st.name)) {
      throw std::invalid_argument(fmt::format("pipeline: duplicate stage name '{}'", st.name));
    }
    std::vector<std::size_t> deps;
    if (!st.depends_on) {
      if (i > 0) deps.push_back(i - 1);
    } else {
      for (const auto& d : *st.depends_on) {
        const auto it = index.find(d);
        if (it == index.end()) {
          throw std::invalid_argument(fmt::format(
              "pipeline stage '{}' depends on '{}', which is not an earlier stage", st.name, d));
        }
        deps.push_back(it->second);
      }
    }
    for (const auto& ph : template_placeholders(st.prompt_template)) {
      if (!ph.starts_with("stage:")) continue;
      const std::string_view ref = std::string_view(ph).substr(6);
      const bool ok = std::any_of(deps.begin(), deps.end(),
                                  [&](std::size_t d) { return stages[d].name == ref; });
      if (!ok) {
        throw std::invalid_argument(fmt::format(
            "pipeline stage '{}' uses {{{}}} but does not depend on '{}'", st.name, ph, ref));
      }
    }
    std::size_t w = 0;
    for (auto d : deps) w = std::max(w, plan.wave[d] + 1);
    plan.wave.push_back(w);
    plan.waves = std::max(plan.waves, w + 1);
    plan.deps.push_back(std::move(deps));
    index.emplace(st.name, i);
  }

  // Agents.
  std::unordered_map<std::size_t, std::size_t> by_hostfile;  // built on first tag stage
  std::size_t offset = 0;
  const std::size_t size = swarm.size();
  for (const Stage& st : stages) {
    std::vector<std::size_t> agents;
    if (!st.tag_key.empty()) {
      if (by_hostfile.empty()) {
        for (std::size_t a = 0; a < size; ++a) by_hostfile.emplace(swarm.hostfile_index(a), a);
      }
      const Swarm view = swarm.by_tag(st.tag_key, st.tag_value);
      for (std::size_t k = 0; k < view.size(); ++k) {
        agents.push_back(by_hostfile.at(view.hostfile_index(k)));
      }
      std::sort(agents.begin(), agents.end());
      if (st.n_agents > 0 && agents.size() > st.n_agents) agents.resize(st.n_agents);
    } else {
      std::size_t begin = 0;
      std::size_t end = 0;
      if (reuse_agents) {
        end = st.n_agents == 0 ? size : std::min(st.n_agents, size);
      } else {
        begin = offset;
        end = st.n_agents == 0 ? size : std::min(offset + st.n_agents, size);
        offset = end;
      }
      for (std::size_t a = begin; a < end; ++a) agents.push_back(a);
    }
    plan.agents.push_back(std::move(agents));
  }
  return plan;
}

std::string fill_stage(const Stage& st, const std::vector<std::size_t>& deps,
                       const std::vector<Stage>& stages, const std::vector<StageResult>& results,
                       const std::string& initial) {
  TemplateValues values;
  values["initial"] = initial;
  std::string input;
  if (deps.empty()) {
    input = initial;
  } else {
    for (std::size_t k = 0; k < deps.size(); ++k) {
      if (k > 0) input += "\n";
      input += results[deps[k]].output;
      values["stage:" + stages[deps[k]].name] = results[deps[k]].output;
    }
  }
  values["input"] = std::move(input);
  return fill_template(st.prompt_template, values);
}

/// Root: decides a stage's outcome from its responses.
void finish_stage(const Stage& st, StageResult& res) {
  if (res.agents.empty()) {
    res.error = fmt::format("pipeline stage '{}' has no agents", st.name);
    return;
  }
  const bool any_ok =
      std::any_of(res.responses.begin(), res.responses.end(), [](auto& r) { return r.success; });
  if (!any_ok) {
    const Response& r0 = res.responses.front();
    res.error = fmt::format("pipeline stage '{}': all {} agents failed (agent {}: {})", st.name,
                            res.responses.size(), r0.agent_index, r0.error);
    return;
  }
  try {
    std::vector<Response> kept;
    if (st.filter) {
      for (const auto& r : res.responses) {
        if (st.filter(r)) kept.push_back(r);
      }
    } else {
      kept = res.responses;
    }
    res.kept = kept.size();
    res.output = st.transform ? st.transform(kept) : default_transform(kept);
    res.success = true;
  } catch (const std::exception& e) {
    res.error = fmt::format("pipeline stage '{}': filter/transform threw: {}", st.name, e.what());
  } catch (...) {
    res.error = fmt::format("pipeline stage '{}': filter/transform threw", st.name);
  }
}

}  // namespace

const StageResult* PipelineResult::stage(std::string_view name) const {
  for (const auto& s : stages) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

PipelineResult run_pipeline(Swarm& swarm, const std::vector<Stage>& stages,
                            std::string_view initial_input, bool reuse_agents, CallOptions call) {
  const auto t0 = std::chrono::steady_clock::now();
  const Plan plan = make_plan(swarm, stages, reuse_agents);
  const Communicator comm = swarm.communicator();
  const bool root = comm.is_root();

  PipelineResult out;
  out.waves = plan.waves;
  out.stages.resize(stages.size());
  for (std::size_t i = 0; i < stages.size(); ++i) {
    out.stages[i].name = stages[i].name;
    out.stages[i].agents = plan.agents[i];
    out.stages[i].wave = plan.wave[i];
  }
  if (stages.empty()) {
    out.success = true;
    out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return out;
  }

  std::string initial(root ? initial_input : std::string_view{});
  {
    detail::MpiTimer t(swarm.mpi_stats());
    mpi::broadcast(initial, comm);
  }

  const std::int64_t begin = swarm.shard().begin;
  const std::int64_t end = begin + swarm.shard().count;
  const auto mine = [&](std::size_t a) {
    return static_cast<std::int64_t>(a) >= begin && static_cast<std::int64_t>(a) < end;
  };

  for (std::size_t w = 0; w < plan.waves && out.error.empty(); ++w) {
    std::vector<std::size_t> wave;
    for (std::size_t i = 0; i < stages.size(); ++i) {
      if (plan.wave[i] == w) wave.push_back(i);
    }
    for (auto i : wave) {
      out.stages[i].prompt = fill_stage(stages[i], plan.deps[i], stages, out.stages, initial);
      out.stages[i].ran = true;
    }

    // Every stage of the wave in flight at once on this rank's agents.
    std::vector<Response> local;
    for (auto i : wave) {
      for (auto a : plan.agents[i]) {
        if (mine(a)) local.emplace_back();
      }
    }
    if (!local.empty()) {
      AgentPool& pool = swarm.local_pool();
      std::size_t slot = 0;
      for (auto i : wave) {
        for (auto a : plan.agents[i]) {
          if (!mine(a)) continue;
          const auto local_index = static_cast<std::size_t>(static_cast<std::int64_t>(a) - begin);
          pool.submit(
              local_index, out.stages[i].prompt,
              [&local, slot, a](Response&& r) {
                r.agent_index = static_cast<std::int64_t>(a);
                local[slot] = std::move(r);
              },
              call);
          ++slot;
        }
      }
      pool.wait_all();
    }
    std::vector<Response> all = detail::gather_responses(swarm, local);

    // Root: regroup (rank order, then wave order, then agent order), filter, transform.
    std::string status;
    if (root) {
      for (auto i : wave) out.stages[i].responses.resize(plan.agents[i].size());
      std::size_t next = 0;
      for (int r = 0; r < comm.size(); ++r) {
        for (auto i : wave) {
          for (std::size_t j = 0; j < plan.agents[i].size(); ++j) {
            if (swarm.owner_of(plan.agents[i][j]) != r) continue;
            if (next >= all.size()) throw std::logic_error("pipeline: gathered too few responses");
            out.stages[i].responses[j] = std::move(all[next++]);
          }
        }
      }
      if (next != all.size()) throw std::logic_error("pipeline: gathered too many responses");
      for (auto i : wave) {
        finish_stage(stages[i], out.stages[i]);
        status += out.stages[i].success ? 'S' : 'F';
        put_string(status, out.stages[i].output);
        put_string(status, out.stages[i].error);
      }
    }
    {
      detail::MpiTimer t(swarm.mpi_stats());
      mpi::broadcast(status, comm);
    }
    std::size_t pos = 0;
    for (auto i : wave) {
      StageResult& res = out.stages[i];
      res.success = status.at(pos++) == 'S';
      res.output = get_string(status, pos);
      res.error = get_string(status, pos);
      if (!res.success && out.error.empty()) out.error = res.error;
    }
  }

  out.success = out.error.empty();
  if (out.success) out.output = out.stages.back().output;
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

namespace {

constexpr int kTaskTag = 7301;  // root -> owner: u64 task, u32 n, n x (u64 agent, u32 pos), prompt
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

std::vector<char> receive(MPI_Comm comm, const MPI_Status& st) {
  int n = 0;
  check(MPI_Get_count(&st, MPI_CHAR, &n), "MPI_Get_count");
  std::vector<char> buf(static_cast<std::size_t>(n));
  check(MPI_Recv(buf.data(), n, MPI_CHAR, st.MPI_SOURCE, st.MPI_TAG, comm, MPI_STATUS_IGNORE),
        "MPI_Recv");
  return buf;
}

/// Non-root ranks: serve the root's requests on this rank's agents until told to stop.
void serve(Swarm& swarm, CallOptions call) {
  const MPI_Comm comm = swarm.communicator().mpi_communicator();
  Sender out(comm);
  AgentPool* pool = swarm.shard().count > 0 ? &swarm.local_pool() : nullptr;
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
      const auto n = in.get<std::uint32_t>();
      std::vector<std::pair<std::uint64_t, std::uint32_t>> targets(n);
      for (auto& t : targets) {
        t.first = in.get<std::uint64_t>();
        t.second = in.get<std::uint32_t>();
      }
      const std::string prompt = in.get_string();
      for (const auto& [agent, pos] : targets) {
        pool->submit(
            static_cast<std::size_t>(static_cast<std::int64_t>(agent) - begin), prompt,
            [&out, task, agent, pos](Response&& r) {
              r.agent_index = static_cast<std::int64_t>(agent);
              detail::ByteWriter w;
              w.put(task);
              w.put(pos);
              detail::put_response(w, r);
              out.send(std::move(w.bytes()), Communicator::kRoot, kResultTag);
            },
            call);
      }
    }
    if (pool != nullptr && pool->outstanding() > 0) pool->poll(std::chrono::milliseconds(10));
    out.progress();
  }
  out.finish();
}

}  // namespace

ItemsResult run_pipeline_items(Swarm& swarm, const std::vector<Stage>& stages,
                               const std::vector<std::string>& items, bool reuse_agents,
                               CallOptions call) {
  const auto t0 = std::chrono::steady_clock::now();
  const Plan plan = make_plan(swarm, stages, reuse_agents);
  const Communicator comm = swarm.communicator();
  const MPI_Comm mpi_comm = comm.mpi_communicator();
  ItemsResult out;
  std::string packed;

  if (!comm.is_root()) {
    serve(swarm, call);
  } else {
    struct Task {
      std::size_t item, stage, remaining;
    };
    std::vector<Task> tasks;
    std::vector<std::size_t> ready;  // tasks whose responses are all in
    std::vector<std::vector<int>> state(items.size(), std::vector<int>(stages.size(), 0));
    out.items.resize(items.size());
    std::size_t finished = 0;
    Sender sender(mpi_comm);
    AgentPool* pool = swarm.shard().count > 0 ? &swarm.local_pool() : nullptr;

    const auto dispatch = [&](std::size_t i, std::size_t s) {
      StageResult& res = out.items[i].stages[s];
      res.prompt = fill_stage(stages[s], plan.deps[s], stages, out.items[i].stages, items[i]);
      res.ran = true;
      res.responses.resize(plan.agents[s].size());
      state[i][s] = 1;
      const std::uint64_t id = tasks.size();
      tasks.push_back({i, s, plan.agents[s].size()});
      out.events.push_back(fmt::format("start {} {}", i, stages[s].name));
      if (plan.agents[s].empty()) ready.push_back(id);
      std::map<int, std::vector<std::pair<std::uint64_t, std::uint32_t>>> remote;
      for (std::size_t j = 0; j < plan.agents[s].size(); ++j) {
        const std::size_t a = plan.agents[s][j];
        const int owner = swarm.owner_of(a);
        if (owner != Communicator::kRoot) {
          remote[owner].emplace_back(a, static_cast<std::uint32_t>(j));
          continue;
        }
        pool->submit(
            a, res.prompt,
            [&, id, a, j](Response&& r) {
              r.agent_index = static_cast<std::int64_t>(a);
              out.items[tasks[id].item].stages[tasks[id].stage].responses[j] = std::move(r);
              if (--tasks[id].remaining == 0) ready.push_back(id);
            },
            call);
      }
      for (auto& [rank, targets] : remote) {
        detail::ByteWriter w;
        w.put(id);
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
      }
    }
    for (std::size_t i = 0; i < items.size() && !stages.empty(); ++i) dispatch_ready(i);

    while (finished < items.size()) {
      while (!ready.empty()) {
        const Task task = tasks[ready.front()];
        ready.erase(ready.begin());
        ItemResult& item = out.items[task.item];
        StageResult& res = item.stages[task.stage];
        finish_stage(stages[task.stage], res);
        out.events.push_back(fmt::format("done {} {}", task.item, stages[task.stage].name));
        if (!res.success) {
          state[task.item][task.stage] = 3;
          if (item.error.empty()) {
            item.error = res.error;
            ++finished;  // the item stops here; its other running stages are ignored
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
        }
      }
      if (finished == items.size()) break;
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
      if (pool != nullptr && pool->outstanding() > 0) pool->poll(std::chrono::milliseconds(5));
      sender.progress();
    }
    // Wait for stragglers of failed items so no result message is left unreceived.
    for (auto& task : tasks) {
      while (task.remaining > 0) {
        if (pool != nullptr && pool->outstanding() > 0) pool->poll(std::chrono::milliseconds(5));
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

namespace filters {

StageFilter success() {
  return [](const Response& r) { return r.success; };
}

StageFilter non_empty() {
  return [](const Response& r) {
    return r.success && std::any_of(r.text.begin(), r.text.end(),
                                    [](unsigned char c) { return std::isspace(c) == 0; });
  };
}

StageFilter regex(const std::string& pattern) {
  auto re = std::make_shared<const std::regex>(pattern, std::regex::ECMAScript);
  return [re](const Response& r) { return r.success && std::regex_search(r.text, *re); };
}

StageFilter valid_json() {
  return [](const Response& r) { return r.success && nlohmann::json::accept(r.text); };
}

}  // namespace filters

namespace transforms {

StageTransform concat(std::string separator) {
  return [sep = std::move(separator)](const std::vector<Response>& rs) {
    return ::swarm::concat(rs, sep);
  };
}

StageTransform majority() {
  return [](const std::vector<Response>& rs) { return ::swarm::majority_vote(rs).winner; };
}

StageTransform structured_merge() {
  return
      [](const std::vector<Response>& rs) { return ::swarm::structured_merge(rs).merged.dump(); };
}

StageTransform first() {
  return [](const std::vector<Response>& rs) {
    for (const auto& r : rs) {
      if (r.success) return r.text;
    }
    return std::string{};
  };
}

StageTransform statistics() {
  return [](const std::vector<Response>& rs) {
    return ::swarm::to_json(::swarm::statistics(rs)).dump();
  };
}

}  // namespace transforms

}  // namespace swarm::mpi
