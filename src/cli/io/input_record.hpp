#pragma once
/// @file input_record.hpp
/// One request of the input JSONL and the parser of a single line. A line is one of:
///   "a JSON string"                      -> the prompt
///   {"id": <string|number>, "prompt": "..." | "messages": [...], "params": {...}}
///                                        (id and params optional, other keys ignored)
///   {"custom_id": "...", "method": "POST", "url": "/v1/chat/completions" | "/v1/completions" |
///    "/v1/embeddings", "body": {...}}    -> an OpenAI batch request, as `vllm run-batch` reads;
///                                        its body is sent as written (README: passthrough rules)
/// An object is a batch request as soon as it has "custom_id" or "body", so a half-written batch
/// line is reported as such instead of as "missing prompt".

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace swarm::cli {

/// OpenAI batch endpoints we can serve (the prompt is sent through the pool either way).
inline constexpr std::string_view kChatCompletionsUrl = "/v1/chat/completions";
inline constexpr std::string_view kCompletionsUrl = "/v1/completions";
inline constexpr std::string_view kEmbeddingsUrl = "/v1/embeddings";

struct InputRecord {
  std::size_t index = 0;  ///< 0-based among records (blank lines do not count).
  std::size_t line = 0;   ///< 1-based line in the input file (blank lines count).
  nlohmann::json id;      ///< The "id" of a {"id", "prompt"} line; null if none.
  bool batch = false;     ///< An OpenAI batch request line.
  std::string custom_id;  ///< Batch only.
  std::string url;        ///< Batch only: kChatCompletionsUrl, kCompletionsUrl or kEmbeddingsUrl.
  nlohmann::json body;    ///< Batch only: the body as written (an object).
  /// The prompt text: a prompt line's "prompt", else the text of the last "user" message
  /// (text parts joined by newlines), else a batch completion's string prompt. Never empty for
  /// a "prompt" line; may be empty for messages and batch lines (images, list prompts,
  /// embeddings), which only scatter-gather sends as written.
  std::string prompt;
  nlohmann::json messages;  ///< Prompt lines: "messages" (null if none).
  nlohmann::json params;    ///< Prompt lines: "params", an object of request fields (null if none).
  /// From the batch body, when present (checked for type; the body is still sent as written).
  /// `max_tokens` falls back to `max_completion_tokens` (the newer OpenAI chat name).
  std::optional<std::int64_t> max_tokens;
  std::optional<std::string> model;
  std::optional<double> temperature;

  /// Everything but `index` and `line` back to a new record's values (a reused record is
  /// refilled line by line; clearing keeps the strings' buffers).
  void clear_content() {
    id = nullptr;
    batch = false;
    custom_id.clear();
    url.clear();
    body = nullptr;
    prompt.clear();
    messages = nullptr;
    params = nullptr;
    max_tokens.reset();
    model.reset();
    temperature.reset();
  }

  /// Whether the line needs more than its prompt text to be sent faithfully (a batch body,
  /// messages or params).
  [[nodiscard]] bool is_request() const noexcept {
    return batch || !messages.is_null() || !params.is_null();
  }
};

enum class LineKind : std::uint8_t {
  blank,   ///< Only whitespace: skipped (but counted for line numbers).
  prompt,  ///< A JSON string or an {"id", "prompt"} object.
  batch,   ///< An OpenAI batch request.
  invalid  ///< See the reason.
};

/// Parses one line (without its '\n'; a trailing '\r' is fine) into `out`, leaving `out.index`
/// and `out.line` alone. On LineKind::invalid, `reason` says why (without file and line).
/// Never throws on bad content, so the hot path pays no exception cost.
LineKind parse_input_line(std::string_view text, InputRecord& out, std::string& reason);

/// A 64-bit fingerprint of what identifies a request: `custom_id` for batch requests, the id
/// otherwise; 0 when there is none. Resume compares fingerprints to detect an output file that
/// belongs to another input without keeping every id in memory.
std::uint64_t key_fingerprint(bool batch, const nlohmann::json& id, std::string_view custom_id);

namespace detail {
/// The key behind key_fingerprint(): "c:<custom_id>", "i:<id as JSON>" (so 7 and "7" differ),
/// or "" when there is none.
std::string record_key(bool batch, const nlohmann::json& id, std::string_view custom_id);
/// key_fingerprint() of a record_key().
std::uint64_t fingerprint_of_key(std::string_view key) noexcept;
/// parse_input_line() through the DOM alone, without the fast path for plain lines
/// (input_sax.hpp): the tests and the fuzzer hold the two to the same records.
LineKind parse_input_line_dom(std::string_view text, InputRecord& out, std::string& reason);
}  // namespace detail

}  // namespace swarm::cli
