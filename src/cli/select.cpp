#include "select.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <memory>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <re2/re2.h>

#include "swarm/json_limits.hpp"
#include "swarm/mpi/swarm.hpp"

namespace swarm::cli {
namespace {

/// One bound of a slice: empty -> `fallback`; negative counts from the end; clamped.
std::size_t slice_bound(std::string_view text, std::size_t size, std::size_t fallback,
                        const std::string& spec) {
  if (text.empty()) return fallback;
  long long value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) {
    throw std::invalid_argument(fmt::format("--slice {}: expected START:STOP (integers)", spec));
  }
  const auto n = static_cast<long long>(size);
  if (value < 0) value = std::max(0LL, n + value);
  return static_cast<std::size_t>(std::min(value, n));
}

constexpr double kNoScore = std::numeric_limits<double>::quiet_NaN();

/// The code points of `s` (Python's len()): bytes that do not continue a UTF-8 sequence.
double length_score(const std::string& s) noexcept {
  return static_cast<double>(std::count_if(s.begin(), s.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0U) != 0x80U;
  }));
}

double number_of(std::string_view text) noexcept {
  const std::optional<double> v = parse_number(text);
  return v ? *v : kNoScore;
}

}  // namespace

std::pair<std::size_t, std::size_t> parse_slice(const std::string& spec, std::size_t size) {
  const auto colon = spec.find(':');
  if (colon == std::string::npos || spec.find(':', colon + 1) != std::string::npos) {
    throw std::invalid_argument(fmt::format("--slice {}: expected START:STOP", spec));
  }
  const std::string_view view(spec);
  const std::size_t start = slice_bound(view.substr(0, colon), size, 0, spec);
  const std::size_t stop = slice_bound(view.substr(colon + 1), size, size, spec);
  return {start, std::max(start, stop)};
}

mpi::Swarm select_agents(const mpi::Swarm& swarm, const SelectFlags& flags, std::uint64_t seed) {
  mpi::Swarm view = swarm;
  if (!flags.tag.empty()) {
    const auto eq = flags.tag.find('=');
    view = view.by_tag(flags.tag.substr(0, eq), flags.tag.substr(eq + 1));
  }
  const auto check = [&](const char* flag, std::size_t agent) {
    if (agent >= view.size()) {
      throw std::invalid_argument(fmt::format("{}: agent {} is out of range (the selection has "
                                              "{} agents)", flag, agent, view.size()));
    }
  };
  if (!flags.exclude.empty()) {
    std::vector<bool> dropped(view.size(), false);
    for (const std::size_t a : flags.exclude) {
      check("--exclude-agents", a);
      dropped[a] = true;
    }
    std::vector<std::size_t> kept;
    for (std::size_t a = 0; a < view.size(); ++a) {
      if (!dropped[a]) kept.push_back(a);
    }
    view = view.select(kept);
  }
  if (!flags.agents.empty()) {
    for (const std::size_t a : flags.agents) check("--select-agents", a);
    view = view.select(flags.agents);
  }
  if (!flags.slice.empty()) {
    const auto [start, stop] = parse_slice(flags.slice, view.size());
    view = view.slice(start, stop);
  }
  if (flags.sample) view = view.sample(*flags.sample, seed);
  if (flags.any() && view.size() == 0) {
    throw std::invalid_argument("the agent selection (--select-tag, --exclude-agents, "
                                "--select-agents, --slice, --sample) leaves no agents");
  }
  return view;
}

ScoreFn score_function(const std::string& spec) {
  if (spec == "length") return [](const Response& r) { return length_score(r.text); };
  if (spec.starts_with("json:") && spec.size() > 5) {
    return [key = spec.substr(5)](const Response& r) {
      JsonFault fault = JsonFault::none;
      const nlohmann::json doc = parse_json_limited(r.text, fault);
      if (!doc.is_object()) return kNoScore;
      const auto it = doc.find(key);
      if (it == doc.end()) return kNoScore;
      if (it->is_number()) return it->get<double>();
      return it->is_string() ? number_of(it->get_ref<const std::string&>()) : kNoScore;
    };
  }
  if (spec.starts_with("regex:")) {
    auto re = std::make_shared<const RE2>(spec.substr(6), RE2::Quiet);
    if (!re->ok()) {
      throw std::invalid_argument(fmt::format("--score {}: {}", spec, re->error()));
    }
    if (re->NumberOfCapturingGroups() < 1) {
      throw std::invalid_argument(
          fmt::format("--score {}: the pattern needs a group, e.g. 'score: ([0-9.]+)'", spec));
    }
    return [re](const Response& r) {
      std::string group;
      if (!RE2::PartialMatch(r.text, *re, &group)) return kNoScore;
      return number_of(group);
    };
  }
  throw std::invalid_argument(
      fmt::format("--score {}: expected length, json:KEY or regex:PATTERN", spec));
}

AggregateParams aggregate_params(const AggregateFlags& flags) {
  AggregateParams params;
  params.separator = flags.separator;
  params.k = flags.top_k;
  if (!flags.score.empty()) params.score = score_function(flags.score);
  return params;
}

}  // namespace swarm::cli
