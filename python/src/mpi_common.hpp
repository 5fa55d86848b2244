#pragma once
// Shared by the aswarm._mpi sources: the communicator and swarm wrappers, the MPI-state checks.

#include <mpi.h>
#include <pybind11/pybind11.h>

#include <memory>
#include <mutex>

#include "swarm/mpi/swarm.hpp"

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

/// A swarm view plus the mutex its family (the swarm and every view of it) shares.
struct PySwarm {
  std::shared_ptr<std::mutex> mu;
  swarm::mpi::Swarm swarm;
};

/// Runs the collective `fn(swarm)` on the MPI thread with the GIL released and the mutex held.
template <class Fn>
auto collective(PySwarm& s, Fn&& fn) {
  require_mpi_thread();
  pybind11::gil_scoped_release nogil;
  std::lock_guard<std::mutex> lock(*s.mu);
  return fn(s.swarm);
}

}  // namespace aswarm_py
