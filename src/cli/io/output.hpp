#pragma once
/// @file output.hpp
/// The results JSONL: one line per prompt (scatter-gather) or per agent (broadcast), in input
/// order, flushed and fsync()ed per window so a job killed at walltime keeps every finished
/// window.
///
/// Plain input, every line: {"index", "id" (only when the input gave one), "agent",
///   "endpoint", "success", "text", "error", "http_status", "latency_ms", "attempts",
///   "usage": {"prompt_tokens", "completion_tokens", "total_tokens"[, "reasoning_tokens"]},
///   "finish_reason", "reasoning", "response_id", "model", "input_hash"}
/// `error`, `finish_reason`, `reasoning`, `response_id` and `model` are null when absent;
/// `agent` is -1 and `endpoint` "" when no agent was involved; `text` is the content, or the
/// reasoning when a reasoning model left the content empty.
///
/// OpenAI batch input gets the OpenAI Batch / vllm run-batch output line instead:
///   {"id": "aswarm-<index>", "custom_id",
///    "response": {"status_code", "request_id", "body": the server's JSON as received} or null
///                when no HTTP reply came back,
///    "error": null or {"code": <failure kind>, "message"},
///    "aswarm": {"index", "success", "agent", "endpoint", "http_status", "latency_ms",
///               "attempts", "text", "reasoning", "finish_reason", "usage", "input_hash"}}
/// so readers of the batch output format can consume the file as is; resume reads "index" and
/// "success" from "aswarm" for these lines.
///
/// "input_hash" is the record's fingerprint (record_hash.hpp, 16 hex digits): --resume redoes a
/// line whose record changed since and refuses an output made from another input.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "io/file_handles.hpp"
#include "io/input_record.hpp"
#include "swarm/response.hpp"

namespace swarm::cli {

class ResumeState;

/// What one output line says: the input's identity, who answered, and the answer.
struct OutputLine {
  std::size_t index = 0;
  nlohmann::json id;      ///< Input id; null = no "id" field.
  bool batch = false;     ///< Write the OpenAI batch shape (and "custom_id" instead of "id").
  std::string custom_id;  ///< Batch only.
  std::string url;        ///< Batch only: selects chat.completion vs text_completion.
  std::optional<std::string> model;  ///< Batch only: echoed as body.model when known.
  std::int64_t agent = -1;  ///< Global agent index (the MPI driver's numbering), -1 if none.
  std::string endpoint;     ///< Agent base URL, "" if none.
  std::uint64_t input_hash = 0;  ///< record_hash() of the input record; 0 = not written.
  swarm::Response response;
};

/// An OutputLine for `record` (its index, id / custom_id, url and model).
OutputLine make_output_line(const InputRecord& record, swarm::Response response,
                            std::string endpoint, std::int64_t agent);

/// What an output line needs of its input record, kept from the reading of a window until its
/// results are written (rank 0 holds two windows of these). Not the prompt (the bulk of a
/// record; it travels in the request), and the batch fields only for batch input: 32 bytes for
/// a plain record instead of an InputRecord's 208.
struct RecordIdentity {
  struct Batch {
    std::string custom_id;
    std::string url;
    std::optional<std::string> model;
  };
  std::size_t index = 0;
  nlohmann::json id;             ///< Plain input: the "id" (null if none).
  std::unique_ptr<Batch> batch;  ///< Batch input only.
  std::uint64_t input_hash = 0;  ///< record_hash() of the record.

  /// What the output needs of `record`; its prompt is left alone. `input_hash` is
  /// record_hash(record), taken before anything was moved out of it (make_work moves the prompt).
  static RecordIdentity of(InputRecord&& record, std::uint64_t input_hash);
};

/// An OutputLine for the record behind `record`: the same line make_output_line() gives for
/// the InputRecord.
OutputLine make_output_line(RecordIdentity&& record, swarm::Response response, std::string endpoint,
                            std::int64_t agent);
/// The same, copying what it needs of `record` (the journal writes a line before its window's).
OutputLine make_output_line(const RecordIdentity& record, swarm::Response response,
                            std::string endpoint, std::int64_t agent);

/// The JSON text of one line, without the '\n'. Never throws on invalid UTF-8 in texts (bad
/// bytes become U+FFFD).
std::string format_output_line(const OutputLine& line);

/// Owns the output file ("-" = stdout, never closed). Not thread-safe: rank 0's writer only.
class OutputWriter {
 public:
  /// Creates or truncates `path`. Throws std::runtime_error naming the path.
  explicit OutputWriter(const std::string& path);
  /// Appends to `path` after the valid part recorded by load_resume(): a torn last line (from a
  /// SIGKILL mid-write) is cut off first, and a missing final '\n' is added, so appended lines
  /// never glue onto a broken one. Creates the file if load_resume() found none.
  OutputWriter(const std::string& path, const ResumeState& resume);
  ~OutputWriter();
  OutputWriter(const OutputWriter&) = delete;
  OutputWriter& operator=(const OutputWriter&) = delete;

  /// Buffers one line. Throws std::runtime_error (path + strerror) on a write error.
  void write(const OutputLine& line);
  /// Buffers one line of another shape (the pipeline's per-item lines). It must carry
  /// "index" and "success" for load_resume() and compact().
  void write(const nlohmann::json& line);
  /// Appends bytes that already are whole output lines (a journal's valid part).
  void write_lines(std::string_view bytes);
  /// fflush() and, for regular files, fsync(): everything written so far survives a kill or a
  /// node crash. Call once per window. Throws std::runtime_error (e.g. disk full).
  void flush();
  /// flush() and close; the destructor only closes (and cannot report errors).
  void close();

  [[nodiscard]] const std::string& path() const noexcept { return path_; }
  [[nodiscard]] std::size_t lines_written() const noexcept { return lines_written_; }

 private:
  void write_raw(std::string_view bytes);

  std::string path_;
  detail::File file_;
  bool regular_ = false;
  std::size_t lines_written_ = 0;
};

}  // namespace swarm::cli
