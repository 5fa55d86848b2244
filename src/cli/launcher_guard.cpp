#include "launcher_guard.hpp"

#include <csignal>
#include <cstdlib>

#ifdef __linux__
#include <sys/prctl.h>
#include <unistd.h>
#endif

namespace swarm::cli {

void stop_with_launcher() noexcept {
#ifdef __linux__
  // What MPICH hydra and PMI-1/2 launchers (PMI_RANK), PMIx ones (PMIX_RANK) and Open MPI
  // (OMPI_COMM_WORLD_RANK) put in every rank's environment.
  const bool launched = std::getenv("PMI_RANK") != nullptr || std::getenv("PMIX_RANK") != nullptr ||
                        std::getenv("OMPI_COMM_WORLD_RANK") != nullptr;
  if (!launched) return;
  const pid_t parent = ::getppid();
  // SIGKILL, not SIGTERM: nothing needs saving (answers are on disk within a second, the output
  // lock is a flock the kernel drops) and no library handler can keep the rank alive.
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) return;
  // The launcher may have died before the prctl: then we were already re-parented.
  if (::getppid() != parent) std::raise(SIGKILL);
#endif
}

}  // namespace swarm::cli
