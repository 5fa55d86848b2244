#pragma once
/// @file exit_codes.hpp
/// aswarm-mpi's exit status, so job scripts can tell "rerun me" from "fix your command".

namespace swarm::cli {

/// Every request succeeded and every result was written.
inline constexpr int kExitOk = 0;
/// MPI or internal failure (a bug, a lost rank, an unwritable output): results may be partial;
/// rerunning with the same output file resumes.
inline constexpr int kExitInternal = 1;
/// Bad flags, config, input or hostfile: nothing was sent. Printed once (by rank 0) as
/// `aswarm-mpi: error: ...`. 2 is what CLI11 and most Unix tools use for usage errors.
inline constexpr int kExitUsage = 2;
/// The run completed and wrote every result, but some requests failed (their lines say why);
/// rerunning with the same output file retries only those.
inline constexpr int kExitSomeFailed = 3;
/// --min-healthy: too few endpoints answered /health within --give-up-after; nothing was sent.
inline constexpr int kExitTooFewHealthy = 4;

}  // namespace swarm::cli
