#pragma once
/// @file startup.hpp
/// What happens between parsing the flags and serving: the descriptor budget, the hostfile and
/// the ready line.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "options.hpp"

namespace swarm::mock {

/// Descriptors kept free for stdio, epoll, libevent's wake-up pipes and the hostfile.
inline constexpr std::size_t kReservedDescriptors = 64;

/// Raises the RLIMIT_NOFILE soft limit to the hard limit, then throws std::runtime_error (with
/// every number in the message) if one socket per agent plus `expected_connections` plus the
/// reserve does not fit.
void ensure_descriptor_budget(std::size_t agents, std::size_t expected_connections);

/// Writes the hostfile (one `host:port tag=value...` line per agent) to a temporary file next
/// to `path` and renames it into place, so a reader never sees half a file.
void write_hostfile(const std::filesystem::path& path, const Options& options,
                    const std::vector<std::uint16_t>& ports);

/// `aswarm-mock-agent: ready: N agents on HOST ports A-B,C` (ports compressed into ranges).
std::string ready_line(const std::string& host, const std::vector<std::uint16_t>& ports);

}  // namespace swarm::mock
