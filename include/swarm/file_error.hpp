#pragma once
/// @file file_error.hpp
/// The shape of every error about a user's file (hostfile, input, config): where, and why.

#include <cstddef>
#include <stdexcept>
#include <string>

namespace swarm {

/// `what()` is `path:line: reason`, or `path: reason` when the problem is not tied to a line
/// (line 0). Derived types say which file it was, so callers can catch them apart.
class FileError : public std::runtime_error {
 public:
  /// `line` 0: the problem concerns the whole file; `reason` says what is wrong.
  FileError(std::string path, std::size_t line, std::string reason);

  /// The file the error is about.
  [[nodiscard]] const std::string& path() const noexcept { return path_; }
  /// 1-based line number, 0 when the error concerns the whole file.
  [[nodiscard]] std::size_t line() const noexcept { return line_; }
  /// The message without the location.
  [[nodiscard]] const std::string& reason() const noexcept { return reason_; }

 private:
  std::string path_;
  std::size_t line_;
  std::string reason_;
};

}  // namespace swarm
