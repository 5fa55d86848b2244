#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "drivers.hpp"
#include "io/file_handles.hpp"
#include "io/report.hpp"
#include "io/summary.hpp"
#include "select.hpp"
#include "swarm/aggregators.hpp"
#include "swarm/pool.hpp"
#include "swarm/mpi/error.hpp"
#include "swarm/mpi/strings.hpp"
#include "swarm/mpi/swarm.hpp"

namespace swarm::cli {

void on_root_or_fail_everywhere(mpi::Communicator comm, const std::function<void()>& root_work) {
  std::string error;
  if (comm.is_root()) {
    try {
      root_work();
    } catch (const std::exception& e) {
      error = e.what();
      if (error.empty()) error = "unknown error";
    }
  }
  mpi::broadcast_string(error, comm);
  if (!error.empty()) throw UsageError(error);
}

void on_every_rank_or_fail_everywhere(mpi::Communicator comm, const std::function<void()>& work) {
  std::string error;
  try {
    work();
  } catch (const std::exception& e) {
    error = e.what();
    if (error.empty()) error = "unknown error";
  }
  // The lowest failing rank speaks for all (size() when none failed).
  const int mine = error.empty() ? comm.size() : comm.rank();
  int first = comm.size();
  mpi::check(MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, comm.mpi_communicator()),
             "MPI_Allreduce");
  if (first == comm.size()) return;
  mpi::broadcast_string(error, comm, first);
  throw UsageError(error);
}

void check_output_paths(const Options& options) {
  const auto check = [](const std::string& flag, const std::string& path) {
    if (path.empty() || path == "-") return;
    const std::filesystem::path target(path);
    const auto dir = target.has_parent_path() ? target.parent_path() : std::filesystem::path(".");
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec)) {
      throw UsageError(fmt::format("{} {}: the directory '{}' does not exist", flag, path,
                                   dir.string()));
    }
    if (::access(dir.c_str(), W_OK | X_OK) != 0) {
      throw UsageError(fmt::format("{} {}: cannot write in '{}': {}", flag, path, dir.string(),
                                   std::strerror(errno)));
    }
    if (std::filesystem::is_directory(target, ec)) {
      throw UsageError(fmt::format("{} {}: is a directory", flag, path));
    }
  };
  check("--output", options.output);
  check("--summary", options.summary);
  check("--report", options.report);
}

namespace {

/// Per rank: MPI seconds, their share of the wall time, the part of them spent with no work
/// (MpiStats::idle_seconds) and the share of the rest, and peak RSS; a JSON array on the root
/// (null elsewhere).
nlohmann::json gather_rank_stats(mpi::Communicator comm, const mpi::MpiStats& mpi,
                                 double wall_seconds) {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  constexpr int kFields = 4;
  const double mine[kFields] = {mpi.seconds, wall_seconds,
                                static_cast<double>(usage.ru_maxrss) / 1024.0, mpi.idle_seconds};
  std::vector<double> all(comm.is_root() ? kFields * static_cast<std::size_t>(comm.size()) : 0);
  mpi::check(MPI_Gather(mine, kFields, MPI_DOUBLE, all.data(), kFields, MPI_DOUBLE,
                        mpi::Communicator::kRoot, comm.mpi_communicator()),
             "MPI_Gather");
  if (!comm.is_root()) return nullptr;
  nlohmann::json out = nlohmann::json::array();
  for (int r = 0; r < comm.size(); ++r) {
    const double* v = &all[kFields * static_cast<std::size_t>(r)];
    out.push_back({{"rank", r},
                   {"mpi_seconds", v[0]},
                   {"mpi_share", v[1] > 0 ? v[0] / v[1] : 0.0},
                   {"mpi_idle_seconds", v[3]},
                   {"mpi_working_share", v[1] > 0 ? (v[0] - v[3]) / v[1] : 0.0},
                   {"peak_rss_mib", v[2]}});
  }
  return out;
}

/// The engines' counters summed over ranks, as a JSON object on the root (null elsewhere):
/// how much retrying, cooling, probing and failing over the run took.
nlohmann::json reduce_engine_stats(mpi::Swarm& swarm) {
  const mpi::Communicator comm = swarm.communicator();
  constexpr std::size_t kFields = 9;
  std::uint64_t mine[kFields] = {};
  if (const AgentPool* pool = swarm.existing_rank_pool()) {
    const PoolStats s = pool->stats();
    const std::uint64_t healthy = pool->healthy_count();
    const std::uint64_t values[kFields] = {s.attempts, s.retries, s.failovers,
                                           s.cooldowns, s.probes,  healthy,
                                           pool->size(), s.hedges, s.hedge_wins};
    std::copy(std::begin(values), std::end(values), std::begin(mine));
  } else {
    // A rank that never built its pool has sent nothing; its agents count as healthy.
    mine[5] = mine[6] = swarm.count_on(comm.rank());
  }
  std::uint64_t all[kFields] = {};
  mpi::check(MPI_Reduce(mine, all, kFields, MPI_UINT64_T, MPI_SUM, mpi::Communicator::kRoot,
                        comm.mpi_communicator()),
             "MPI_Reduce");
  if (!comm.is_root()) return nullptr;
  return {{"attempts", all[0]},      {"retries", all[1]},        {"failovers", all[2]},
          {"cooldowns", all[3]},     {"health_probes", all[4]},  {"healthy_at_end", all[5]},
          {"endpoints", all[6]},     {"hedges", all[7]},         {"hedge_wins", all[8]}};
}

}  // namespace

