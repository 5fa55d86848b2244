#include <sys/resource.h>

#include <cstdio>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "drivers.hpp"
#include "io/file_handles.hpp"
#include "swarm/aggregators.hpp"
#include "swarm/mpi/error.hpp"
#include "swarm/mpi/strings.hpp"

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

nlohmann::json gather_rank_stats(mpi::Communicator comm, double mpi_seconds, double wall_seconds) {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const double mine[3] = {mpi_seconds, wall_seconds, static_cast<double>(usage.ru_maxrss) / 1024.0};
  std::vector<double> all(comm.is_root() ? 3 * static_cast<std::size_t>(comm.size()) : 0);
  mpi::check(MPI_Gather(mine, 3, MPI_DOUBLE, all.data(), 3, MPI_DOUBLE, mpi::Communicator::kRoot,
                        comm.mpi_communicator()),
             "MPI_Gather");
  if (!comm.is_root()) return nullptr;
  nlohmann::json out = nlohmann::json::array();
  for (int r = 0; r < comm.size(); ++r) {
    const double* v = &all[3 * static_cast<std::size_t>(r)];
    out.push_back({{"rank", r},
                   {"mpi_seconds", v[0]},
                   {"mpi_share", v[1] > 0 ? v[0] / v[1] : 0.0},
                   {"peak_rss_mib", v[2]}});
  }
  return out;
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

void Aggregator::add(const Response& r) {
  if (!enabled()) return;
  Response slim;
  slim.success = r.success;
  slim.agent_index = r.agent_index;
  // failure-report needs errors only; the others need texts of successes only.
  if (kind_ == "failure-report") {
    slim.error = r.error;
  } else if (r.success) {
    slim.text = r.text;
  }
  kept_.push_back(std::move(slim));
}

void Aggregator::print() const {
  if (!enabled()) return;
  nlohmann::json out;
  if (kind_ == "majority") {
    out = to_json(majority_vote(kept_));
  } else if (kind_ == "concat") {
    out = {{"text", concat(kept_)}};
  } else if (kind_ == "statistics") {
    out = to_json(statistics(kept_));
  } else if (kind_ == "structured-merge") {
    out = to_json(structured_merge(kept_));
  } else {
    out = to_json(failure_report(kept_));
  }
  out = {{"aggregate", kind_}, {"result", std::move(out)}};
  const auto text = out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

}  // namespace swarm::cli
