#pragma once
// The pattern drivers of aswarm-mpi and what they share.

#include <cstdio>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "options.hpp"
#include "swarm/aggregators.hpp"
#include "swarm/mpi/communicator.hpp"
#include "swarm/pool_options.hpp"
#include "swarm/response.hpp"

namespace swarm::mpi {
class Swarm;
}  // namespace swarm::mpi

namespace swarm::cli {

class RunSummary;

/// A user error (input, output path, hostfile...) that every rank raises identically, so the
/// job exits with the usage code without anyone waiting in a collective.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Collective: runs `root_work` on the root only; if it throws, every rank throws UsageError
/// with the root's message. Used for everything before the first pattern collective.
void on_root_or_fail_everywhere(mpi::Communicator comm, const std::function<void()>& root_work);

/// Collective: runs `work` on every rank (reading a config every rank needs, say); if it throws
/// on any rank, every rank throws UsageError with the message of the lowest such rank. A file
/// readable on one node only must not leave the others waiting in the next collective.
void on_every_rank_or_fail_everywhere(mpi::Communicator comm, const std::function<void()>& work);

/// Root only (call it in on_root_or_fail_everywhere): the files the run will write (--output,
/// --summary, --report) can be created, i.e. their directory exists and is writable. Checked before any
/// request, so a typo in a path does not cost the whole run (the summary is written last).
void check_output_paths(const Options& options);

/// Collective, the last step of every driver: gathers each rank's MPI seconds, their share of
/// `wall_seconds` and its peak RSS (what the benchmarks read from --summary). On the root it
/// then sets "pattern", "ranks", "agents", "per_rank" and "engine" (the pools' attempts,
/// retries, failovers, cooldowns, health probes, endpoints healthy at the end, hedges and hedge
/// wins, summed over ranks) in `summary` and writes it to --summary FILE and its page to
/// --report FILE.html (io/report.hpp) if given, both from one to_json(); other ranks leave
/// `summary` alone.
void finish_run(RunSummary& summary, mpi::Swarm& swarm, double wall_seconds,
                const Options& options);

/// The drivers and their flag rules, one pair per run_<pattern>.cpp; patterns.cpp puts them
/// in the table main.cpp and options.cpp read (see PatternDriver for what each promises).
void validate_broadcast(const Options& options);
int run_broadcast(const Options& options, const PoolOptions& pool, mpi::Communicator comm);
void validate_scatter_gather(const Options& options);
int run_scatter_gather(const Options& options, const PoolOptions& pool, mpi::Communicator comm);
int run_tree_reduce(const Options& options, const PoolOptions& pool, mpi::Communicator comm);
void validate_blackboard(const Options& options);
int run_blackboard(const Options& options, const PoolOptions& pool, mpi::Communicator comm);
void validate_pipeline(const Options& options);
int run_pipeline(const Options& options, const PoolOptions& pool, mpi::Communicator comm);
void validate_embed(const Options& options);
int run_embed(const Options& options, const PoolOptions& pool, mpi::Communicator comm);
void validate_uncertainty(const Options& options);
int run_uncertainty(const Options& options, const PoolOptions& pool, mpi::Communicator comm);
void validate_fan_out(const Options& options);
int run_fan_out(const Options& options, const PoolOptions& pool, mpi::Communicator comm);

/// One agent's answer in the logs of the multi-step patterns (blackboard, pipeline).
nlohmann::json answer_json(const Response& r, const std::string& endpoint);

/// Writes `line` and '\n' to `file` and flushes it (a killed job keeps every step written).
/// Throws std::runtime_error naming `path`.
void append_json_line(std::FILE* file, const nlohmann::json& line, const std::string& path);

/// Collects what --aggregate needs and prints each aggregate as one JSON line on stdout, in the
/// order the flag names them.
class Aggregator {
 public:
  explicit Aggregator(const AggregateFlags& flags);
  [[nodiscard]] bool enabled() const noexcept { return !aggregates_.empty(); }
  void add(const Response& r);
  void print() const;

 private:
  std::vector<const NamedAggregate*> aggregates_;
  AggregateParams params_;
  bool keep_text_ = false;
  bool keep_errors_ = false;
  std::vector<Response> kept_;  ///< Only the fields the aggregates read.
};

}  // namespace swarm::cli
