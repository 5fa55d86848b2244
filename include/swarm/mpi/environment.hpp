#pragma once
/// @file mpi/environment.hpp
/// RAII ownership of MPI initialisation, safe to embed in codes that already initialised MPI.

namespace swarm::mpi {

/// Initialises MPI (MPI_THREAD_FUNNELED: one thread per rank drives HTTP and MPI) unless MPI is
/// already initialised, and finalises it on destruction only if this object initialised it.
/// When it does initialise MPI it also switches MPI_COMM_WORLD to MPI_ERRORS_RETURN so that
/// failures reach swarm::mpi::check() as exceptions instead of aborting the job; a host
/// application's own error-handler choice is left untouched.
class Environment {
 public:
  /// Not collective by itself; MPI_Init_thread (when called) is.
  Environment();
  /// As Environment(), passing the program's arguments to MPI_Init_thread.
  Environment(int& argc, char**& argv);
  ~Environment();

  Environment(const Environment&) = delete;
  Environment& operator=(const Environment&) = delete;
  Environment(Environment&&) = delete;
  Environment& operator=(Environment&&) = delete;

  /// True when this object called MPI_Init_thread (and will call MPI_Finalize).
  [[nodiscard]] bool owns_mpi() const noexcept { return owns_; }

  /// The thread support level MPI provides (MPI_THREAD_SINGLE ... MPI_THREAD_MULTIPLE).
  [[nodiscard]] int thread_level() const;

  /// Whether MPI is currently initialised and not yet finalised (any owner).
  [[nodiscard]] static bool active() noexcept;

 private:
  void init(int* argc, char*** argv);
  bool owns_ = false;
};

}  // namespace swarm::mpi
