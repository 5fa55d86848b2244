#pragma once
// Internal: reply decoders shared by protocol.cpp (prompt replies) and request.cpp (replies of
// caller-written requests), and the envelope of CallOptions::prompts_are_requests.

#include <cstdint>
#include <string_view>
#include <variant>

#include <nlohmann/json.hpp>

#include "swarm/pool_options.hpp"
#include "swarm/request.hpp"
#include "swarm/response.hpp"

namespace swarm::protocol {

/// `usage` of a reply object (zeros when absent), reasoning tokens included.
Usage decode_usage(const nlohmann::json& doc);
/// A chat.completion / text_completion object into `r` (fails `r` with kind decode if shapeless).
void decode_chat(const nlohmann::json& doc, Response& r);
void decode_completion(const nlohmann::json& doc, Response& r);
/// A /generate reply object ("response" or "text": a string, or a list starting with one).
void decode_generate(const nlohmann::json& doc, Response& r);

/// The JSON of prompt_body().
nlohmann::json prompt_json(const PoolOptions& options, std::string_view model,
                           std::string_view prompt, std::int64_t max_tokens);

/// Sets every key of `extra` (null, or an object: else std::invalid_argument naming `what`) in
/// `body`, replacing what is there.
void merge_over(nlohmann::json& body, const nlohmann::json& extra, std::string_view what);

/// Reads an encode_request() string; throws std::invalid_argument when it is not one.
std::variant<Request, PromptRequest> decode_envelope(std::string_view text);

}  // namespace swarm::protocol
