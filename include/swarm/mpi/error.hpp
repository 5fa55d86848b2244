#pragma once
/// @file mpi/error.hpp
/// MPI error codes as exceptions: every MPI call in aswarm goes through check().

#include <stdexcept>
#include <string>
#include <string_view>

namespace swarm::mpi {

/// An MPI call returned an error code. `what()` is "<call>: <MPI_Error_string>".
class Error : public std::runtime_error {
 public:
  /// `call` names the MPI function that returned `code`.
  Error(std::string_view call, int code);

  /// The MPI error code returned by the call.
  [[nodiscard]] int code() const noexcept { return code_; }

 private:
  int code_;
};

/// The text MPI gives for an error code (MPI_Error_string), or "unknown MPI error <code>".
std::string error_string(int code);

/// Throws Error when `code != MPI_SUCCESS`. `call` names the MPI function for the message.
inline void check(int code, std::string_view call) {
  if (code != 0) [[unlikely]] {  // MPI_SUCCESS is 0 in every MPI implementation (the standard).
    throw Error(call, code);
  }
}

}  // namespace swarm::mpi
