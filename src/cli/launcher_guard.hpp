#pragma once
// A rank must not outlive its launcher: a killed mpiexec (walltime, an impatient user) whose
// ranks went on writing left two runs appending to one output file.

namespace swarm::cli {

/// Linux: when started by an MPI launcher (PMI / PMIx / Open MPI variables in the environment),
/// asks the kernel to SIGKILL this process when its parent dies. The parent of a rank is the
/// launcher's local agent (MPICH hydra's hydra_pmi_proxy, Slurm's slurmstepd, PALS), which
/// lives exactly as long as the job step. A process started by hand (no launcher) is left alone,
/// so `nohup aswarm-mpi ...` still outlives its shell. Call first thing in main(). Elsewhere a
/// no-op.
void stop_with_launcher() noexcept;

}  // namespace swarm::cli
