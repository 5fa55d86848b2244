#include "swarm/mpi/pipeline.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <utility>

#include <fmt/format.h>
#include <mpi.h>
#include <nlohmann/json.hpp>
#include <re2/re2.h>

#include "collectives.hpp"
#include "local_runner.hpp"
#include "pipeline_plan.hpp"
#include "progress.hpp"
#include "swarm/aggregators.hpp"
#include "swarm/mpi/swarm.hpp"
#include "swarm/template.hpp"
#include "transport.hpp"
#include "wire.hpp"

namespace swarm::mpi {
namespace {

constexpr std::string_view kSeparator = "\n---\n";

/// Every stage of the wave in flight at once on this rank's agents; the answers in (stage,
/// agent) order of this rank's agents.
std::vector<Response> run_wave_locally(Swarm& swarm, const detail::Plan& plan,
                                       const std::vector<std::size_t>& wave,
                                       const std::vector<StageResult>& stages, CallOptions call) {
  call.may_fail_over = false;  // a stage asks each of its agents: none answers for another
  std::vector<Response> local;
  std::size_t remaining = 0;
  for (auto i : wave) {
    for (auto a : plan.agents[i]) {
      if (!swarm.is_mine(a)) continue;
      const std::size_t slot = local.size();
      local.emplace_back();
      ++remaining;
      swarm.submit(
          a, stages[i].prompt,
          [&local, &remaining, slot](Response&& r) {
            local[slot] = std::move(r);
            --remaining;
          },
          call);
    }
  }
  while (remaining > 0) swarm.rank_pool().poll(std::chrono::milliseconds(200));
  return local;
}

/// Root: puts the gathered answers (rank order, then wave order, then agent order) back in
/// their stages.
void regroup(Swarm& swarm, const detail::Plan& plan, const std::vector<std::size_t>& wave,
             std::vector<Response>& all, std::vector<StageResult>& stages) {
  for (auto i : wave) stages[i].responses.resize(plan.agents[i].size());
  std::size_t next = 0;
  for (int r = 0; r < swarm.communicator().size(); ++r) {
    for (auto i : wave) {
      for (std::size_t j = 0; j < plan.agents[i].size(); ++j) {
        if (swarm.owner_of(plan.agents[i][j]) != r) continue;
        if (next >= all.size()) throw std::logic_error("pipeline: gathered too few responses");
        stages[i].responses[j] = std::move(all[next++]);
      }
    }
  }
  if (next != all.size()) throw std::logic_error("pipeline: gathered too many responses");
}

/// Collective: runs one wave; the root decides each stage's outcome and every rank learns it.
void run_wave(Swarm& swarm, const std::vector<Stage>& stages, const detail::Plan& plan,
              const std::vector<std::size_t>& wave, CallOptions call, PipelineResult& out) {
  auto local = run_wave_locally(swarm, plan, wave, out.stages, call);
  std::vector<Response> all = detail::gather_responses(swarm, local);
  std::vector<detail::Outcome> outcomes;
  if (swarm.communicator().is_root()) {
    regroup(swarm, plan, wave, all, out.stages);
    for (auto i : wave) {
      detail::finish_stage(stages[i], out.stages[i]);
      outcomes.push_back({out.stages[i].success, out.stages[i].output, out.stages[i].error});
    }
  }
  std::vector<char> bytes =
      swarm.communicator().is_root() ? detail::encode(outcomes) : std::vector<char>{};
  detail::broadcast_from_root(swarm, bytes);
  outcomes = detail::decode<std::vector<detail::Outcome>>(bytes);
  for (std::size_t k = 0; k < wave.size(); ++k) {
    StageResult& res = out.stages[wave[k]];
    res.success = outcomes[k].success;
    res.output = std::move(outcomes[k].output);
    res.error = std::move(outcomes[k].error);
    if (!res.success && out.error.empty()) out.error = res.error;
  }
}

}  // namespace

const StageResult* PipelineResult::stage(std::string_view name) const {
  for (const auto& s : stages) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

std::vector<std::vector<std::size_t>> stage_agents(const Swarm& swarm,
                                                   const std::vector<Stage>& stages,
                                                   bool reuse_agents) {
  return detail::make_plan(swarm, stages, reuse_agents).agents;
}

PipelineResult run_pipeline(Swarm& swarm, const std::vector<Stage>& stages,
                            std::string_view initial_input, bool reuse_agents, CallOptions call) {
  const auto t0 = std::chrono::steady_clock::now();
  const detail::Plan plan = detail::make_plan(swarm, stages, reuse_agents);
  PipelineResult out;
  out.waves = plan.waves;
  out.stages.resize(stages.size());
  for (std::size_t i = 0; i < stages.size(); ++i) {
    out.stages[i].name = stages[i].name;
    out.stages[i].agents = plan.agents[i];
    out.stages[i].wave = plan.wave[i];
  }
  if (!stages.empty()) {
    std::string initial(swarm.communicator().is_root() ? initial_input : std::string_view{});
    detail::broadcast_from_root(swarm, initial);
    for (std::size_t w = 0; w < plan.waves && out.error.empty(); ++w) {
      std::vector<std::size_t> wave;
      for (std::size_t i = 0; i < stages.size(); ++i) {
        if (plan.wave[i] != w) continue;
        wave.push_back(i);
        out.stages[i].prompt =
            detail::fill_stage(stages[i], plan.deps[i], stages, out.stages, initial);
        out.stages[i].ran = true;
      }
      run_wave(swarm, stages, plan, wave, call, out);
    }
  }
  out.success = out.error.empty();
  if (out.success && !stages.empty()) out.output = out.stages.back().output;
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

Response fan_out_fan_in(Swarm& swarm, std::string_view prompt, std::string_view collect_prompt,
                        std::optional<std::size_t> n_workers, CallOptions call) {
  if (swarm.size() == 0) throw std::logic_error("fan_out_fan_in on an empty swarm");
  const bool root = swarm.communicator().is_root();
  std::string header(root ? std::to_string(std::min(n_workers.value_or(swarm.size()), swarm.size()))
                          : std::string{});
  std::string text(root ? prompt : std::string_view{});
  detail::broadcast_from_root(swarm, header);
  detail::broadcast_from_root(swarm, text);
  // The workers are agents [0, workers): each rank asks those it drives.
  const std::size_t workers = std::stoull(header);
  std::vector<std::size_t> mine;
  for (const auto a : swarm.local_agents()) {
    if (a < workers) mine.push_back(a);
  }
  std::vector<Response> local;
  if (!mine.empty()) local = swarm.ask(mine, text, call);
  auto answers = detail::gather_responses(swarm, local);
  std::sort(answers.begin(), answers.end(),
            [](const Response& a, const Response& b) { return a.agent_index < b.agent_index; });

  std::string filled;
  if (root) {
    std::string combined;  // the seed's join: successful answers, blank ones included
    bool any = false;
    for (const auto& r : answers) {
      if (!r.success) continue;
      if (any) combined += kSeparator;
      combined += r.text;
      any = true;
    }
    filled = fill_template(collect_prompt, {{"responses", combined}});
  }
  detail::broadcast_from_root(swarm, filled);
  const int owner = swarm.owner_of(0);
  Response collected;
  if (swarm.communicator().rank() == owner) {
    CallOptions collect_call = call;
    collect_call.aggregation = true;
    const std::size_t agent0[] = {0};
    collected = std::move(swarm.ask(agent0, filled, collect_call).front());
  }
  detail::broadcast_response(swarm, collected, owner);
  return collected;
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
  // RE2, not std::regex: matching is linear in the answer and never recurses (std::regex
  // recursed once per character: `(\w|\s)+DONE` on a 14 KB answer overflowed the stack).
  RE2::Options options;
  options.set_log_errors(false);
  auto re = std::make_shared<const RE2>(pattern, options);
  if (!re->ok()) {
    throw std::invalid_argument(
        fmt::format("regex \"{}\" is invalid: {}", pattern, re->error()));
  }
  return [re](const Response& r) { return r.success && RE2::PartialMatch(r.text, *re); };
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
      [](const std::vector<Response>& rs) { return ::swarm::structured_merge(rs).merged; };
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
