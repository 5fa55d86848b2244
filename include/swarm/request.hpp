#pragma once
/// @file request.hpp
/// Requests beyond "one prompt text": a body the caller wrote (an OpenAI batch line), and a
/// prompt with per-request additions (a multi-turn conversation, sampling fields). AgentPool
/// takes both directly (submit_request, or submit with CallOptions::prompts_are_requests and
/// the envelope strings below, for code that moves prompts as strings, such as swarm::mpi).

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace swarm {

/// A request whose body the caller wrote. It is sent to `path` as written, with two documented
/// fills only: `model` when the body has none (absent or null) and the pool knows one, and each
/// key of CallOptions::extra_body that the body does not have.
struct Request {
  std::string path;     ///< e.g. "/v1/chat/completions", "/v1/completions", "/v1/embeddings".
  nlohmann::json body;  ///< A JSON object.
};

/// A prompt with per-request additions. The body is built as for a plain prompt (model,
/// max_tokens by the pool's rule, temperature, system prompt), then:
///  - `messages` (chat only), when not null, replace the one user message; the pool's system
///    prompt is put in front only when they contain no "system" message;
///  - CallOptions::extra_body, then `params`, are merged over it (a key there wins, so
///    per-request values beat per-call values, which beat the pool's).
struct PromptRequest {
  std::string prompt;       ///< The user message (ignored when `messages` is given).
  nlohmann::json messages;  ///< null, or a non-empty array of chat messages.
  nlohmann::json params;    ///< null, or an object of request fields.
};

/// The envelope strings of CallOptions::prompts_are_requests: {"path","body"} for a Request,
/// {"prompt"|"messages","params"} for a PromptRequest.
std::string encode_request(const Request& request);
/// The envelope string of a PromptRequest (see the other overload).
std::string encode_request(const PromptRequest& request);

}  // namespace swarm
