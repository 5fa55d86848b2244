#pragma once
// Internal: an incremental decoder of OpenAI-style server-sent events (`"stream": true` replies
// of /v1/chat/completions and /v1/completions). Pure: bytes in, state out; no curl, no clock, no
// allocation beyond the text it accumulates, so it is unit-tested over arbitrary chunk splits and
// can be fuzzed through feed().
//
// Framing (the WHATWG event-stream rules that servers use): lines end in LF, CRLF or CR; a blank
// line dispatches the event; `data:` lines of one event are joined with '\n'; `event:` names it;
// lines starting with ':' are comments (keep-alives); other fields (id, retry) are ignored.
// Payloads: `[DONE]` ends the stream; a JSON chunk adds choice 0's delta (`delta.content`,
// `delta.reasoning` / `delta.reasoning_content`, or completions' `text`), its finish_reason,
// the chunk's id/model and, in the final chunk of `stream_options.include_usage`, `usage`.
// An error event (`event: error`, or a payload with an "error" member or "object": "error", as
// vLLM sends when generation fails after the 200) makes the stream failed with its message.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "swarm/response.hpp"

namespace swarm::detail {

class SseDecoder {
 public:
  /// Most bytes one event may hold (its data lines together); a longer event fails the stream,
  /// so a server that never sends a blank line cannot make the decoder grow without bound.
  static constexpr std::size_t kMaxEventBytes = std::size_t{16} << 20;

  /// Feeds the next bytes of the stream (any split). Returns how many events of this chunk
  /// carried generated text (a non-empty content, reasoning or text delta): the "tokens" of
  /// TTFT and inter-token latency. Bytes after [DONE] or an error are ignored.
  std::size_t feed(std::string_view bytes);

  /// The stream said [DONE].
  [[nodiscard]] bool done() const noexcept { return done_; }
  /// Any event was dispatched (false: the body was not an event stream at all).
  [[nodiscard]] bool saw_events() const noexcept { return events_ > 0; }
  /// The error of an error event (or of a malformed/oversized event), if one came.
  [[nodiscard]] const std::optional<std::string>& error() const noexcept { return error_; }

  [[nodiscard]] const std::string& text() const noexcept { return text_; }
  [[nodiscard]] const std::string& reasoning() const noexcept { return reasoning_; }
  [[nodiscard]] const std::string& finish_reason() const noexcept { return finish_reason_; }
  [[nodiscard]] const std::string& id() const noexcept { return id_; }
  [[nodiscard]] const std::string& model() const noexcept { return model_; }
  [[nodiscard]] const Usage& usage() const noexcept { return usage_; }
  /// Events that carried generated text (the sum of feed()'s results).
  [[nodiscard]] std::uint64_t content_events() const noexcept { return content_events_; }

  /// Writes the decoded reply into `r` (text, reasoning, finish_reason, usage, id, model) and
  /// decides it: success when the stream ended with [DONE] or a finish_reason and no error;
  /// otherwise a failed `r` (kind decode, or stream for an error event: the server's
  /// failure after its 200) with the reason.
  void apply(Response& r) const;

 private:
  void line(std::string_view text);
  bool dispatch();  // true if the event carried generated text
  bool payload(std::string_view data);
  void fail(std::string why);

  std::string partial_;    // an incomplete line
  bool after_cr_ = false;  // the last byte was CR: a following LF belongs to it
  std::string event_;      // `event:` of the event being read
  std::string data_;       // its data lines, joined
  bool has_data_ = false;
  bool pending_content_ = false;  // the line just read dispatched an event with text
  std::uint64_t events_ = 0;
  std::uint64_t content_events_ = 0;
  bool done_ = false;
  std::optional<std::string> error_;
  bool server_error_ = false;  // error_ came from an error event, not from our decoding
  std::string text_;
  std::string reasoning_;
  std::string finish_reason_;
  std::string id_;
  std::string model_;
  Usage usage_;
};

}  // namespace swarm::detail
