#pragma once
/// @file resume.hpp
/// Crash-safe resume of a run from its own output file.
///
/// The protocol (what the driver does):
///   1. `auto state = load_resume(out, reader.count(), reader.key_fingerprints());`
///      reads the existing output (if any): which indices already succeeded. Memory: one byte
///      per input, never the texts. A torn last line (SIGKILL mid-write) is ignored with a
///      warning; any other bad line is an InputError, as is a line whose index is out of range
///      or whose id / custom_id differs from the input's (--resume pointed at another run's
///      output).
///   2. `OutputWriter writer(out, state);` appends after the valid part (cutting the torn line),
///      and the run sends only the indices with `!state.done(i)`, flushing per window. A crash
///      now loses nothing either: the file is still "old lines + appended lines", and another
///      load_resume() picks up from there.
///   3. After writer.close(): `compact(out, count, {.input_hashes = ...})` rewrites the file atomically into exactly
///      one line per index in index order (the last successful line of each index, else its
///      last line). A file that is already in order is left untouched, so calling it after
///      every run is cheap.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "io/input_error.hpp"

namespace swarm::cli {

class ResumeState;

/// What an output line is checked against: by index, InputReader::key_fingerprints() and
/// InputReader::input_hashes(); an empty span skips that check.
struct InputChecks {
  std::span<const std::uint64_t> keys;
  std::span<const std::uint64_t> hashes;
};

/// Reads the output file `path` of a previous (possibly killed) run of the same input.
/// A missing file is an empty state. `key_fingerprints` (InputReader::key_fingerprints()) lets
/// it check each line's id / custom_id against the input's; pass {} to skip that check (inputs
/// without ids can only be checked for the index range). `input_hashes`
/// (InputReader::input_hashes()) lets it check each line's "input_hash": a line answering an
/// earlier version of its record (an edited prompt) is not done (it is sent again, with a
/// warning); when more than half of the lines that carry a hash mismatch, the output belongs to
/// another input and is an InputError. Lines without "input_hash" (older aswarm) are trusted,
/// with one warning. Throws InputError for bad content, std::runtime_error if the file cannot
/// be read.
ResumeState load_resume(const std::string& path, std::size_t expected_count,
                        std::span<const std::uint64_t> key_fingerprints = {},
                        const WarningHandler& on_warning = {},
                        std::span<const std::uint64_t> input_hashes = {});

/// What an existing output file already holds.
class ResumeState {
 public:
  ResumeState() = default;
  /// Nothing done yet for `expected_count` inputs.
  explicit ResumeState(std::size_t expected_count) : status_(expected_count, kNone) {}

  /// Whether `index` already has a successful line (the driver skips it).
  [[nodiscard]] bool done(std::size_t index) const noexcept {
    return index < status_.size() && status_[index] == kOk;
  }
  [[nodiscard]] std::size_t expected_count() const noexcept { return status_.size(); }
  /// Indices with a successful line.
  [[nodiscard]] std::size_t done_count() const noexcept { return done_count_; }
  /// Indices with lines but no successful one (they are sent again).
  [[nodiscard]] std::size_t failed_count() const noexcept { return failed_count_; }
  /// Valid lines read (a torn last line excluded).
  [[nodiscard]] std::size_t line_count() const noexcept { return line_count_; }
  /// Lines whose "input_hash" is not their record's (their prompt changed: sent again).
  [[nodiscard]] std::size_t stale_count() const noexcept { return stale_count_; }
  /// Whether the output file existed.
  [[nodiscard]] bool exists() const noexcept { return exists_; }
  /// Whether an unparsable last line was ignored.
  [[nodiscard]] bool torn_tail() const noexcept { return torn_tail_; }
  /// Adds what `other` (a journal segment of the same input, journal.hpp) holds: an index is
  /// done if either says so. Counts of lines add up; the byte positions stay this file's.
  void merge(const ResumeState& other);
  /// Bytes of the file that hold valid lines: appends start here.
  [[nodiscard]] std::uint64_t valid_bytes() const noexcept { return valid_bytes_; }
  /// Whether the last valid line lacks its '\n' (the appender adds one).
  [[nodiscard]] bool needs_newline() const noexcept { return needs_newline_; }

 private:
  friend ResumeState load_resume(const std::string&, std::size_t, std::span<const std::uint64_t>,
                                 const WarningHandler&, std::span<const std::uint64_t>);
  static constexpr std::uint8_t kNone = 0;
  static constexpr std::uint8_t kFailed = 1;
  static constexpr std::uint8_t kOk = 2;

  std::vector<std::uint8_t> status_;
  std::size_t done_count_ = 0;
  std::size_t failed_count_ = 0;
  std::size_t line_count_ = 0;
  std::size_t stale_count_ = 0;
  bool exists_ = false;
  bool torn_tail_ = false;
  std::uint64_t valid_bytes_ = 0;
  bool needs_newline_ = false;
};

struct CompactOptions {
  WarningHandler on_warning;
  /// InputReader::input_hashes(): lines answering an earlier version of their record are
  /// dropped (so a stale success never beats the redo's failure). Empty: no check.
  std::span<const std::uint64_t> input_hashes;
  /// Test seam: runs after the temp file is complete and synced, before the rename. A throw
  /// there must leave `path` untouched and no temp file behind.
  std::function<void()> before_rename;
};

struct CompactResult {
  bool rewritten = false;         ///< false: the file was already in order.
  std::size_t lines_read = 0;     ///< Valid lines in the file before.
  std::size_t lines_written = 0;  ///< Lines in the file after (one per index present).
  std::size_t missing = 0;        ///< Indices below expected_count without any line.
};

/// Rewrites `path` to exactly one line per index, in index order: for each index the last
/// successful line if any, else its last line. Atomic (temp file in the same directory, fsync,
/// rename): a crash leaves either the old or the new file. Memory: (offset, length) per index;
/// line bytes are copied from the file, never kept. The writer must be closed first.
/// Throws InputError for bad content (as load_resume), std::runtime_error on I/O errors.
CompactResult compact(const std::string& path, std::size_t expected_count,
                      const CompactOptions& options = {});

}  // namespace swarm::cli
