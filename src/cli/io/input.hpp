#pragma once
/// @file input.hpp
/// The request input: JSONL validated in one streaming pass before anything is sent, then read
/// back window by window, so rank 0's memory is bounded by the window, not by the input.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "io/file_handles.hpp"
#include "io/input_error.hpp"
#include "io/input_record.hpp"

namespace swarm::cli {

/// Reads the input JSONL (formats: see input_record.hpp).
///
/// Rules checked by validate(), each an InputError naming `path:line`:
///   - every non-blank line parses as one of the formats;
///   - plain prompts and {"id","prompt"} objects may be mixed, but OpenAI batch requests may not
///     be mixed with either (the output shape differs; the error names the first line of the
///     other kind);
///   - ids (and custom_ids) are unique in the file (the error names both lines).
///
/// Inputs that cannot be read twice (stdin as "-", pipes, `<(...)` process substitution) are
/// spooled during validate() to an unlinked temp file in $TMPDIR, then read back from there.
class InputReader {
 public:
  /// `path` "-" is stdin (messages then say "<stdin>"). Throws std::runtime_error if the file
  /// cannot be opened.
  explicit InputReader(const std::string& path);
  /// Reads `stream` (not owned) once, spooling it; `name` is used in messages.
  InputReader(std::FILE* stream, std::string name);
  ~InputReader();
  InputReader(const InputReader&) = delete;
  InputReader& operator=(const InputReader&) = delete;

  /// One streaming pass over the whole input: checks every line and returns the number of
  /// records. Throws InputError at the first bad line. Call once, before next().
  std::size_t validate();

  /// The next records in input order, at most `max_records`; empty when all were returned.
  /// Throws InputError if the file changed since validate(), std::logic_error before validate().
  std::vector<InputRecord> next(std::size_t max_records);

  /// The path, or "<stdin>".
  [[nodiscard]] const std::string& name() const noexcept { return name_; }
  /// Whether the records are OpenAI batch requests (known after validate()).
  [[nodiscard]] bool batch() const noexcept { return first_batch_line_ != 0; }
  /// Record count (after validate()).
  [[nodiscard]] std::size_t count() const noexcept { return count_; }
  /// key_fingerprint() of every record, by index (after validate()): what load_resume() needs to
  /// reject an output file from another input. 8 bytes per record.
  [[nodiscard]] std::span<const std::uint64_t> key_fingerprints() const noexcept {
    return fingerprints_;
  }

 private:
  std::string_view strip_bom(std::string_view line, std::size_t line_no) const noexcept;
  void check_kind(LineKind kind, std::size_t line_no);
  void check_unique(const InputRecord& record, std::size_t line_no);

  std::string name_;
  detail::File source_;        // the file or stream given
  detail::File spool_;         // a copy of a non-seekable source
  std::FILE* data_ = nullptr;  // what next() reads: source_ or spool_
  std::unique_ptr<detail::LineReader> reader_;
  bool validated_ = false;
  std::size_t count_ = 0;
  std::size_t first_prompt_line_ = 0;  // 0 = none yet
  std::size_t first_batch_line_ = 0;
  std::vector<std::uint64_t> fingerprints_;
  std::unordered_map<std::string, std::size_t> first_line_of_key_;  // freed after validate()
  std::size_t line_no_ = 0;                                         // next() position
  std::size_t next_index_ = 0;
};

}  // namespace swarm::cli
