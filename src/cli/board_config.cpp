#include "board_config.hpp"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "config_file.hpp"
#include "io/input_error.hpp"
#include "swarm/template.hpp"

namespace swarm::cli {
namespace {

using nlohmann::json;

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

BoardConfig BoardConfig::load(const std::string& path) {
  return from_json(load_json_config(path, "blackboard config"), path);
}

BoardConfig BoardConfig::parse(const std::string& text, const std::string& name) {
  return from_json(parse_json_config(text, name), name);
}

BoardConfig BoardConfig::from_json(const nlohmann::json& doc, const std::string& name) {
  const auto bad = [&](const std::string& reason) { return InputError(name, 0, reason); };
  if (!doc.is_object()) throw bad("the config must be a JSON object");
  check_known_keys(doc, {"description", "sections", "view", "initial", "max_rounds", "convergence"},
                   name);
  BoardConfig c;
  if (!doc.contains("sections") || !doc["sections"].is_array() || doc["sections"].empty()) {
    throw bad("'sections' must be a non-empty list of {\"name\", \"prompt\"}");
  }
  for (std::size_t i = 0; i < doc["sections"].size(); ++i) {
    const auto& s = doc["sections"][i];
    if (!s.is_object() || !s.contains("name") || !s["name"].is_string() ||
        s["name"].get<std::string>().empty() || !s.contains("prompt") || !s["prompt"].is_string()) {
      throw bad(fmt::format("sections[{}] needs a non-empty \"name\" and a \"prompt\" string", i));
    }
    const auto sname = s["name"].get<std::string>();
    for (const auto& prev : c.sections) {
      if (prev.name == sname) throw bad(fmt::format("section '{}' is listed twice", sname));
    }
    c.sections.push_back({sname, s["prompt"].get<std::string>()});
  }
  const auto known_section = [&](const std::string& sname) {
    return std::any_of(c.sections.begin(), c.sections.end(),
                       [&](const auto& s) { return s.name == sname; });
  };
  for (const auto& s : c.sections) {
    for (const auto& ph : template_placeholders(s.prompt)) {
      if (ph.rfind("section:", 0) == 0 && !known_section(ph.substr(8))) {
        throw bad(fmt::format("section '{}': prompt uses {{{}}} but there is no section '{}'",
                              s.name, ph, ph.substr(8)));
      }
    }
  }
  if (doc.contains("view")) {
    const auto& v = doc["view"];
    if (v.is_string() && v.get<std::string>() == "full") {
    } else if (v.is_object() && v.size() == 1 && v.contains("last") &&
               v["last"].is_number_unsigned()) {
      c.view_last = v["last"].get<std::size_t>();
    } else if (v.is_object() && v.size() == 1 && v.contains("max_chars") &&
               v["max_chars"].is_number_unsigned()) {
      c.view_max_chars = v["max_chars"].get<std::size_t>();
    } else {
      throw bad("'view' must be \"full\", {\"last\": N} or {\"max_chars\": C}");
    }
  }
  if (doc.contains("initial")) {
    if (!doc["initial"].is_array())
      throw bad("'initial' must be a list of {\"section\", \"text\"}");
    for (std::size_t i = 0; i < doc["initial"].size(); ++i) {
      const auto& e = doc["initial"][i];
      if (!e.is_object() || !e.contains("section") || !e["section"].is_string() ||
          !e.contains("text") || !e["text"].is_string()) {
        throw bad(fmt::format("initial[{}] needs \"section\" and \"text\" strings", i));
      }
      if (!known_section(e["section"])) {
        throw bad(
            fmt::format("initial[{}]: unknown section '{}'", i, e["section"].get<std::string>()));
      }
      c.initial.emplace_back(e["section"].get<std::string>(), e["text"].get<std::string>());
    }
  }
  if (doc.contains("max_rounds")) {
    if (!doc["max_rounds"].is_number_unsigned() || doc["max_rounds"].get<int>() < 1) {
      throw bad("'max_rounds' must be a positive integer");
    }
    c.max_rounds = doc["max_rounds"].get<int>();
  }
  if (doc.contains("convergence")) {
    if (!doc["convergence"].is_array()) throw bad("'convergence' must be a list of rules");
    for (std::size_t i = 0; i < doc["convergence"].size(); ++i) {
      const auto& r = doc["convergence"][i];
      ConvergenceRule rule;
      if (!r.is_object() || !r.contains("section") || !r["section"].is_string() ||
          !known_section(r["section"])) {
        throw bad(fmt::format("convergence[{}] needs \"section\", one of the sections", i));
      }
      rule.section = r["section"].get<std::string>();
      if (r.contains("phrase") && r["phrase"].is_string() &&
          !r["phrase"].get<std::string>().empty()) {
        rule.phrase = r["phrase"].get<std::string>();
        if (r.contains("fraction")) {
          if (!r["fraction"].is_number() || r["fraction"].get<double>() <= 0 ||
              r["fraction"].get<double>() > 1) {
            throw bad(fmt::format("convergence[{}]: 'fraction' must be in (0, 1]", i));
          }
          rule.fraction = r["fraction"].get<double>();
        }
      } else if (r.contains("min_entries") && r["min_entries"].is_number_unsigned()) {
        rule.min_entries = r["min_entries"].get<std::size_t>();
      } else {
        throw bad(fmt::format(
            "convergence[{}] needs \"phrase\" (with optional \"fraction\") or \"min_entries\"", i));
      }
      c.convergence.push_back(std::move(rule));
    }
  }
  return c;
}

std::vector<std::string> BoardConfig::section_names() const {
  std::vector<std::string> names;
  for (const auto& s : sections) names.push_back(s.name);
  return names;
}

std::string BoardConfig::prompt(const std::string& section, const mpi::BoardState& board) const {
  // One section's entries as "- text" lines, limited by the view (most recent kept).
  const auto lines = [&](const std::string& name) {
    auto texts = board.texts(name);
    std::size_t first = 0;
    if (view_last && texts.size() > *view_last) first = texts.size() - *view_last;
    if (view_max_chars) {
      std::size_t chars = 0;
      std::size_t k = texts.size();
      while (k > first && chars + texts[k - 1].size() <= *view_max_chars)
        chars += texts[--k].size();
      first = k;
    }
    std::string out;
    for (std::size_t i = first; i < texts.size(); ++i) out += "- " + texts[i] + "\n";
    return out.empty() ? std::string("(empty)\n") : out;
  };
  TemplateValues values;
  std::string whole;
  for (const auto& s : sections) {
    const auto l = lines(s.name);
    values["section:" + s.name] = l;
    whole += "## " + s.name + "\n" + l;
  }
  values["board"] = whole;
  values["round"] = std::to_string(board.round() + 1);
  values["role"] = section;
  const auto it = std::find_if(sections.begin(), sections.end(),
                               [&](const auto& s) { return s.name == section; });
  return fill_template(it == sections.end() ? std::string{} : it->prompt, values);
}

std::optional<std::string> BoardConfig::converged(const mpi::BoardState& board) const {
  for (std::size_t i = 0; i < convergence.size(); ++i) {
    const auto& rule = convergence[i];
    if (rule.min_entries) {
      const auto n = board.texts(rule.section).size();
      if (n >= *rule.min_entries) {
        return fmt::format("rule {}: section '{}' has {} entries (>= {})", i, rule.section, n,
                           *rule.min_entries);
      }
      continue;
    }
    const auto last = board.written_in(rule.section, board.round());
    if (last.empty()) continue;
    const auto needle = lower(rule.phrase);
    const auto hits =
        static_cast<std::size_t>(std::count_if(last.begin(), last.end(), [&](const auto* e) {
          return lower(e->text).find(needle) != std::string::npos;
        }));
    if (static_cast<double>(hits) >= rule.fraction * static_cast<double>(last.size())) {
      return fmt::format("rule {}: {} of {} '{}' entries of round {} contain \"{}\"", i, hits,
                         last.size(), rule.section, board.round(), rule.phrase);
    }
  }
  return std::nullopt;
}

}  // namespace swarm::cli
