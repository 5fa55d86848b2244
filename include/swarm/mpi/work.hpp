#pragma once
/// @file mpi/work.hpp
/// One prompt as the patterns move it, and the one rule that assigns prompts to agents.

#include <cstdint>
#include <optional>
#include <string>

namespace swarm::mpi {

/// One prompt with its input index; it goes to agent agent_for(index, N).
struct Work {
  /// The prompt's position in the input (results come back under it).
  std::uint64_t index = 0;
  /// The prompt text (or, with CallOptions::prompts_are_requests, an encoded request).
  std::string prompt;
  std::optional<std::int64_t> max_tokens;  ///< Per-prompt override (e.g. from batch input).
};

/// The seed's static rule: prompt `index` goes to agent `index mod agents`, so a resumed run
/// sends a redone prompt to the agent that had it originally. `agents` must be positive.
constexpr std::uint64_t agent_for(std::uint64_t index, std::uint64_t agents) noexcept {
  return index % agents;
}

}  // namespace swarm::mpi
