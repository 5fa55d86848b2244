#pragma once
/// @file file_handles.hpp
/// Internal RAII owners for the CLI's files: a FILE* owner, a line reader that knows byte
/// offsets (resume and compaction address lines by offset, never by keeping their text), an
/// unnamed spool file, and an atomically replaced file (temp + fsync + rename).

#include <cstdint>
#include <cstddef>
#include <cstdio>
#include <functional>
#include <string>
#include <string_view>

namespace swarm::cli::detail {

/// `"<what> '<path>': <strerror(errno)>"`, captured right after the failing call.
std::string errno_message(std::string_view what, std::string_view path);

/// Owns a FILE* (or borrows stdin/stdout, which it never closes).
class File {
 public:
  File() = default;
  File(std::FILE* file, bool owned) noexcept : file_(file), owned_(owned) {}
  ~File();
  File(const File&) = delete;
  File& operator=(const File&) = delete;
  File(File&& other) noexcept;
  File& operator=(File&& other) noexcept;

  /// fopen(); throws std::runtime_error naming the path and strerror on failure.
  static File open(const std::string& path, const char* mode);

  [[nodiscard]] std::FILE* get() const noexcept { return file_; }
  [[nodiscard]] explicit operator bool() const noexcept { return file_ != nullptr; }
  /// Closes now and reports a failed close (the last chance to see a deferred write error).
  /// Returns false (errno set) on failure. Borrowed streams are only flushed.
  bool close() noexcept;

 private:
  std::FILE* file_ = nullptr;
  bool owned_ = false;
};

/// True when `file` is a regular file (so it can be re-read and fsync()ed).
bool is_regular(std::FILE* file) noexcept;

/// An unlinked read/write temp file in $TMPDIR (default /tmp): the spool for stdin and pipes,
/// which cannot be read twice. Unlinked at once so nothing is left behind if we are killed.
File make_spool_file();

/// Reads '\n'-terminated lines, tracking byte offsets. A line longer than `max_bytes` (its
/// '\n' not counted) is an InputError `name:line: line longer than N bytes`, raised after
/// reading at most max_bytes + 1 of its bytes: /dev/zero or a file without newlines ends with
/// that error at once instead of growing a buffer until the rank is killed.
class LineReader {
 public:
  explicit LineReader(std::FILE* file, std::size_t max_bytes = SIZE_MAX) noexcept
      : file_(file), max_bytes_(max_bytes) {}
  ~LineReader();
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  /// The next line without its '\n'; false at end of file. Throws std::runtime_error (naming
  /// `name`) on a read error, InputError on a line over the limit.
  bool next(std::string_view& line, const std::string& name);
  /// Byte offset where the line last returned starts.
  [[nodiscard]] std::uint64_t line_offset() const noexcept { return line_offset_; }
  /// Byte offset just past the line last returned (its '\n' included).
  [[nodiscard]] std::uint64_t end_offset() const noexcept { return end_offset_; }
  /// Whether the line last returned was terminated by '\n' (false only for a last line).
  [[nodiscard]] bool had_newline() const noexcept { return had_newline_; }

 private:
  std::FILE* file_;
  std::size_t max_bytes_;
  std::string buffer_;
  std::size_t lines_ = 0;  ///< lines returned so far (for the line number of an error)
  std::uint64_t line_offset_ = 0;
  std::uint64_t end_offset_ = 0;
  bool had_newline_ = false;
};

/// A file replaced atomically: written to a temp file in the target's directory (rename() is
/// only atomic within one file system), then fsync + rename + fsync of the directory. Until
/// commit() the target is untouched; if commit() is never reached the temp file is removed.
class AtomicFile {
 public:
  /// Creates the temp file `<dir>/.<name>.tmp-XXXXXX`, with `mode` permissions if given.
  explicit AtomicFile(std::string target, int mode = -1);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  [[nodiscard]] std::FILE* get() const noexcept { return file_.get(); }
  [[nodiscard]] const std::string& temp_path() const noexcept { return temp_path_; }
  /// Writes bytes; throws std::runtime_error naming the target on failure.
  void write(std::string_view bytes);
  /// Flush, fsync, rename over the target, fsync the directory. `before_rename` is a test seam
  /// (a failure injected there must leave the target intact and the temp file removed).
  void commit(const std::function<void()>& before_rename = {});

 private:
  std::string target_;
  std::string temp_path_;
  File file_;
  bool committed_ = false;
};

}  // namespace swarm::cli::detail
