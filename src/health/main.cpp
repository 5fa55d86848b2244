// aswarm-health: the gate between "start vLLM on every node" and "run aswarm-mpi".
//
// Waits for the hostfile (jobs write it late), probes /health on every endpoint concurrently in
// rounds, and writes the hostfile of the healthy endpoints (tags and order kept). The wait ends
// when all are healthy, --settle seconds after the first healthy one (the Python
// wait_for_vllm_servers.py rule), or at the overall --timeout, so a job never hangs when no
// server comes up. See options.cpp for the flags and options.hpp for the exit codes.

#include <chrono>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <memory>

#include <fmt/format.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "gate.hpp"
#include "hostfile_io.hpp"
#include "options.hpp"
#include "prober.hpp"
#include "swarm/hostfile.hpp"
#include "swarm/log.hpp"

namespace {

using namespace swarm::health;  // NOLINT(google-build-using-namespace): the tool's namespace
using Duration = std::chrono::duration<double>;

std::shared_ptr<spdlog::logger> make_logger(const std::string& level) {
  auto log = std::make_shared<spdlog::logger>("aswarm-health",
                                              std::make_shared<spdlog::sinks::stderr_sink_mt>());
  // Timestamps: these lines end up in job logs next to vLLM's.
  log->set_pattern("%Y-%m-%d %H:%M:%S aswarm-health: %l: %v");
  log->set_level(spdlog::level::from_str(level));
  return log;
}

std::string header(std::size_t healthy, std::size_t total, const std::string& source) {
  return fmt::format("# aswarm-health: {} of {} endpoints of {} answered /health\n", healthy, total,
                     source);
}

int run(const Options& options, Clock::time_point start, spdlog::logger& log) {
  const MinHealthy min_healthy = parse_min_healthy(options.min_healthy);
  const Clock::time_point deadline =
      start + std::chrono::duration_cast<Clock::duration>(Duration(options.timeout_s));

  const auto endpoints =
      wait_for_hostfile(options.hostfile, deadline, Duration(options.interval_s), log);
  if (!endpoints) {
    std::error_code ec;
    const bool exists = std::filesystem::exists(options.hostfile, ec);
    log.error("the hostfile {} {} within --timeout {} s; nothing written", options.hostfile,
              exists ? "stayed empty or kept changing" : "did not appear", options.timeout_s);
    return kExitNoHostfile;
  }
  const std::size_t total = endpoints->size();
  const std::size_t required = min_healthy.required(total);
  if (required > total) {
    log.warn("--min-healthy {} exceeds the {} endpoints of the hostfile: this gate cannot pass",
             min_healthy.describe(), total);
  }

  Prober prober(*endpoints, options.path, options.concurrency);
  const GateResult gate = run_gate(*endpoints, prober,
                                   GateSettings{.start = start,
                                                .deadline = deadline,
                                                .settle = Duration(options.settle_s),
                                                .interval = Duration(options.interval_s),
                                                .probe_timeout = Duration(options.probe_timeout_s)},
                                   log);

  std::vector<swarm::Endpoint> healthy;
  healthy.reserve(gate.healthy);
  for (std::size_t i = 0; i < total; ++i) {
    const EndpointOutcome& o = gate.outcomes[i];
    if (o.healthy) {
      healthy.push_back((*endpoints)[i]);
    } else {
      log.warn("not healthy: {}{} after {} probes: {}", (*endpoints)[i].authority(),
               (*endpoints)[i].base_path, o.probes,
               o.last_error.empty() ? "never probed" : o.last_error);
    }
  }
  const std::string output = options.output_path();
  try {
    write_file_atomically(
        output, header(healthy.size(), total, options.hostfile) +
                    swarm::format_hostfile(healthy, swarm::HostfileFormat::seed_tabs));
  } catch (const std::exception& e) {
    log.error("{}", e.what());
    return kExitUsage;
  }
  const bool enough = healthy.size() >= required;
  log.info("{}: {} of {} endpoints healthy (--min-healthy {} = {}), {} unhealthy; wrote {}",
           gate.stop_reason, healthy.size(), total, min_healthy.describe(), required,
           total - healthy.size(), output);
  if (!enough) {
    log.error("fewer than --min-healthy {} ({}) endpoints are healthy", min_healthy.describe(),
              required);
    return kExitTooFewHealthy;
  }
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  const auto start = Clock::now();
  CLI::App app{
      "aswarm-health: wait for a job's hostfile, probe /health on every endpoint concurrently, "
      "write the hostfile of the healthy ones",
      "aswarm-health"};
  Options options;
  add_options(app, options);
  try {
    app.parse(argc, argv);
    validate(options);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help
    fmt::print(stderr, "aswarm-health: error: {}\nRun with --help for more information.\n",
               e.what());
    return kExitUsage;
  }
  const auto log = make_logger(options.log_level);
  try {
    swarm::set_log_level(options.log_level);
    return run(options, start, *log);
  } catch (const swarm::HostfileError& e) {
    fmt::print(stderr, "aswarm-health: error: {}\n", e.what());
    return kExitUsage;
  } catch (const std::exception& e) {
    fmt::print(stderr, "aswarm-health: error: {}\n", e.what());
    return kExitInternal;
  }
}
