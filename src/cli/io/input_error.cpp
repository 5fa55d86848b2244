#include "io/input_error.hpp"

#include <cstdio>

#include <fmt/format.h>

namespace swarm::cli {

InputError::InputError(std::string path, std::size_t line, const std::string& reason)
    : std::runtime_error(line == 0 ? fmt::format("{}: {}", path, reason)
                                   : fmt::format("{}:{}: {}", path, line, reason)),
      path_(std::move(path)),
      line_(line) {}

namespace detail {

void emit_warning(const WarningHandler& handler, const std::string& message) {
  if (handler) {
    handler(message);
  } else {
    fmt::print(stderr, "aswarm-mpi: {}\n", message);
  }
}

}  // namespace detail
}  // namespace swarm::cli
