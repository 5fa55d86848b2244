#include "config_file.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "io/input_error.hpp"

namespace swarm::cli {
namespace {

// The line of a byte offset, for JSON syntax errors.
std::size_t line_of(const std::string& text, std::size_t byte) {
  return 1 +
         static_cast<std::size_t>(std::count(
             text.begin(), text.begin() + static_cast<long>(std::min(byte, text.size())), '\n'));
}

}  // namespace

nlohmann::json load_json_config(const std::string& path, std::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path, 0, fmt::format("cannot read {}", what));
  std::ostringstream text;
  text << in.rdbuf();
  return parse_json_config(text.str(), path);
}

nlohmann::json parse_json_config(const std::string& text, const std::string& name) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw InputError(name, line_of(text, e.byte), fmt::format("not valid JSON: {}", e.what()));
  }
}

void check_known_keys(const nlohmann::json& object, std::initializer_list<std::string_view> known,
                      const std::string& name, std::string_view where) {
  for (const auto& item : object.items()) {
    if (std::find(known.begin(), known.end(), item.key()) != known.end()) continue;
    throw InputError(name, 0,
                     fmt::format("{}unknown key '{}' (expected {})",
                                 where.empty() ? std::string{} : std::string(where) + ": ",
                                 item.key(), fmt::join(known, ", ")));
  }
}

}  // namespace swarm::cli
