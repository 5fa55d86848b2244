// launcher_stderr_is_terminal over a fake /proc tree: the walk stops at the first MPI launcher
// among the ancestors and reads that one's stderr, never a shell's further up.

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "io/launcher_terminal.hpp"

namespace swarm::cli {
namespace {

namespace fs = std::filesystem;

class FakeProc {
 public:
  FakeProc() : root_(fs::temp_directory_path() / ("aswarm-proc-" + std::to_string(::getpid()))) {
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  ~FakeProc() { fs::remove_all(root_); }
  FakeProc(const FakeProc&) = delete;
  FakeProc& operator=(const FakeProc&) = delete;

  /// Process `pid` named `comm` (a name with a space and a ')' on purpose in the stat line),
  /// child of `parent`, its fd 2 pointing at `stderr_target`.
  void add(int pid, const std::string& comm, int parent, const std::string& stderr_target) {
    const fs::path dir = root_ / std::to_string(pid);
    fs::create_directories(dir / "fd");
    std::ofstream(dir / "stat") << pid << " (" << comm << ") S " << parent << " 1 1 0\n";
    std::ofstream(dir / "comm") << comm << "\n";
    fs::create_symlink(stderr_target, dir / "fd" / "2");
  }
  [[nodiscard]] const fs::path& root() const { return root_; }

 private:
  fs::path root_;
};

TEST(LauncherTerminal, FollowsTheLaunchersStderr) {
  FakeProc proc;
  proc.add(10, "bash", 1, "/dev/pts/3");
  proc.add(20, "mpiexec.hydra", 10, "/dev/pts/3");
  proc.add(30, "hydra_pmi_proxy", 20, "pipe:[123]");
  proc.add(40, "aswarm-mpi", 30, "pipe:[456]");
  EXPECT_TRUE(launcher_stderr_is_terminal(proc.root(), 40));
}

TEST(LauncherTerminal, ALaunchersRedirectedStderrIsNoTerminalWhateverTheShellHas) {
  FakeProc proc;
  proc.add(10, "bash", 1, "/dev/pts/3");              // the shell is at a terminal...
  proc.add(20, "mpirun", 10, "/home/u/job.err");      // ...but mpirun's stderr is a file
  proc.add(30, "weird (name) x", 20, "pipe:[123]");  // parentheses in a name do not confuse it
  proc.add(40, "aswarm-mpi", 30, "pipe:[456]");
  EXPECT_FALSE(launcher_stderr_is_terminal(proc.root(), 40));
}

TEST(LauncherTerminal, NoLauncherAmongTheAncestorsIsNoTerminal) {
  FakeProc proc;
  proc.add(10, "bash", 1, "/dev/pts/3");
  proc.add(40, "aswarm-mpi", 10, "pipe:[456]");
  EXPECT_FALSE(launcher_stderr_is_terminal(proc.root(), 40));
  EXPECT_FALSE(launcher_stderr_is_terminal(proc.root(), 99));  // unreadable: no
}

}  // namespace
}  // namespace swarm::cli
