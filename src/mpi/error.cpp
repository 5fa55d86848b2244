#include "swarm/mpi/error.hpp"

#include <mpi.h>

#include <fmt/format.h>

namespace swarm::mpi {

static_assert(MPI_SUCCESS == 0, "check() relies on MPI_SUCCESS being 0");

std::string error_string(int code) {
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  // MPI_Error_string is callable before MPI_Init and after MPI_Finalize (MPI-4 §9.8).
  if (MPI_Error_string(code, text, &length) != MPI_SUCCESS || length <= 0) {
    return fmt::format("unknown MPI error {}", code);
  }
  return std::string(text, static_cast<std::size_t>(length));
}

Error::Error(std::string_view call, int code)
    : std::runtime_error(fmt::format("{}: {}", call, error_string(code))), code_(code) {}

}  // namespace swarm::mpi
