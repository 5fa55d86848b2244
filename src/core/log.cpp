#include "log.hpp"

#include <array>
#include <stdexcept>
#include <string>

#include <fmt/format.h>
#include <spdlog/sinks/stdout_sinks.h>

#include "swarm/log.hpp"

namespace swarm {
namespace detail {

spdlog::logger& logger() {
  // A function-local static: initialised once, thread-safe, and usable from static
  // initialisers of other translation units (no registry lookups on the hot path).
  static const std::shared_ptr<spdlog::logger> instance = [] {
    auto l = std::make_shared<spdlog::logger>("aswarm",
                                              std::make_shared<spdlog::sinks::stderr_sink_mt>());
    l->set_pattern("aswarm: %l: %v");
    l->set_level(spdlog::level::info);
    return l;
  }();
  return *instance;
}

}  // namespace detail

void set_log_level(std::string_view level) {
  static constexpr std::array<std::string_view, 7> kNames = {"trace", "debug",    "info", "warn",
                                                             "error", "critical", "off"};
  for (std::size_t i = 0; i < kNames.size(); ++i) {
    if (level == kNames[i]) {
      detail::logger().set_level(static_cast<spdlog::level::level_enum>(i));
      return;
    }
  }
  throw std::invalid_argument(
      fmt::format("unknown log level '{}' (expected one of: {})", level, fmt::join(kNames, ", ")));
}

void set_log_rank(int rank) {
  detail::logger().set_pattern(fmt::format("aswarm[rank {}]: %l: %v", rank));
}

}  // namespace swarm
