#include "script.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace swarm::mock {
namespace {

using nlohmann::json;

std::vector<WeightedAnswer> parse_answers(const json& node, const std::string& where) {
  if (!node.is_array() || node.empty()) {
    throw ScriptError(where + ": \"answers\" must be a non-empty array");
  }
  std::vector<WeightedAnswer> answers;
  for (std::size_t i = 0; i < node.size(); ++i) {
    const json& item = node[i];
    const std::string at = fmt::format("{}: answers[{}]", where, i);
    if (!item.is_object() || !item.contains("text") || !item["text"].is_string()) {
      throw ScriptError(at + ": must be an object with a string \"text\"");
    }
    WeightedAnswer answer{item["text"].get<std::string>(), 1.0};
    if (item.contains("weight")) {
      if (!item["weight"].is_number() || !(item["weight"].get<double>() > 0.0) ||
          !std::isfinite(item["weight"].get<double>())) {
        throw ScriptError(at + ": \"weight\" must be a positive number");
      }
      answer.weight = item["weight"].get<double>();
    }
    for (const auto& [key, value] : item.items()) {
      if (key != "text" && key != "weight") {
        throw ScriptError(fmt::format("{}: unknown key \"{}\"", at, key));
      }
    }
    answers.push_back(std::move(answer));
  }
  return answers;
}

ScriptRule parse_rule(const json& node, const std::string& where, bool is_default) {
  ScriptRule rule;
  if (is_default && node.is_string()) {
    rule.answers.push_back({node.get<std::string>(), 1.0});
    return rule;
  }
  if (!node.is_object()) throw ScriptError(where + ": must be a JSON object");
  bool ignore_case = false;
  std::optional<std::string> pattern;
  for (const auto& [key, value] : node.items()) {
    if (key == "role" && !is_default) {
      if (!value.is_string()) throw ScriptError(where + ": \"role\" must be a string");
      rule.role = value.get<std::string>();
    } else if (key == "match" && !is_default) {
      if (!value.is_string()) throw ScriptError(where + ": \"match\" must be a string");
      pattern = value.get<std::string>();
    } else if (key == "ignore_case" && !is_default) {
      if (!value.is_boolean()) throw ScriptError(where + ": \"ignore_case\" must be true/false");
      ignore_case = value.get<bool>();
    } else if (key == "answer") {
      if (!value.is_string()) throw ScriptError(where + ": \"answer\" must be a string");
      rule.answers.push_back({value.get<std::string>(), 1.0});
    } else if (key == "answers") {
      rule.answers = parse_answers(value, where);
    } else {
      throw ScriptError(fmt::format("{}: unknown key \"{}\"", where, key));
    }
  }
  if (node.contains("answer") == node.contains("answers")) {
    throw ScriptError(where + ": needs exactly one of \"answer\" or \"answers\"");
  }
  if (pattern) {
    auto flags = std::regex::ECMAScript;
    if (ignore_case) flags |= std::regex::icase;
    try {
      rule.match.emplace(*pattern, flags);
    } catch (const std::regex_error& e) {
      throw ScriptError(fmt::format("{}: bad regex \"{}\": {}", where, *pattern, e.what()));
    }
  }
  return rule;
}

}  // namespace

Script Script::load(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ScriptError(fmt::format("script {}: cannot open the file", path.string()));
  std::ostringstream text;
  text << in.rdbuf();
  return parse(text.str(), path.string());
}

Script Script::parse(std::string_view text, std::string_view source) {
  json root;
  try {
    root = json::parse(text);
  } catch (const json::parse_error& e) {
    // e.what() carries the line, column and byte offset of the problem.
    throw ScriptError(fmt::format("script {}: invalid JSON: {}", source, e.what()));
  }
  const std::string file = fmt::format("script {}", source);
  if (!root.is_object()) throw ScriptError(file + ": the top level must be a JSON object");
  for (const auto& [key, value] : root.items()) {
    if (key != "rules" && key != "default") {
      throw ScriptError(fmt::format("{}: unknown top-level key \"{}\"", file, key));
    }
  }
  if (!root.contains("default")) throw ScriptError(file + ": missing \"default\"");
  Script script;
  if (root.contains("rules")) {
    const json& rules = root["rules"];
    if (!rules.is_array()) throw ScriptError(file + ": \"rules\" must be an array");
    for (std::size_t i = 0; i < rules.size(); ++i) {
      script.rules_.push_back(parse_rule(rules[i], fmt::format("{}: rule {}", file, i), false));
    }
  }
  script.default_ = parse_rule(root["default"], file + ": default", true);
  return script;
}

const std::string& Script::pick(std::string_view prompt, std::string_view role, Rng& rng,
                                std::optional<std::uint64_t> seed) const {
  const ScriptRule* chosen = &default_;
  for (const ScriptRule& rule : rules_) {
    if (rule.role && *rule.role != role) continue;
    if (rule.match && !std::regex_search(prompt.begin(), prompt.end(), *rule.match)) continue;
    chosen = &rule;
    break;
  }
  const auto& answers = chosen->answers;
  if (answers.size() == 1) return answers.front().text;
  double total = 0.0;
  for (const auto& a : answers) total += a.weight;
  double x = 0.0;
  if (seed) {
    const auto slots = static_cast<std::uint64_t>(std::ceil(total));
    x = static_cast<double>(*seed % std::max<std::uint64_t>(slots, 1)) + 0.5;
  } else {
    x = rng.uniform01() * total;
  }
  for (const auto& a : answers) {
    if (x < a.weight) return a.text;
    x -= a.weight;
  }
  return answers.back().text;  // rounding left x just above the last weight
}

std::string expand_placeholders(std::string_view answer, std::string_view prompt, std::size_t agent,
                                std::string_view role) {
  std::string out;
  out.reserve(answer.size() + prompt.size());
  std::size_t i = 0;
  while (i < answer.size()) {
    const std::string_view rest = answer.substr(i);
    if (rest.starts_with("{prompt}")) {
      out += prompt;
      i += 8;
    } else if (rest.starts_with("{agent}")) {
      out += std::to_string(agent);
      i += 7;
    } else if (rest.starts_with("{role}")) {
      out += role;
      i += 6;
    } else {
      out += answer[i++];
    }
  }
  return out;
}

}  // namespace swarm::mock
