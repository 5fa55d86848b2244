#pragma once
/// @file input_error.hpp
/// The error for bad user-supplied files (the input JSONL, an output file given to --resume),
/// and the hook through which non-fatal findings are reported.

#include <cstddef>
#include <functional>
#include <stdexcept>
#include <string>

#include "swarm/file_error.hpp"

namespace swarm::cli {

/// Bad content in a user file. `what()` is `path:line: reason` (`path: reason` when the problem
/// is not tied to a line), like swarm::HostfileError, so the driver prints it verbatim after
/// `aswarm-mpi: error: ` and exits with kExitUsage.
class InputError : public FileError {
 public:
  using FileError::FileError;
};

/// Receives non-fatal findings already formatted as `path:line: warning: ...`. An empty handler
/// prints them to stderr prefixed with `aswarm-mpi: `.
using WarningHandler = std::function<void(const std::string&)>;

namespace detail {
/// Calls `handler`, or prints to stderr when it is empty.
void emit_warning(const WarningHandler& handler, const std::string& message);
}  // namespace detail

}  // namespace swarm::cli
