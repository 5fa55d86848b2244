#include "agent_views.hpp"

#include <fmt/format.h>

#include <utility>
#include <vector>

#include "drivers.hpp"

namespace swarm::cli {
namespace {

std::pair<std::string, std::string> split_tag(const std::string& spec) {
  const auto eq = spec.find('=');
  if (eq == 0 || eq == std::string::npos || eq + 1 == spec.size()) {
    throw UsageError(fmt::format("--embed-tag '{}': expected KEY=VALUE, e.g. role=embed", spec));
  }
  return {spec.substr(0, eq), spec.substr(eq + 1)};
}

bool tagged(const Endpoint& e, const std::pair<std::string, std::string>& tag) {
  const auto it = e.tags.find(tag.first);
  return it != e.tags.end() && it->second == tag.second;
}

}  // namespace

mpi::Swarm embed_agents(const mpi::Swarm& swarm, const Options& options) {
  const auto tag = split_tag(options.embed_tag);
  mpi::Swarm view = swarm.by_tag(tag.first, tag.second);
  if (view.size() == 0) {
    throw UsageError(fmt::format("{}: no agent is tagged {} (the embedding agents; see "
                                 "--embed-tag)",
                                 options.hostfile, options.embed_tag));
  }
  return view;
}

mpi::Swarm chat_agents(const mpi::Swarm& swarm, const Options& options) {
  const auto tag = split_tag(options.embed_tag);
  std::vector<std::size_t> members;
  for (std::size_t i = 0; i < swarm.size(); ++i) {
    if (!tagged(swarm.endpoint(i), tag)) members.push_back(i);
  }
  if (members.empty()) {
    throw UsageError(fmt::format("{}: every agent is tagged {}; uncertainty needs chat agents "
                                 "(untagged) to answer",
                                 options.hostfile, options.embed_tag));
  }
  return swarm.select(members);
}

}  // namespace swarm::cli
