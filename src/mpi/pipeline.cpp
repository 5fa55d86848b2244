#include "swarm/mpi/pipeline.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <memory>
#include <regex>
#include <stdexcept>
#include <utility>

#include <mpi.h>
#include <nlohmann/json.hpp>

#include "collectives.hpp"
#include "pipeline_plan.hpp"
#include "swarm/aggregators.hpp"
#include "swarm/mpi/broadcast.hpp"
#include "swarm/mpi/strings.hpp"
#include "swarm/mpi/swarm.hpp"

namespace swarm::mpi {

using detail::fill_stage;
using detail::finish_stage;
using detail::get_string;
using detail::put_string;

const StageResult* PipelineResult::stage(std::string_view name) const {
  for (const auto& s : stages) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

PipelineResult run_pipeline(Swarm& swarm, const std::vector<Stage>& stages,
                            std::string_view initial_input, bool reuse_agents, CallOptions call) {
  const auto t0 = std::chrono::steady_clock::now();
  const detail::Plan plan = detail::make_plan(swarm, stages, reuse_agents);
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
