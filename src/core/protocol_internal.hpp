#pragma once
// Internal: reply decoders shared by protocol.cpp (prompt replies) and request.cpp (replies of
// caller-written requests), and the envelope of CallOptions::prompts_are_requests.

#include <cstdint>
#include <string>
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

/// prompt_body() cut around its two per-request values, built once per (options, model): a body
/// is then the frame's three pieces with max_tokens and the escaped prompt between them (no
/// DOM), the same bytes prompt_body() gives. Not usable when extra_body replaces max_tokens or
/// the prompt's place, or when a cut would be ambiguous (the marker text appears elsewhere, say
/// in the system prompt); the caller then uses prompt_body().
/// Marker values of the cut: prompt_body() cannot produce them by itself, and each must appear
/// exactly once in the marked body (a system prompt or extra_body holding the same text makes
/// the frame unusable, never wrong).
inline constexpr std::int64_t kMaxTokensMark = 7'239'871'239'871'239'871;
inline constexpr std::string_view kPromptMark = "\x01" "aswarm prompt mark" "\x01";

class PromptFrame {
 public:
  /// An unusable frame.
  PromptFrame() = default;
  /// Cuts prompt_body(options, model, ...) once, with marker values in the holes.
  PromptFrame(const PoolOptions& options, std::string_view model);
  /// Whether body() may be used (else prompt_body() must be).
  [[nodiscard]] bool usable() const noexcept { return usable_; }
  /// The model the frame was cut for.
  [[nodiscard]] const std::string& model() const noexcept { return model_; }
  /// prompt_body(options, model, prompt, max_tokens); requires usable().
  [[nodiscard]] std::string body(std::string_view prompt, std::int64_t max_tokens) const;

 private:
  bool usable_ = false;
  std::string model_;
  std::string head_;    ///< up to max_tokens' value
  std::string middle_;  ///< from after max_tokens' value up to the prompt's opening quote
  std::string tail_;    ///< after the prompt's closing quote
};

/// Sets every key of `extra` (null, or an object: else std::invalid_argument naming `what`) in
/// `body`, replacing what is there.
void merge_over(nlohmann::json& body, const nlohmann::json& extra, std::string_view what);

/// Reads an encode_request() string; throws std::invalid_argument when it is not one.
std::variant<Request, PromptRequest> decode_envelope(std::string_view text);

}  // namespace swarm::protocol
