#pragma once
/// @file input.hpp
/// The request input: JSONL validated in one streaming pass before anything is sent, then read
/// back window by window, so rank 0's memory is bounded by the window, not by the input.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <string_view>
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
/// Memory does not grow with the input beyond 8 bytes per id during validate(): the duplicate
/// check keeps a 64-bit hash per id, and only when two hashes match does it re-read the file to
/// compare the ids themselves (so a hash collision is never reported as a duplicate).
///
/// Inputs that cannot be read twice (stdin as "-", pipes, `<(...)` process substitution) are
/// spooled during validate() to an unlinked temp file in $TMPDIR, then read back from there.
class InputReader {
 public:
  /// Longest line accepted by default (--max-line-bytes): 8 MiB, some 2 million tokens, beyond
  /// any model's context; a longer line is an error naming the file and line.
  static constexpr std::size_t kDefaultMaxLineBytes = std::size_t{8} << 20;

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
  /// The first line (1-based) that needs more than its prompt text to be sent as written — a
  /// batch body, "messages" or "params" (InputRecord::is_request()) — 0 if none (after
  /// validate()).
  [[nodiscard]] std::size_t first_request_line() const noexcept { return first_request_line_; }
  /// The first line with "messages" (a prompt line's conversation), 0 if none.
  [[nodiscard]] std::size_t first_messages_line() const noexcept { return first_messages_line_; }
  /// The first line without prompt text (a batch body of embeddings or a list prompt, messages
  /// without a text user turn), 0 if none.
  [[nodiscard]] std::size_t first_textless_line() const noexcept { return first_textless_line_; }
  /// Record count (after validate()).
  [[nodiscard]] std::size_t count() const noexcept { return count_; }
  /// key_fingerprint() of every record, by index (after validate()): what load_resume() needs to
  /// reject an output file from another input. 8 bytes per record, so they are computed on the
  /// first call (one more pass over the input; only --resume asks) and kept. Does not disturb
  /// next(). Throws InputError if the file changed since validate().
  std::span<const std::uint64_t> key_fingerprints();
  /// record_hash() of every record, by index (computed in the same pass as key_fingerprints()):
  /// what load_resume() and compact() need to tell an edited prompt from the one an output line
  /// answers. Same cost and errors as key_fingerprints().
  std::span<const std::uint64_t> input_hashes();

  /// The hash validate()'s duplicate check keeps per id.
  using KeyHash = std::uint64_t (*)(std::string_view key) noexcept;
  /// Test seam: replaces detail::fingerprint_of_key in the duplicate check (call before
  /// validate()); a constant hash sends every id through the exact re-read.
  void set_duplicate_hash(KeyHash hash) noexcept { duplicate_hash_ = hash; }
  /// Longest line accepted (call before validate()); see kDefaultMaxLineBytes.
  void set_max_line_bytes(std::size_t bytes) noexcept { max_line_bytes_ = bytes; }
  /// --input-format text (call before validate()): every non-blank line, its surrounding
  /// whitespace stripped, is a plain prompt (a line of plain text, CSV or TSV), not JSON.
  void set_plain_text(bool plain) noexcept { plain_text_ = plain; }

 private:
  std::string_view strip_bom(std::string_view line, std::size_t line_no) const noexcept;
  LineKind parse(std::string_view text, InputRecord& out, std::string& reason) const;
  void check_kind(LineKind kind, std::size_t line_no);
  void check_duplicates(std::deque<std::uint64_t>& hashes, std::size_t last_line);
  [[noreturn]] void throw_duplicate(const InputRecord& record, std::string_view key,
                                    std::size_t first_line, std::size_t line_no) const;
  std::FILE* readable_copy();
  template <typename Visit>
  void rescan(std::FILE* data, std::size_t last_line, Visit&& visit);

  std::string name_;
  detail::File source_;        // the file or stream given
  detail::File spool_;         // a copy of a non-seekable source
  std::FILE* data_ = nullptr;  // what next() reads: source_ or spool_
  std::unique_ptr<detail::LineReader> reader_;
  bool validated_ = false;
  std::size_t count_ = 0;
  std::size_t first_prompt_line_ = 0;  // 0 = none yet
  std::size_t first_batch_line_ = 0;
  std::size_t first_request_line_ = 0;
  std::size_t first_messages_line_ = 0;
  std::size_t first_textless_line_ = 0;
  void load_identities();
  std::vector<std::uint64_t> fingerprints_;  // filled by load_identities()
  std::vector<std::uint64_t> hashes_;        // filled by load_identities()
  bool have_fingerprints_ = false;
  KeyHash duplicate_hash_ = detail::fingerprint_of_key;
  std::size_t max_line_bytes_ = kDefaultMaxLineBytes;
  bool plain_text_ = false;
  std::size_t line_no_ = 0;  // next() position
  std::size_t next_index_ = 0;
};

}  // namespace swarm::cli
