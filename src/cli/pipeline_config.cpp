#include "pipeline_config.hpp"

#include <algorithm>
#include <stdexcept>
#include <string_view>

#include <fmt/format.h>

#include "config_file.hpp"
#include "io/input_error.hpp"
#include "swarm/template.hpp"

namespace swarm::cli {
namespace {

using nlohmann::json;

mpi::StageFilter parse_filter(const json& f, const std::string& where, const std::string& name) {
  const auto bad = [&](const std::string& reason) {
    return InputError(name, 0, fmt::format("{}: {}", where, reason));
  };
  if (f.is_string()) {
    const auto s = f.get<std::string>();
    if (s == "success") return mpi::filters::success();
    if (s == "non-empty") return mpi::filters::non_empty();
    if (s == "valid-json") return mpi::filters::valid_json();
  } else if (f.is_object() && f.size() == 1 && f.contains("regex") && f["regex"].is_string()) {
    try {
      // Compiled here so a bad pattern is a config error, not a failure mid-run.
      return mpi::filters::regex(f["regex"].get<std::string>());
    } catch (const std::invalid_argument& e) {
      throw bad(fmt::format("filter {}", e.what()));
    }
  }
  throw bad(
      "'filter' must be \"success\", \"non-empty\", \"valid-json\" or {\"regex\": \"...\"}");
}

/// The transforms a stage may name: one table for the lookup and the error message. They are
/// mpi::transforms (texts for the next stage), not the JSON of swarm::named_aggregates().
struct NamedTransform {
  std::string_view name;
  mpi::StageTransform (*make)();
};

constexpr NamedTransform kTransforms[] = {
    {"concat", [] { return mpi::transforms::concat(); }},
    {"majority", mpi::transforms::majority},
    {"structured-merge", mpi::transforms::structured_merge},
    {"first", mpi::transforms::first},
    {"statistics", mpi::transforms::statistics},
};

mpi::StageTransform parse_transform(const json& t, const std::string& where,
                                    const std::string& name) {
  if (t.is_string()) {
    const auto s = t.get<std::string>();
    for (const auto& named : kTransforms) {
      if (named.name == s) return named.make();
    }
  } else if (t.is_object() && t.size() == 1 && t.contains("concat") && t["concat"].is_string()) {
    return mpi::transforms::concat(t["concat"].get<std::string>());
  }
  std::vector<std::string> choices;
  for (const auto& named : kTransforms) choices.push_back(fmt::format("\"{}\"", named.name));
  throw InputError(name, 0,
                   fmt::format("{}: 'transform' must be {} or {{\"concat\": \"separator\"}}", where,
                               fmt::join(choices, ", ")));
}

mpi::Stage parse_stage(const json& s, std::size_t i, const std::vector<mpi::Stage>& earlier,
                       const std::string& name) {
  const auto bad = [&](const std::string& reason) { return InputError(name, 0, reason); };
  if (!s.is_object() || !s.contains("name") || !s["name"].is_string() ||
      s["name"].get<std::string>().empty() || !s.contains("prompt") || !s["prompt"].is_string()) {
    throw bad(fmt::format("stages[{}] needs a non-empty \"name\" and a \"prompt\" string", i));
  }
  mpi::Stage st;
  st.name = s["name"].get<std::string>();
  st.prompt_template = s["prompt"].get<std::string>();
  const std::string where = fmt::format("stage '{}'", st.name);
  check_known_keys(s, {"name", "prompt", "agents", "tag", "depends_on", "filter", "transform"},
                   name, where);
  const auto is_earlier = [&](const std::string& n) {
    return std::any_of(earlier.begin(), earlier.end(), [&](const auto& e) { return e.name == n; });
  };
  if (is_earlier(st.name)) throw bad(fmt::format("stage '{}' is listed twice", st.name));
  if (s.contains("agents")) {
    if (!s["agents"].is_number_unsigned()) {
      throw bad(where + ": 'agents' must be a non-negative integer (0: all)");
    }
    st.n_agents = s["agents"].get<std::size_t>();
  }
  if (s.contains("tag")) {
    const auto tag = s["tag"].is_string() ? s["tag"].get<std::string>() : std::string{};
    const auto eq = tag.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw bad(where + ": 'tag' must be a \"key=value\" string (as in the hostfile)");
    }
    st.tag_key = tag.substr(0, eq);
    st.tag_value = tag.substr(eq + 1);
  }
  std::vector<std::string> inputs;  // the stages {stage:NAME} may name
  if (s.contains("depends_on")) {
    if (!s["depends_on"].is_array()) throw bad(where + ": 'depends_on' must be a list of names");
    std::vector<std::string> deps;
    for (const auto& d : s["depends_on"]) {
      if (!d.is_string() || !is_earlier(d.get<std::string>())) {
        throw bad(fmt::format("{}: depends_on {} is not a stage listed before it", where,
                              d.dump()));
      }
      deps.push_back(d.get<std::string>());
    }
    inputs = deps;
    st.depends_on = std::move(deps);
  } else if (!earlier.empty()) {
    inputs.push_back(earlier.back().name);
  }
  for (const auto& ph : template_placeholders(st.prompt_template)) {
    if (!ph.starts_with("stage:")) continue;
    const auto ref = ph.substr(6);
    if (std::find(inputs.begin(), inputs.end(), ref) == inputs.end()) {
      throw bad(fmt::format("{}: prompt uses {{{}}} but '{}' is not among its inputs ({})", where,
                            ph, ref,
                            inputs.empty() ? std::string("none")
                                           : fmt::format("{}", fmt::join(inputs, ", "))));
    }
  }
  if (s.contains("filter")) st.filter = parse_filter(s["filter"], where, name);
  if (s.contains("transform")) st.transform = parse_transform(s["transform"], where, name);
  return st;
}

}  // namespace

PipelineConfig PipelineConfig::load(const std::string& path) {
  return from_json(load_json_config(path, "pipeline config"), path);
}

PipelineConfig PipelineConfig::parse(const std::string& text, const std::string& name) {
  return from_json(parse_json_config(text, name), name);
}

PipelineConfig PipelineConfig::from_json(const nlohmann::json& doc, const std::string& name) {
  const auto bad = [&](const std::string& reason) { return InputError(name, 0, reason); };
  if (!doc.is_object()) throw bad("the config must be a JSON object");
  check_known_keys(doc, {"description", "reuse_agents", "input", "stages"}, name);
  PipelineConfig c;
  if (!doc.contains("stages") || !doc["stages"].is_array() || doc["stages"].empty()) {
    throw bad("'stages' must be a non-empty list of {\"name\", \"prompt\", ...}");
  }
  for (std::size_t i = 0; i < doc["stages"].size(); ++i) {
    c.stages.push_back(parse_stage(doc["stages"][i], i, c.stages, name));
  }
  if (doc.contains("reuse_agents")) {
    if (!doc["reuse_agents"].is_boolean()) throw bad("'reuse_agents' must be true or false");
    c.reuse_agents = doc["reuse_agents"].get<bool>();
  }
  if (doc.contains("input")) {
    if (!doc["input"].is_string()) throw bad("'input' must be a string");
    c.input = doc["input"].get<std::string>();
  }
  return c;
}

}  // namespace swarm::cli
