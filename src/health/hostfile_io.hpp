#pragma once
// The two file ends of the gate: waiting for a hostfile that a job writes late, and writing the
// filtered one so that a reader never sees it half written.

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <spdlog/logger.h>

#include "swarm/endpoint.hpp"

namespace swarm::health {

using Clock = std::chrono::steady_clock;

/// Waits until `path` exists, is not empty and has stopped changing (same size and mtime over
/// a short look, so a file still being appended to is not parsed half-way), then parses it.
/// Returns nullopt when `deadline` passes first. A file that is complete but invalid throws
/// swarm::HostfileError (`path:line: reason`): waiting longer would not fix it.
std::optional<std::vector<Endpoint>> wait_for_hostfile(const std::filesystem::path& path,
                                                       Clock::time_point deadline,
                                                       std::chrono::duration<double> interval,
                                                       spdlog::logger& log);

/// Writes `text` to `path` through a temporary file in the same directory and rename(2), so
/// readers see the old file or the new one, never a mix. Throws std::runtime_error.
void write_file_atomically(const std::filesystem::path& path, const std::string& text);

}  // namespace swarm::health
