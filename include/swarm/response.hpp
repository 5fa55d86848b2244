#pragma once
/// @file response.hpp
/// The result of one agent call. Transport and server failures are values
/// (`success == false`, `error` says why for people, `kind` for programs), never exceptions.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace swarm {

/// Why a call failed, for grouping and policy without matching `error` strings. `none` exactly
/// when the call succeeded; `connect` to `transport` mean no complete HTTP reply was read.
enum class FailureKind : std::uint8_t {
  none,         ///< Not a failure.
  connect,      ///< No connection: refused, unreachable, or the host name did not resolve.
  timeout,      ///< The request's timeout (connect or total) expired.
  reset,        ///< The connection broke mid-exchange: send/receive error, nothing or part sent.
  tls,          ///< The TLS handshake or the certificate check failed.
  transport,    ///< Any other failure below HTTP (libcurl's error text is in `error`).
  http_status,  ///< A complete HTTP reply whose status is not 2xx (`http_status` holds it).
  oversize,     ///< The reply body exceeded PoolOptions::max_response_bytes.
  decode,       ///< A 2xx reply whose body is not the expected JSON shape.
  other,        ///< Failed above the transport, e.g. an aggregator had no answer to work on.
  stream,       ///< A streamed 2xx reply carried an error event (the server failed after its 200).
};

/// Stable snake_case name of `kind` ("none", "connect", "http_status", ...), for logs and
/// summaries.
std::string_view to_string(FailureKind kind) noexcept;

struct Response;
/// Whether `r` failed because of its agent rather than its request: below HTTP (connect,
/// timeout, reset, tls, transport) or an HTTP 5xx. These are the failures that cool an endpoint
/// (AgentHealth) and that another agent may well answer.
bool agent_fault(const Response& r) noexcept;

/// Token accounting as reported by the server's `usage` object (zeros when absent).
struct Usage {
  /// Tokens of the prompt.
  std::int64_t prompt_tokens = 0;
  /// Tokens generated.
  std::int64_t completion_tokens = 0;
  /// prompt_tokens + completion_tokens, as the server reports it.
  std::int64_t total_tokens = 0;
  /// `completion_tokens_details.reasoning_tokens` (part of completion_tokens), when reported.
  std::int64_t reasoning_tokens = 0;

  /// Adds every count of `other`.
  Usage& operator+=(const Usage& other) noexcept {
    prompt_tokens += other.prompt_tokens;
    completion_tokens += other.completion_tokens;
    total_tokens += other.total_tokens;
    reasoning_tokens += other.reasoning_tokens;
    return *this;
  }
  /// Field-wise equality.
  friend bool operator==(const Usage&, const Usage&) = default;
};

/// One agent call's outcome.
struct Response {
  /// True when the call produced an answer (`text`); false: see `error` and `kind`.
  bool success = false;
  std::string text;   ///< The answer (empty on failure; AgentPool::get: the body, any status).
  std::string error;  ///< Why it failed (empty on success).
  FailureKind kind = FailureKind::none;  ///< Why it failed, as a value (none on success).
  std::int64_t agent_index =
      -1;               ///< Index of the agent in the pool/swarm that answered, -1 if none.
  int http_status = 0;  ///< Last HTTP status seen, 0 if no HTTP exchange completed.
  std::chrono::duration<double> latency{0.0};  ///< Wall time of the call, retries included.
  int attempts = 0;  ///< HTTP attempts made (1 + retries); 0 if never sent.
  /// Token counts the server reported for this call.
  Usage usage;
  std::string finish_reason;  ///< e.g. "stop" or "length"; empty when not reported.
  /// Chat: `message.reasoning` (or `reasoning_content`) of reasoning models, kept apart from
  /// the content; empty when the server sent none.
  std::string reasoning;
  std::string response_id;  ///< The server's `id` of the reply (e.g. "chatcmpl-..."), if any.
  std::string model;        ///< The server's `model` of the reply, if any.
  /// The reply body exactly as received, for requests sent with AgentPool::submit_request (or
  /// CallOptions::prompts_are_requests), whatever the status; empty otherwise, so prompt calls
  /// do not hold every body twice.
  std::string body;
  /// Streamed requests (CallOptions::stream, or a Request whose body says "stream": true):
  /// time from the first attempt's start to the first event carrying generated text (content
  /// or reasoning); zero when the request was not streamed or no text came.
  std::chrono::duration<double> ttft{0.0};
  /// Streamed requests: seconds between consecutive events carrying generated text (one entry
  /// per event after the first, as vllm bench serve's `itl`; events that arrive in one read
  /// have near-zero gaps). Empty when not streamed.
  std::vector<float> itl;

  /// A successful response carrying `text` from `agent_index`.
  static Response ok(std::string text, std::int64_t agent_index = -1) {
    Response r;
    r.success = true;
    r.text = std::move(text);
    r.agent_index = agent_index;
    return r;
  }
  /// A failed response with a reason.
  static Response failure(std::string error, std::int64_t agent_index = -1,
                          FailureKind kind = FailureKind::other) {
    Response r;
    r.success = false;
    r.error = std::move(error);
    r.kind = kind;
    r.agent_index = agent_index;
    return r;
  }
};

}  // namespace swarm
