// aswarm-mpi: the command line. Every rank parses the same argv (so every rank reaches the same
// decision without communicating); only the root prints.

#include <cstdio>
#include <exception>
#include <string>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "dry_run.hpp"
#include "swarm/log.hpp"
#include "swarm/mpi/communicator.hpp"
#include "swarm/mpi/environment.hpp"
#include "swarm/mpi/error.hpp"
#include "swarm/version.hpp"

namespace {

struct Options {
  std::string hostfile;
  bool dry_run = false;
  std::string log_level = "info";
};

void add_options(CLI::App& app, Options& options) {
  app.set_version_flag("--version", fmt::format("aswarm-mpi {}", swarm::kVersion));
  app.add_option("--hostfile", options.hostfile,
                 "Agent endpoints, one per line: host[:port] [key=value ...] "
                 "(also host<TAB>port, [ipv6]:port, http(s)://host:port)")
      ->type_name("FILE");
  app.add_flag("--dry-run", options.dry_run,
               "Validate the hostfile on rank 0 and print how its endpoints are sharded "
               "across the ranks, without sending any request");
  app.add_option("--log-level", options.log_level, "Diagnostics on stderr")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}))
      ->capture_default_str();
  app.footer(
      "Run under MPI, e.g.: mpiexec -n 4 aswarm-mpi --hostfile agents.txt --dry-run\n"
      "Patterns (broadcast, scatter-gather, tree-reduce, blackboard, pipeline) are not in this "
      "release yet.");
}

int run(const Options& options, swarm::mpi::Communicator comm) {
  if (!options.dry_run) {
    throw CLI::ValidationError("nothing to do: this release only supports --dry-run");
  }
  if (options.hostfile.empty()) throw CLI::RequiredError("--hostfile");
  swarm::cli::dry_run(options.hostfile, comm, stdout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  swarm::mpi::Environment env(argc, argv);
  const swarm::mpi::Communicator comm;
  const bool root = comm.is_root();
  if (!root) swarm::set_log_rank(comm.rank());

  CLI::App app{"aswarm-mpi: drive thousands of LLM agents (OpenAI-compatible servers) from MPI",
               "aswarm-mpi"};
  Options options;
  add_options(app, options);
  try {
    app.parse(argc, argv);
    swarm::set_log_level(options.log_level);
    return run(options, comm);
  } catch (const CLI::ParseError& e) {
    // --help and --version arrive here too (exit code 0); print them once.
    if (root) {
      if (e.get_exit_code() == 0) {
        app.exit(e);
      } else {
        fmt::print(stderr, "aswarm-mpi: error: {}\nRun with --help for more information.\n",
                   e.what());
      }
    }
    return e.get_exit_code();
  } catch (const swarm::mpi::Error& e) {
    // An MPI failure may have left other ranks inside a collective: abort the whole job.
    fmt::print(stderr, "aswarm-mpi: MPI error: {}\n", e.what());
    MPI_Abort(comm.mpi_communicator(), 1);
    return 1;
  } catch (const std::exception& e) {
    if (root) fmt::print(stderr, "aswarm-mpi: error: {}\n", e.what());
    return 1;
  }
}
