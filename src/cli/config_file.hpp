#pragma once
// Reading the JSON configuration files of --config (blackboard, pipeline): a file that cannot be
// read or is not JSON is an InputError naming the file (and the line of a syntax error).

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace swarm::cli {

/// Reads and parses `path`; `what` names the file's role in the message ("blackboard config").
nlohmann::json load_json_config(const std::string& path, std::string_view what);

/// Parses `text`; `name` is the file name used in messages.
nlohmann::json parse_json_config(const std::string& text, const std::string& name);

/// Rejects keys of `object` not in `known` with "unknown key 'k' (expected a, b, c)".
void check_known_keys(const nlohmann::json& object, std::initializer_list<std::string_view> known,
                      const std::string& name, std::string_view where = {});

}  // namespace swarm::cli
