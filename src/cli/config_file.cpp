#include "config_file.hpp"

#include <algorithm>
#include <fstream>

#include <fmt/format.h>

#include "io/input_error.hpp"
#include "swarm/json_limits.hpp"

namespace swarm::cli {
namespace {

// The line of a byte offset, for JSON syntax errors.
std::size_t line_of(const std::string& text, std::size_t byte) {
  return 1 +
         static_cast<std::size_t>(std::count(
             text.begin(), text.begin() + static_cast<long>(std::min(byte, text.size())), '\n'));
}

}  // namespace

std::string read_small_file(const std::string& path, std::string_view what,
                            std::size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path, 0, fmt::format("cannot read {}", what));
  std::string text;
  char chunk[64 * 1024];
  while (in.read(chunk, sizeof chunk) || in.gcount() > 0) {
    text.append(chunk, static_cast<std::size_t>(in.gcount()));
    if (text.size() > max_bytes) {
      throw InputError(path, 0, fmt::format("{} larger than {} bytes", what, max_bytes));
    }
  }
  if (in.bad()) throw InputError(path, 0, fmt::format("cannot read {}", what));
  return text;
}

nlohmann::json load_json_config(const std::string& path, std::string_view what) {
  return parse_json_config(read_small_file(path, what), path);
}

nlohmann::json parse_json_config(const std::string& text, const std::string& name) {
  JsonFault fault = JsonFault::none;
  auto doc = parse_json_limited(text, fault);
  if (fault == JsonFault::too_deep) throw InputError(name, 0, json_depth_reason());
  if (fault == JsonFault::none) return doc;
  try {  // not JSON: again with exceptions, for nlohmann's position and reason
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw InputError(name, line_of(text, e.byte), fmt::format("not valid JSON: {}", e.what()));
  } catch (const nlohmann::json::exception& e) {  // a number beyond a double
    throw InputError(name, 0, fmt::format("not valid JSON: {}", e.what()));
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
