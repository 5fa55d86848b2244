#pragma once
/// @file journal.hpp
/// Answers reach disk as they finish, not only when their window is written: each answer's
/// output line is appended to a journal segment beside the output, `<output>.journal-<w>` for
/// the window whose first input index is w, and synced about once a second. When the window is
/// written to the output (in input order, flushed), its segment is removed, so the journal
/// never holds more than the windows in flight. A SIGKILL therefore loses about a second of
/// finished answers instead of up to two windows. `--resume` folds what segments a killed run
/// left into the output (fold_journal) before it decides what to send.

#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "io/file_handles.hpp"
#include "io/resume.hpp"

namespace swarm::cli {

class OutputWriter;

/// The journal of one run. Not thread-safe: rank 0's I/O thread only.
class Journal {
 public:
  explicit Journal(std::string output) : output_(std::move(output)) {}
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  /// Appends `line` (one output line, with its '\n') to window `window`'s segment.
  /// Throws std::runtime_error naming the segment.
  void append(std::uint64_t window, std::string_view line);
  /// Makes everything appended so far durable (fflush + fsync per segment touched).
  void sync();
  /// Window `window` is in the output: its segment goes.
  void retire(std::uint64_t window);

 private:
  std::string output_;
  std::map<std::uint64_t, detail::File> segments_;
  std::vector<std::uint64_t> dirty_;
};

/// The segment file of window `window` of `output`.
std::string journal_segment(const std::string& output, std::uint64_t window);

/// Segments left beside `output` by a killed run, in window order.
std::vector<std::string> journal_segments(const std::string& output);

/// --resume: appends the valid lines of every segment (each checked like the output by
/// load_resume with `checks`) to `writer`, records them in `state`, syncs the output and then
/// removes the segments. A kill in between only leaves lines twice, which compact() merges.
void fold_journal(const std::string& output, OutputWriter& writer, ResumeState& state,
                  const InputChecks& checks, const WarningHandler& on_warning = {});

}  // namespace swarm::cli
