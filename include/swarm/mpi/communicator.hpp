#pragma once
/// @file mpi/communicator.hpp
/// A non-owning view of an MPI communicator. aswarm never frees a communicator it was handed:
/// the caller (or Environment, for MPI_COMM_WORLD) owns it. Copying the view is cheap.

#include <mpi.h>

namespace swarm::mpi {

/// A non-owning, cheaply copied view of an MPI communicator; see the file comment.
class Communicator {
 public:
  /// A view of MPI_COMM_WORLD.
  Communicator() noexcept : comm_(MPI_COMM_WORLD) {}
  /// A view of `comm`, which must outlive this view and every copy of it.
  explicit Communicator(MPI_Comm comm) noexcept : comm_(comm) {}

  /// This process's rank. Local, not collective. Throws swarm::mpi::Error.
  [[nodiscard]] int rank() const;
  /// Number of ranks. Local, not collective. Throws swarm::mpi::Error.
  [[nodiscard]] int size() const;
  /// True on rank 0, the root of every aswarm collective.
  [[nodiscard]] bool is_root() const { return rank() == kRoot; }

  /// Collective: returns once every rank has entered.
  void barrier() const;

  /// The underlying handle, for calling MPI directly.
  [[nodiscard]] MPI_Comm mpi_communicator() const noexcept { return comm_; }

  /// Rank 0: results of aswarm collectives land here.
  static constexpr int kRoot = 0;

 private:
  MPI_Comm comm_;
};

}  // namespace swarm::mpi
