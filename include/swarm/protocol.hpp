#pragma once
/// @file protocol.hpp
/// Request bodies and reply decoding for vLLM's OpenAI-compatible server and the seed's
/// `/generate`. Pure functions (no I/O), so every reply shape is unit-tested without a server.
/// Decoders never throw on server input: problems become failed Responses / error strings.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "swarm/pool_options.hpp"
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

/// Body of a /v1/completions request with a list of prompts (one choice per prompt).
std::string batch_body(const PoolOptions& options, std::string_view model,
                       std::span<const std::string> prompts, std::int64_t max_tokens);

/// Body of a /v1/embeddings request.
std::string embeddings_body(std::string_view model, std::span<const std::string> inputs);

// ---- replies --------------------------------------------------------------------------------

/// Decodes a 2xx prompt reply into `r` (text, usage, finish_reason); on a bad body sets
/// `r.success = false`, `r.error` and `r.kind = FailureKind::decode`. Chat text is
/// `message.content`, falling back to `message.reasoning`, then `message.reasoning_content`
/// (reasoning models).
void decode_prompt_reply(Protocol protocol, std::string_view body, Response& r);

/// Decodes a 2xx batched completions reply into `out` (one Response per prompt, matched by each
/// choice's `index`). The batch's single `usage` goes to out[0] so that sums stay right.
/// A bad body, or a missing choice, fails the affected Responses (kind decode).
void decode_batch_reply(std::string_view body, std::span<Response> out);

/// The error text of a non-2xx reply: vLLM's `{"error":{"message"}}` or older
/// `{"object":"error","message"}`, FastAPI's `{"detail"}`, else the start of the body.
std::string error_message(std::string_view body);

/// One model listed by GET /v1/models.
struct ModelInfo {
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

/// max_tokens for a prompt of `prompt_chars` characters: min(cap, max(128, context -
/// prompt_chars/4 - buffer)) (1 token ~ 4 characters, as the seed estimates).
std::int64_t dynamic_max_tokens(std::int64_t cap, std::int64_t context, std::size_t prompt_chars,
                                std::int64_t buffer) noexcept;

/// Timeout of a batched request of `n` prompts: max(timeout, ceil(n / batch_concurrency) x
/// timeout_per_sequence), capped by batch_timeout_cap when set.
Seconds batch_timeout(const PoolOptions& options, std::size_t n) noexcept;

}  // namespace swarm::protocol
