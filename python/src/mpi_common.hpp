#pragma once
// Shared by the aswarm._mpi sources: the communicator wrapper and the MPI-state checks.

#include <mpi.h>

namespace aswarm_py {

/// A communicator for Python: a view (world, a Fortran handle from mpi4py or elsewhere) or one
/// made by split(), which it owns and frees (on free() or when the last reference goes).
class PyComm {
 public:
  PyComm(MPI_Comm comm, bool owned) : comm_(comm), owned_(owned) {}
  ~PyComm();
  PyComm(const PyComm&) = delete;
  PyComm& operator=(const PyComm&) = delete;

  /// The handle; std::logic_error after free().
  [[nodiscard]] MPI_Comm get() const;
  [[nodiscard]] bool owned() const noexcept { return owned_; }
  /// MPI_Comm_free if owned and MPI is still active; the Comm is unusable afterwards.
  void free();

 private:
  MPI_Comm comm_;
  bool owned_;
};

/// Initialises MPI on first use (kept until aswarm._mpi.finalize(), registered atexit).
void ensure_initialized();
/// ensure_initialized(), then std::runtime_error unless this thread may call MPI.
void require_mpi_thread();

}  // namespace aswarm_py
