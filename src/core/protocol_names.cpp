// The protocol names of pool_options.hpp, kept apart from pool_options.cpp, whose to_string and
// protocol_from_string still spell the names out; tests/unit/test_name_tables.cpp checks that
// the three agree until they read one table.

#include <string_view>

#include "swarm/pool_options.hpp"

namespace swarm {

std::span<const std::string_view> protocol_names() noexcept {
  static constexpr std::string_view kNames[] = {"chat", "completions", "generate"};
  return kNames;
}

}  // namespace swarm
