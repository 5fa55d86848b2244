#pragma once
/// @file launcher_terminal.hpp
/// Whether rank 0's stderr ends on a terminal although it is a pipe: MPI launchers (MPICH's
/// mpiexec.hydra, mpirun, srun) forward each rank's stderr through a pipe to their own, so
/// isatty() says no under `mpiexec` typed at a terminal, and the live progress line would
/// never show where people watch it.

#include <filesystem>

#include <sys/types.h>

namespace swarm::cli {

/// Walks up from process `self` (at most a few parents) in the /proc tree at `proc` to the first
/// ancestor that is an MPI launcher (its `comm` starts with mpiexec or mpirun, or is srun,
/// aprun, orterun or prterun), and returns whether that launcher's stderr (fd 2) is a terminal
/// device (/dev/pts/N, /dev/ttyN, /dev/console). False when there is no launcher among them or
/// anything cannot be read. `proc` is a parameter for tests; the real one is /proc.
bool launcher_stderr_is_terminal(const std::filesystem::path& proc, pid_t self);

/// The same for this process, through /proc.
bool launcher_stderr_is_terminal();

}  // namespace swarm::cli
