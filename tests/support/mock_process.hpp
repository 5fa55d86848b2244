#pragma once
/// @file mock_process.hpp
/// Runs the real aswarm-mock-agent binary as a child process for the tests: waits (bounded)
/// for its ready line, learns its ports from --hostfile-out, and always stops and reaps it.

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "swarm/endpoint.hpp"

namespace swarm::mock::test {

using namespace std::chrono_literals;

/// A private temporary directory, removed with its content.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }

 private:
  std::filesystem::path path_;
};

/// A running mock. Unless `args` name ports themselves (--ports/--port-base), the OS picks
/// them (--port-base 0) so that tests can run in parallel; --hostfile-out is always added.
/// The destructor sends SIGTERM, reaps the child and records a test failure unless it exited
/// with status 0.
class MockProcess {
 public:
  explicit MockProcess(std::vector<std::string> args,
                       std::chrono::milliseconds ready_timeout = 20s);
  ~MockProcess();
  MockProcess(const MockProcess&) = delete;
  MockProcess& operator=(const MockProcess&) = delete;

  /// The agents as read back from the hostfile with swarm::parse_hostfile.
  [[nodiscard]] const std::vector<Endpoint>& agents() const noexcept { return agents_; }
  [[nodiscard]] std::uint16_t port(std::size_t agent) const { return agents_.at(agent).port; }
  /// `http://127.0.0.1:<port of agent><path>`.
  [[nodiscard]] std::string url(std::size_t agent, std::string_view path) const;
  [[nodiscard]] const std::string& ready_line() const noexcept { return ready_line_; }
  [[nodiscard]] const std::filesystem::path& hostfile() const noexcept { return hostfile_; }
  [[nodiscard]] std::chrono::duration<double> startup_time() const noexcept { return startup_; }
  /// Everything the child wrote to stderr so far.
  [[nodiscard]] std::string stderr_text() const;

  /// Sends `signal` and waits (bounded) for the exit; returns the waitpid() status. Idempotent.
  int stop(int signal = 15 /* SIGTERM */);

 private:
  TempDir dir_;
  std::filesystem::path hostfile_;
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  bool stopped_ = false;
  int status_ = 0;
  std::string ready_line_;
  std::vector<Endpoint> agents_;
  std::chrono::duration<double> startup_{};
};

/// A finished run of the binary (for flag and file errors).
struct RunResult {
  int exit_code = -1;  ///< -1 when killed by a signal or timed out
  std::string out;
  std::string err;
};

/// Runs the binary with `args` to completion (killed after `timeout`).
RunResult run_mock(const std::vector<std::string>& args, std::chrono::milliseconds timeout = 10s);

/// A port that was free a moment ago (bound to 0, read back, closed).
std::uint16_t free_port();

/// A loopback port that refuses connections for as long as this lives: bound, never listening,
/// so no other process (a parallel test's mock on an OS-chosen port) can take it meanwhile, as
/// it can take free_port()'s.
class RefusedPort {
 public:
  RefusedPort();
  ~RefusedPort();
  RefusedPort(const RefusedPort&) = delete;
  RefusedPort& operator=(const RefusedPort&) = delete;
  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

/// Writes `text` to `path`.
void write_file(const std::filesystem::path& path, std::string_view text);

}  // namespace swarm::mock::test
