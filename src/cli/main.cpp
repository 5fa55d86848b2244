// aswarm-mpi: the command line. Every rank parses the same argv, so every rank reaches the same
// decision without communicating; only the root prints.
//
// Error policy: problems found before the pattern starts (flags, hostfile, input, output path)
// are raised identically on every rank and end the job with kExitUsage and one message. A
// failure after the pattern started may leave other ranks inside a collective, so it is printed
// and the job is aborted (MPI_Abort) rather than left hanging.

#include <cstdio>
#include <exception>
#include <string>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "drivers.hpp"
#include "dry_run.hpp"
#include "io/exit_codes.hpp"
#include "io/input_error.hpp"
#include "io/report.hpp"
#include "launcher_guard.hpp"
#include "open_swarm.hpp"
#include "options.hpp"
#include "patterns.hpp"
#include "swarm/hostfile.hpp"
#include "swarm/log.hpp"
#include "swarm/mpi/communicator.hpp"
#include "swarm/mpi/environment.hpp"
#include "swarm/mpi/error.hpp"

namespace {

using namespace swarm::cli;  // NOLINT(google-build-using-namespace): the CLI's own namespace

int run(const Options& options, swarm::mpi::Communicator comm) {
  if (!options.report_from.empty()) {  // redraw a saved run: nothing is sent
    on_root_or_fail_everywhere(comm, [&] {
      check_output_paths(options);
      try {
        write_report(read_summary_file(options.report_from), options.report);
      } catch (const SummaryFileError& e) {
        throw UsageError(fmt::format("--report-from {}", e.what()));
      }
    });
    return kExitOk;
  }
  if (options.dry_run) {
    dry_run(options.hostfile, comm, stdout);
    return kExitOk;
  }
  // Every rank builds its pool settings (environment, --extra-body FILE): a failure on one
  // rank must stop all of them.
  swarm::PoolOptions pool;
  on_every_rank_or_fail_everywhere(comm, [&] { pool = pool_options(options); });
  const PatternDriver* driver = find_pattern(options.pattern);
  if (driver == nullptr) {
    throw UsageError("--pattern " + options.pattern + " is not available in this build");
  }
  on_root_or_fail_everywhere(comm, [&] { check_output_paths(options); });
  return driver->run(options, pool, comm);
}

}  // namespace

int main(int argc, char** argv) {
  stop_with_launcher();  // a rank whose launcher died stops (launcher_guard.hpp)
  swarm::mpi::Environment env(argc, argv);
  const swarm::mpi::Communicator comm;
  const bool root = comm.is_root();
  if (!root) swarm::set_log_rank(comm.rank());

  CLI::App app{"aswarm-mpi: drive thousands of LLM agents (OpenAI-compatible servers) from MPI",
               "aswarm-mpi"};
  Options options;
  add_options(app, options);
  const auto usage_error = [&](const std::string& message) {
    if (root) fmt::print(stderr, "aswarm-mpi: error: {}\n", message);
    return kExitUsage;
  };
  try {
    app.parse(argc, argv);
    validate(options);
    swarm::set_log_level(options.log_level);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) {  // --help, --version
      if (root) app.exit(e);
      return kExitOk;
    }
    if (root)
      fmt::print(stderr, "aswarm-mpi: error: {}\nRun with --help for more information.\n",
                 e.what());
    return kExitUsage;
  }
  try {
    return run(options, comm);
  } catch (const UsageError& e) {  // raised on every rank alike
    return usage_error(e.what());
  } catch (const swarm::HostfileError& e) {  // raised on every rank alike
    return usage_error(e.what());
  } catch (const TooFewHealthy& e) {  // raised on every rank alike
    if (root) fmt::print(stderr, "aswarm-mpi: error: {}\n", e.what());
    return kExitTooFewHealthy;
  } catch (const std::invalid_argument& e) {  // option values (e.g. environment variables)
    return usage_error(e.what());
  } catch (const std::exception& e) {
    fmt::print(stderr, "aswarm-mpi: error (rank {}): {}\n", comm.rank(), e.what());
    std::fflush(stderr);
    MPI_Abort(comm.mpi_communicator(), kExitInternal);
    return kExitInternal;
  }
}
