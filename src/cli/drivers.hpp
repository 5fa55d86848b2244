#pragma once
// The pattern drivers of aswarm-mpi and what they share.

#include <cstdio>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "options.hpp"
#include "swarm/mpi/communicator.hpp"
#include "swarm/pool_options.hpp"
#include "swarm/response.hpp"

namespace swarm::cli {

/// A user error (input, output path, hostfile...) that every rank raises identically, so the
/// job exits with the usage code without anyone waiting in a collective.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Collective: runs `root_work` on the root only; if it throws, every rank throws UsageError
/// with the root's message. Used for everything before the first pattern collective.
void on_root_or_fail_everywhere(mpi::Communicator comm, const std::function<void()>& root_work);

/// Collective: per-rank MPI seconds, their share of the run's wall time, and peak RSS, as a
/// JSON array on the root (null elsewhere). What the benchmarks read from --summary.
nlohmann::json gather_rank_stats(mpi::Communicator comm, double mpi_seconds, double wall_seconds);

/// Exit code for a finished run: kExitOk, or kExitSomeFailed when any request failed.
int run_broadcast(const Options& options, const PoolOptions& pool, mpi::Communicator comm);
int run_scatter_gather(const Options& options, const PoolOptions& pool, mpi::Communicator comm);
int run_tree_reduce(const Options& options, const PoolOptions& pool, mpi::Communicator comm);
int run_blackboard(const Options& options, const PoolOptions& pool, mpi::Communicator comm);
int run_pipeline(const Options& options, const PoolOptions& pool, mpi::Communicator comm);

/// One agent's answer in the logs of the multi-step patterns (blackboard, pipeline).
nlohmann::json answer_json(const Response& r, const std::string& endpoint);

/// Writes `line` and '\n' to `file` and flushes it (a killed job keeps every step written).
/// Throws std::runtime_error naming `path`.
void append_json_line(std::FILE* file, const nlohmann::json& line, const std::string& path);

/// Collects what --aggregate needs and prints the aggregate as one JSON line on stdout.
class Aggregator {
 public:
  explicit Aggregator(std::string kind) : kind_(std::move(kind)) {}
  [[nodiscard]] bool enabled() const noexcept { return !kind_.empty(); }
  void add(const Response& r);
  void print() const;

 private:
  std::string kind_;
  std::vector<Response> kept_;  ///< Only the fields the aggregate reads.
};

}  // namespace swarm::cli
