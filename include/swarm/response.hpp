#pragma once
/// @file response.hpp
/// The result of one agent call. Transport and server failures are values
/// (`success == false`, `error` says why), never exceptions.

#include <chrono>
#include <cstdint>
#include <string>

namespace swarm {

/// Token accounting as reported by the server's `usage` object (zeros when absent).
struct Usage {
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;
  std::int64_t total_tokens = 0;

  Usage& operator+=(const Usage& other) noexcept {
    prompt_tokens += other.prompt_tokens;
    completion_tokens += other.completion_tokens;
    total_tokens += other.total_tokens;
    return *this;
  }
  friend bool operator==(const Usage&, const Usage&) = default;
};

/// One agent call's outcome.
struct Response {
  bool success = false;
  std::string text;   ///< The answer (empty on failure).
  std::string error;  ///< Why it failed (empty on success).
  std::int64_t agent_index =
      -1;               ///< Index of the agent in the pool/swarm that answered, -1 if none.
  int http_status = 0;  ///< Last HTTP status seen, 0 if no HTTP exchange completed.
  std::chrono::duration<double> latency{0.0};  ///< Wall time of the call, retries included.
  int attempts = 0;  ///< HTTP attempts made (1 + retries); 0 if never sent.
  Usage usage;
  std::string finish_reason;  ///< e.g. "stop" or "length"; empty when not reported.

  /// A successful response carrying `text` from `agent_index`.
  static Response ok(std::string text, std::int64_t agent_index = -1) {
    Response r;
    r.success = true;
    r.text = std::move(text);
    r.agent_index = agent_index;
    return r;
  }
  /// A failed response with a reason.
  static Response failure(std::string error, std::int64_t agent_index = -1) {
    Response r;
    r.success = false;
    r.error = std::move(error);
    r.agent_index = agent_index;
    return r;
  }
};

}  // namespace swarm
