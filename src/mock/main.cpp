/// aswarm-mock-agent: many OpenAI-compatible mock LLM agents in one process, for testing and
/// benchmarking aswarm without GPUs. See options.cpp for the flags and script.hpp for
/// --mode script.

#include <fmt/format.h>

#include <csignal>
#include <cstdio>
#include <exception>
#include <optional>

#include "options.hpp"
#include "script.hpp"
#include "server.hpp"
#include "startup.hpp"

int main(int argc, char** argv) {
  using namespace swarm::mock;
  const ParseOutcome parsed = parse_command_line(argc, argv);
  if (!parsed.options) return parsed.exit_code;
  const Options& options = *parsed.options;
  try {
    // A client hanging up while its reply is written must cost that connection, not the
    // process.
    std::signal(SIGPIPE, SIG_IGN);
    ensure_descriptor_budget(options.agent_count(), options.expected_connections);
    std::optional<Script> script;
    if (options.mode == Mode::script) script = Script::load(options.script_path);
    MockServer server(options, script ? &*script : nullptr);
    if (options.hostfile_out) write_hostfile(*options.hostfile_out, options, server.ports());
    fmt::print("{}\n", ready_line(options.host, server.ports()));
    std::fflush(stdout);
    server.run();
  } catch (const std::exception& e) {
    fmt::print(stderr, "aswarm-mock-agent: error: {}\n", e.what());
    return 1;
  }
  return 0;
}
