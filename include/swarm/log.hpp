#pragma once
/// @file log.hpp
/// aswarm's diagnostics go to one logger ("aswarm", on stderr). Agent failures are never logged
/// as errors here: they are values in Response.

#include <string_view>

namespace swarm {

/// Sets the minimum level logged: "trace", "debug", "info", "warn", "error", "critical" or
/// "off". Throws std::invalid_argument naming the accepted values for anything else.
void set_log_level(std::string_view level);

/// Prefixes every log line with `[rank R]` (aswarm-mpi calls this on non-root ranks; core never knows ranks).
void set_log_rank(int rank);

}  // namespace swarm
