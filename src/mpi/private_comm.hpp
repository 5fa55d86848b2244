#pragma once
// Internal: a communicator of our own, duplicated from the swarm's for one collective call.

#include <mpi.h>

#include "swarm/mpi/error.hpp"

namespace swarm::mpi::detail {

/// A private duplicate of a communicator (MPI_Comm_dup, collective), freed on destruction. Our
/// point-to-point tags can never match a message of the caller's own, and non-blocking
/// collectives on it are ordered only against each other.
class PrivateComm {
 public:
  explicit PrivateComm(MPI_Comm comm) { check(MPI_Comm_dup(comm, &comm_), "MPI_Comm_dup"); }
  ~PrivateComm() {
    if (comm_ != MPI_COMM_NULL) MPI_Comm_free(&comm_);
  }
  PrivateComm(const PrivateComm&) = delete;
  PrivateComm& operator=(const PrivateComm&) = delete;
  [[nodiscard]] MPI_Comm get() const noexcept { return comm_; }

 private:
  MPI_Comm comm_ = MPI_COMM_NULL;
};

}  // namespace swarm::mpi::detail
