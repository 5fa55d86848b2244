#pragma once
// Reading the JSON configuration files of --config (blackboard, pipeline): a file that cannot be
// read or is not JSON is an InputError naming the file (and the line of a syntax error).

#include <cstddef>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace swarm::cli {

/// Longest file read whole (a config, --extra-body FILE, --prompt-file): 16 MiB.
inline constexpr std::size_t kMaxSmallFileBytes = std::size_t{16} << 20;

/// The whole of `path`, at most `max_bytes` (more is an InputError "... larger than N bytes",
/// raised after reading max_bytes + 1, so /dev/zero ends at once); `what` names the file's role.
std::string read_small_file(const std::string& path, std::string_view what,
                            std::size_t max_bytes = kMaxSmallFileBytes);

/// Reads and parses `path`; `what` names the file's role in the message ("blackboard config").
nlohmann::json load_json_config(const std::string& path, std::string_view what);

/// Parses `text`; `name` is the file name used in messages.
nlohmann::json parse_json_config(const std::string& text, const std::string& name);

/// Rejects keys of `object` not in `known` with "unknown key 'k' (expected a, b, c)".
void check_known_keys(const nlohmann::json& object, std::initializer_list<std::string_view> known,
                      const std::string& name, std::string_view where = {});

}  // namespace swarm::cli
