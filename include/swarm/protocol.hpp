#pragma once
/// @file protocol.hpp
/// Request bodies and reply decoding for vLLM's OpenAI-compatible server and the seed's
/// `/generate`. Pure functions (no I/O), so every reply shape is unit-tested without a server.
/// Decoders never throw on server input: problems become failed Responses / error strings.
/// Chat replies: `text` is `message.content`, or the reasoning when the content is empty;
/// `reasoning` always holds `message.reasoning` / `reasoning_content` apart.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "swarm/pool_options.hpp"
#include "swarm/request.hpp"
#include "swarm/response.hpp"

namespace swarm::protocol {

/// vLLM rejects a completions prompt list longer than this.
inline constexpr std::size_t kMaxBatch = 1024;

// ---- request bodies -------------------------------------------------------------------------

/// Route of a prompt for `protocol`, e.g. "/v1/chat/completions".
std::string_view route(Protocol protocol) noexcept;

/// Body of a single-prompt request (chat: optional system message then one user message).
std::string prompt_body(const PoolOptions& options, std::string_view model, std::string_view prompt,
                        std::int64_t max_tokens);

/// Body of a /v1/completions request with a list of prompts (one choice per prompt); the keys
/// of `extra` (an object, or null) are merged over it.
std::string batch_body(const PoolOptions& options, std::string_view model,
                       std::span<const std::string> prompts, std::int64_t max_tokens,
                       const nlohmann::json& extra = nullptr);

/// Body of a PromptRequest (see request.hpp for the rules): the prompt body, `messages` in
/// place of the user message, then `extra` (CallOptions::extra_body) and `params` merged over.
/// Throws std::invalid_argument when `messages` is given for a protocol other than chat, or
/// `extra`/`params` is neither null nor an object.
std::string prompt_request_body(const PoolOptions& options, std::string_view model,
                                const PromptRequest& request, std::int64_t max_tokens,
                                const nlohmann::json& extra = nullptr);

/// Body of a caller-written Request: its body as written, plus `model` when it has none (absent
/// or null) and `model` is not empty, plus each key of `extra` (CallOptions::extra_body), then
/// of `options.extra_body`, that it does not have.
std::string request_body(const PoolOptions& options, const Request& request, std::string_view model,
                         const nlohmann::json& extra = nullptr);

/// Characters (code points, as Python's len() counts them) of prompt text in a PromptRequest
/// (its messages' string contents, or the prompt), for the max_tokens rule.
std::size_t prompt_chars(const PromptRequest& request);

/// Body of a /v1/embeddings request.
std::string embeddings_body(std::string_view model, std::span<const std::string> inputs);

// ---- replies --------------------------------------------------------------------------------

/// Decodes a 2xx prompt reply into `r` (text, reasoning, usage, finish_reason, id, model); on a
/// bad body sets `r.success = false`, `r.error` and `r.kind = FailureKind::decode`. Chat text
/// is `message.content`, falling back to `message.reasoning`, then `message.reasoning_content`
/// (reasoning models); `reasoning` holds the reasoning either way.
void decode_prompt_reply(Protocol protocol, std::string_view body, Response& r);

/// Decodes a 2xx reply of a caller-written Request to `path`: it succeeds when the body is
/// JSON (the body itself is the answer, kept by the caller); text, reasoning, finish_reason,
/// usage, id and model are read where the shape allows (chat, completions, embeddings usage).
void decode_request_reply(std::string_view path, std::string_view body, Response& r);

/// Decodes a 2xx batched completions reply into `out` (one Response per prompt, matched by each
/// choice's `index`). The reply is vLLM's one object with a choice per prompt, or llama.cpp's
/// llama-server's JSON array of one completion object per prompt, in any order. The request's
/// `usage` (an array's summed) goes to out[0] so that sums stay right.
/// A bad body, or a missing choice, fails the affected Responses (kind decode).
void decode_batch_reply(std::string_view body, std::span<Response> out);

/// The error text of a non-2xx reply: vLLM's `{"error":{"message"}}` or older
/// `{"object":"error","message"}`, FastAPI's `{"detail"}`, an HTML page's title ("non-JSON
/// error page: 502 Bad Gateway", what proxies send), else the start of the body. At most
/// kMaxErrorMessage bytes of the message are kept (cut at a UTF-8 boundary, with the length
/// of the whole appended).
std::string error_message(std::string_view body);
/// Bytes of a server's error message kept in a Response.
inline constexpr std::size_t kMaxErrorMessage = 1024;

/// One model listed by GET /v1/models.
struct ModelInfo {
  /// The model name to send as "model".
  std::string id;
  std::int64_t max_model_len = 0;  ///< 0 when the server does not say.
};

/// Decodes GET /v1/models; std::nullopt on a malformed body.
std::optional<std::vector<ModelInfo>> decode_models(std::string_view body);

/// Decodes an embeddings reply into `vectors` (by each item's `index`); returns an error
/// message, empty on success.
std::string decode_embeddings(std::string_view body, std::size_t expected,
                              std::vector<std::vector<double>>& vectors, Usage& usage);

// ---- the seed's sizing rules ----------------------------------------------------------------

/// max_tokens for a prompt of `prompt_chars` characters (code points, Python's len()): min(cap,
/// max(128, context - prompt_chars/4 - buffer)) (1 token ~ 4 characters, as the seed estimates).
std::int64_t dynamic_max_tokens(std::int64_t cap, std::int64_t context, std::size_t prompt_chars,
                                std::int64_t buffer) noexcept;

/// Timeout of a batched request of `n` prompts: max(timeout, ceil(n / batch_concurrency) x
/// timeout_per_sequence), capped by batch_timeout_cap when set.
Seconds batch_timeout(const PoolOptions& options, std::size_t n) noexcept;

}  // namespace swarm::protocol
