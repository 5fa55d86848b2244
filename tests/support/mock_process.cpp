#include "mock_process.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <thread>

#include "swarm/hostfile.hpp"

extern char** environ;

namespace swarm::mock::test {
namespace {

using Clock = std::chrono::steady_clock;

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

/// Starts the binary; stdout goes to `stdout_fd` (or the file `stdout_path`), stderr to
/// `stderr_path`.
pid_t spawn(const std::vector<std::string>& args, int stdout_fd,
            const std::filesystem::path& stdout_path, const std::filesystem::path& stderr_path) {
  std::vector<std::string> argv_storage;
  argv_storage.emplace_back(ASWARM_MOCK_AGENT_PATH);
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& arg : argv_storage) argv.push_back(arg.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (stdout_fd >= 0) {
    posix_spawn_file_actions_adddup2(&actions, stdout_fd, STDOUT_FILENO);
  } else {
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, stdout_path.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0600);
  }
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, stderr_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    throw std::runtime_error(std::string("posix_spawn ") + argv[0] + ": " + std::strerror(rc));
  }
  return pid;
}

/// waitpid() with a deadline; SIGKILLs the child when it runs out. Returns the status.
int reap(pid_t pid, std::chrono::milliseconds timeout, bool& timed_out) {
  const auto deadline = Clock::now() + timeout;
  int status = 0;
  timed_out = false;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (Clock::now() > deadline) {
      timed_out = true;
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(5ms);
  }
  return status;
}

}  // namespace

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "aswarm-mock-test-XXXXXX");
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

MockProcess::MockProcess(std::vector<std::string> args, std::chrono::milliseconds ready_timeout)
    : hostfile_(dir_.path() / "hostfile") {
  const bool names_ports = std::any_of(args.begin(), args.end(), [](const std::string& a) {
    return a == "--ports" || a == "--port-base";
  });
  if (!names_ports) args.insert(args.end(), {"--port-base", "0"});
  args.insert(args.end(), {"--hostfile-out", hostfile_.string()});

  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  const auto started = Clock::now();
  try {
    pid_ = spawn(args, pipe_fds[1], {}, dir_.path() / "stderr");
  } catch (...) {
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    throw;
  }
  close(pipe_fds[1]);
  stdout_fd_ = pipe_fds[0];

  // Read until the first newline, never past the deadline.
  const auto deadline = started + ready_timeout;
  std::string out;
  std::string failure;
  while (out.find('\n') == std::string::npos) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      failure = "no ready line within the timeout";
      break;
    }
    pollfd p{stdout_fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    char buffer[4096];
    const ssize_t n = read(stdout_fd_, buffer, sizeof buffer);
    if (n <= 0) {
      failure = "the mock exited before printing its ready line";
      break;
    }
    out.append(buffer, static_cast<std::size_t>(n));
  }
  if (!failure.empty()) {
    stop(SIGKILL);
    close(stdout_fd_);
    throw std::runtime_error(failure + "; stderr: " + stderr_text());
  }
  startup_ = Clock::now() - started;
  ready_line_ = out.substr(0, out.find('\n'));
  agents_ = parse_hostfile(hostfile_);
}

MockProcess::~MockProcess() {
  stop(SIGTERM);
  if (stdout_fd_ >= 0) close(stdout_fd_);
  if (!WIFEXITED(status_) || WEXITSTATUS(status_) != 0) {
    ADD_FAILURE() << "aswarm-mock-agent did not exit cleanly (wait status " << status_
                  << "); stderr:\n"
                  << stderr_text();
  }
}

std::string MockProcess::url(std::size_t agent, std::string_view path) const {
  return "http://127.0.0.1:" + std::to_string(port(agent)) + std::string(path);
}

std::string MockProcess::stderr_text() const {
  return read_file(dir_.path() / "stderr");
}

int MockProcess::stop(int signal) {
  if (stopped_ || pid_ < 0) return status_;
  kill(pid_, signal);
  bool timed_out = false;
  status_ = reap(pid_, 10s, timed_out);
  if (timed_out) ADD_FAILURE() << "aswarm-mock-agent ignored signal " << signal << " for 10 s";
  stopped_ = true;
  return status_;
}

RunResult run_mock(const std::vector<std::string>& args, std::chrono::milliseconds timeout) {
  TempDir dir;
  const pid_t pid = spawn(args, -1, dir.path() / "stdout", dir.path() / "stderr");
  bool timed_out = false;
  const int status = reap(pid, timeout, timed_out);
  RunResult result;
  result.exit_code = !timed_out && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result.out = read_file(dir.path() / "stdout");
  result.err = read_file(dir.path() / "stderr");
  return result;
}

namespace {

/// A loopback TCP socket bound to an OS-chosen port, not listening; its fd and port.
std::pair<int, std::uint16_t> bind_any_port(const char* who) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof address;
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    if (fd >= 0) close(fd);
    throw std::runtime_error(std::string(who) + ": cannot bind");
  }
  return {fd, ntohs(address.sin_port)};
}

}  // namespace

std::uint16_t free_port() {
  const auto [fd, port] = bind_any_port("free_port");
  close(fd);
  return port;
}

RefusedPort::RefusedPort() { std::tie(fd_, port_) = bind_any_port("RefusedPort"); }

RefusedPort::~RefusedPort() { close(fd_); }

void write_file(const std::filesystem::path& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

}  // namespace swarm::mock::test
