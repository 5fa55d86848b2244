#include "io/input_error.hpp"

#include <cstdio>

#include <fmt/format.h>

namespace swarm::cli {

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
