#include "swarm/mpi/environment.hpp"

#include <mpi.h>

#include <stdexcept>

#include "swarm/mpi/error.hpp"

namespace swarm::mpi {

Environment::Environment() {
  init(nullptr, nullptr);
}

Environment::Environment(int& argc, char**& argv) {
  init(&argc, &argv);
}

void Environment::init(int* argc, char*** argv) {
  if (active()) return;  // embedded in a code that owns MPI: never re-initialise or finalise
  int finalized = 0;
  check(MPI_Finalized(&finalized), "MPI_Finalized");
  if (finalized != 0) {
    throw std::logic_error("swarm::mpi::Environment: MPI was already finalized");
  }
  int provided = 0;
  // FUNNELED: libcurl may run resolver threads, but only the main thread calls MPI.
  check(MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
  owns_ = true;
  // The default handler aborts the job on any error; return codes instead so check() turns them
  // into exceptions with MPI_Error_string and the CLI can report them before aborting cleanly.
  check(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
}

Environment::~Environment() {
  if (owns_ && active()) {
    MPI_Finalize();  // errors ignored: destructors never throw, and nothing can be done here
  }
}

int Environment::thread_level() const {
  int level = 0;
  check(MPI_Query_thread(&level), "MPI_Query_thread");
  return level;
}

bool Environment::active() noexcept {
  int initialized = 0;
  int finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  return initialized != 0 && finalized == 0;
}

}  // namespace swarm::mpi
