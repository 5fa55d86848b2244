#include "pipeline_plan.hpp"

#include <algorithm>
#include <exception>
#include <map>
#include <stdexcept>
#include <utility>

#include <fmt/format.h>

#include "swarm/aggregators.hpp"
#include "swarm/mpi/swarm.hpp"
#include "swarm/template.hpp"

namespace swarm::mpi::detail {

namespace {

std::string default_transform(const std::vector<Response>& responses) {
  return ::swarm::concat(responses, "\n");
}

}  // namespace

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
  std::size_t offset = 0;
  const std::size_t size = swarm.size();
  for (const Stage& st : stages) {
    std::vector<std::size_t> agents;
    if (!st.tag_key.empty()) {
      agents = swarm.agents_with_tag(st.tag_key, st.tag_value);
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

}  // namespace swarm::mpi::detail
