#include "swarm/file_error.hpp"

#include <fmt/format.h>

namespace swarm {

FileError::FileError(std::string path, std::size_t line, std::string reason)
    : std::runtime_error(line == 0 ? fmt::format("{}: {}", path, reason)
                                   : fmt::format("{}:{}: {}", path, line, reason)),
      path_(std::move(path)),
      line_(line),
      reason_(std::move(reason)) {}

}  // namespace swarm
