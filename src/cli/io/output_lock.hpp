#pragma once
/// @file output_lock.hpp
/// One run per output file: an exclusive flock(2) on `<output>.lock`, held for the whole run.
/// A second run on the same output (or its journal) is refused with the holder's pid and host.
/// The kernel drops a flock when its holder dies, however it dies, so the lock of a killed run
/// is never stale: the file it left is simply locked again and rewritten. The lock file is a
/// separate file because compaction renames a new output over the old one, and a lock on the
/// old inode would not cover the new.

#include <memory>
#include <string>

namespace swarm::cli {

/// A held lock on `<output>.lock`; removed and released when destroyed.
class OutputLock {
 public:
  /// Takes the lock (never waits). Throws InputError naming the output and the holder when
  /// another process holds it, std::runtime_error if the lock file cannot be created. Then
  /// removes what a killed run may have left beside the output: the temp files of compaction
  /// and checkpoints (`.<name>.tmp-*`, `.<name>.<...>.tmp-*`), which no one else can be writing
  /// while we hold the lock.
  explicit OutputLock(const std::string& output);
  ~OutputLock();
  OutputLock(const OutputLock&) = delete;
  OutputLock& operator=(const OutputLock&) = delete;

  [[nodiscard]] const std::string& lock_path() const noexcept { return lock_path_; }

 private:
  std::string lock_path_;
  int fd_ = -1;
};

/// The lock of --output `output`; none for stdout ("-") or no output ("").
std::unique_ptr<OutputLock> lock_output(const std::string& output);

}  // namespace swarm::cli
