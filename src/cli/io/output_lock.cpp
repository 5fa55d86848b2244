#include "io/output_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <filesystem>
#include <stdexcept>
#include <system_error>

#include <fmt/format.h>

#include "io/file_handles.hpp"
#include "io/input_error.hpp"

namespace swarm::cli {
namespace {

std::string host_name() {
  std::array<char, 256> name{};
  if (::gethostname(name.data(), name.size() - 1) != 0) return "?";
  return name.data();
}

// What the holder wrote: "pid <pid> on <host>".
std::string read_holder(int fd) {
  std::array<char, 512> text{};
  const ssize_t n = ::pread(fd, text.data(), text.size() - 1, 0);
  std::string holder = n > 0 ? std::string(text.data(), static_cast<std::size_t>(n)) : "";
  while (!holder.empty() && (holder.back() == '\n' || holder.back() == '\0')) holder.pop_back();
  return holder.empty() ? "an unknown process" : holder;
}

// Temp files of AtomicFile (".<name>.tmp-XXXXXX") for the output and the files beside it named
// after it (".<name>.tree-0-of-2.tmp-XXXXXX").
void remove_stale_temps(const std::string& output) {
  const std::filesystem::path target(output);
  const std::string prefix = "." + target.filename().string() + ".";
  const auto dir = target.parent_path().empty() ? std::filesystem::path(".") : target.parent_path();
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with(prefix) && name.find(".tmp-", prefix.size() - 1) != std::string::npos) {
      std::filesystem::remove(entry.path(), ec);
    }
  }
}

}  // namespace

OutputLock::OutputLock(const std::string& output) : lock_path_(output + ".lock") {
  // Another run may unlink the lock file between our open() and flock(): then we hold a lock
  // on a file nobody else sees. Checking that the path still names our inode closes that race.
  for (int attempt = 0; attempt < 100; ++attempt) {
    const int fd = ::open(lock_path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) throw std::runtime_error(detail::errno_message("cannot create lock file", lock_path_));
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      const std::string holder = read_holder(fd);
      ::close(fd);
      if (err == EWOULDBLOCK) {
        throw InputError(output, 0,
                         fmt::format("is in use by another aswarm run ({}; lock file {}): wait "
                                     "for it to finish or stop it",
                                     holder, lock_path_));
      }
      errno = err;
      throw std::runtime_error(detail::errno_message("cannot lock", lock_path_));
    }
    struct stat held {};
    struct stat named {};
    if (::fstat(fd, &held) == 0 && ::stat(lock_path_.c_str(), &named) == 0 &&
        held.st_ino == named.st_ino && held.st_dev == named.st_dev) {
      fd_ = fd;
      break;
    }
    ::close(fd);
  }
  if (fd_ < 0) throw std::runtime_error(fmt::format("cannot lock '{}': it keeps changing", lock_path_));
  // The lock holds without the text too; only a refused run's message would lack the pid.
  const std::string holder = fmt::format("pid {} on {}\n", ::getpid(), host_name());
  const bool named = ::ftruncate(fd_, 0) == 0 &&
                     ::pwrite(fd_, holder.data(), holder.size(), 0) ==
                         static_cast<ssize_t>(holder.size());
  static_cast<void>(named);
  remove_stale_temps(output);
}

std::unique_ptr<OutputLock> lock_output(const std::string& output) {
  if (output.empty() || output == "-") return nullptr;
  return std::make_unique<OutputLock>(output);
}

OutputLock::~OutputLock() {
  if (fd_ < 0) return;
  ::unlink(lock_path_.c_str());  // while still held: see the inode check above
  ::close(fd_);
}

}  // namespace swarm::cli