namespace {

// This process's argv joined with spaces (as the kernel keeps it: what the user typed, after the
// shell), for the summary; empty where /proc is not mounted.
std::string command_line() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!text.empty() && text.back() == '\0') text.pop_back();
  std::replace(text.begin(), text.end(), '\0', ' ');
  return text;
}

}  // namespace

void finish_run(RunSummary& summary, mpi::Swarm& swarm, double wall_seconds,
                const Options& options) {
  const mpi::Communicator comm = swarm.communicator();
  auto per_rank = gather_rank_stats(comm, swarm.mpi_stats(), wall_seconds);
  auto engine = reduce_engine_stats(swarm);
  if (!comm.is_root()) return;
  summary.set_extra("engine", std::move(engine));
  summary.set_extra("pattern", options.pattern);
  summary.set_extra("ranks", comm.size());
  summary.set_extra("agents", swarm.size());
  summary.set_extra("per_rank", std::move(per_rank));
  summary.set_extra("command_line", command_line());
  if (!wants_summary(options)) return;
  // One snapshot for both files: the report shows exactly the summary's numbers.
  const nlohmann::json snapshot = summary.to_json();
  if (!options.summary.empty()) RunSummary::write(snapshot, options.summary);
  if (!options.report.empty()) write_report(snapshot, options.report);
}

nlohmann::json answer_json(const Response& r, const std::string& endpoint) {
  return {{"agent", r.agent_index},
          {"endpoint", endpoint},
          {"success", r.success},
          {"text", r.text},
          {"error", r.success ? nlohmann::json(nullptr) : nlohmann::json(r.error)},
          {"http_status", r.http_status},
          {"latency_ms", r.latency.count() * 1e3},
          {"attempts", r.attempts}};
}

void append_json_line(std::FILE* file, const nlohmann::json& line, const std::string& path) {
  const auto text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  if (std::fwrite(text.data(), 1, text.size(), file) != text.size() || std::fflush(file) != 0) {
    throw std::runtime_error(detail::errno_message("cannot write", path));
  }
}

Aggregator::Aggregator(const AggregateFlags& flags) : params_(aggregate_params(flags)) {
  for (const std::string& name : flags.names) {
    const NamedAggregate* a = find_aggregate(name);
    if (a == nullptr) {
      throw std::invalid_argument("unknown aggregate '" + name + "'");  // --aggregate checks first
    }
    aggregates_.push_back(a);
    (a->reads_errors ? keep_errors_ : keep_text_) = true;
  }
}

void Aggregator::add(const Response& r) {
  if (!enabled()) return;
  // The union of what the aggregates read (NamedAggregate::kept_fields of each).
  Response kept;
  kept.success = r.success;
  kept.agent_index = r.agent_index;
  if (keep_errors_) kept.error = r.error;
  if (keep_text_ && r.success) kept.text = r.text;
  kept_.push_back(std::move(kept));
}

void Aggregator::print() const {
  for (const NamedAggregate* a : aggregates_) {
    const std::string text = R"({"aggregate":)" + to_json_text(nlohmann::ordered_json(a->name)) +
                             R"(,"result":)" + a->result(kept_, params_) + "}\n";
    std::fwrite(text.data(), 1, text.size(), stdout);
  }
  std::fflush(stdout);
}

}  // namespace swarm::cli
