#include "io/launcher_terminal.hpp"

#include <unistd.h>

#include <array>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>

namespace swarm::cli {
namespace {

// aswarm-mpi <- hydra_pmi_proxy <- mpiexec.hydra is two steps; a wrapper script or two more.
constexpr int kMaxDepth = 6;

bool is_launcher(std::string_view comm) {
  constexpr std::array<std::string_view, 4> exact{"srun", "aprun", "orterun", "prterun"};
  if (comm.starts_with("mpiexec") || comm.starts_with("mpirun")) return true;
  for (const auto name : exact) {
    if (comm == name) return true;
  }
  return false;
}

bool is_terminal_device(const std::string& target) {
  return target.starts_with("/dev/pts/") || target.starts_with("/dev/tty") ||
         target == "/dev/console";
}

// The parent pid from /proc/<pid>/stat: the field after the parenthesised command name, which
// may itself hold spaces and parentheses (hence the last ')').
pid_t parent_of(const std::filesystem::path& proc, pid_t pid) {
  std::ifstream in(proc / std::to_string(pid) / "stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream rest(stat.substr(close + 1));
  char state = 0;
  long long parent = 0;
  if (!(rest >> state >> parent)) return 0;
  return static_cast<pid_t>(parent);
}

std::string comm_of(const std::filesystem::path& proc, pid_t pid) {
  std::ifstream in(proc / std::to_string(pid) / "comm");
  std::string comm;
  std::getline(in, comm);
  return comm;
}

}  // namespace

bool launcher_stderr_is_terminal(const std::filesystem::path& proc, pid_t self) {
  pid_t pid = self;
  for (int depth = 0; depth < kMaxDepth; ++depth) {
    pid = parent_of(proc, pid);
    if (pid <= 1) return false;
    if (!is_launcher(comm_of(proc, pid))) continue;
    std::error_code error;
    const auto target = std::filesystem::read_symlink(proc / std::to_string(pid) / "fd" / "2", error);
    return !error && is_terminal_device(target.string());
  }
  return false;
}

bool launcher_stderr_is_terminal() { return launcher_stderr_is_terminal("/proc", ::getpid()); }

}  // namespace swarm::cli
