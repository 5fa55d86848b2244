#pragma once
/// @file openai_api.hpp
/// The request/response bodies of the mock's routes, shaped like vLLM's OpenAI server. No
/// networking here: the agent hands in the request body and sends back what comes out.
///
/// Tokens are approximated deterministically as whitespace-separated words: "a b  c" is 3
/// tokens. Truncation to max_tokens keeps the first max_tokens words.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "options.hpp"

namespace swarm::mock {

struct HttpReply {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;  ///< besides Content-Type
};

/// vLLM's error body: {"error": {"message", "type", "param", "code"}}.
HttpReply error_reply(int status, std::string_view message);

/// An error reply in the shape the options ask for: a 4xx of a request error becomes
/// --client-error-status (some servers answer 500 where vLLM says 400); with --error-body html
/// the JSON body is replaced by an HTML page (what a reverse proxy sends). Other replies pass.
HttpReply shape_error(HttpReply reply, const Options& options);

/// Whitespace-separated words.
std::size_t count_tokens(std::string_view text) noexcept;
/// Cuts `text` after its first `max_tokens` words; returns whether anything was cut.
bool truncate_tokens(std::string& text, std::size_t max_tokens);
/// Makes `text` exactly `tokens` words long (--output-tokens): cuts it, or pads it by repeating
/// its own words in order ("token" when it has none).
void fit_tokens(std::string& text, std::size_t tokens);

/// Produces the (untruncated) answer text for a prompt; supplied by the agent's mode.
/// The answer to `prompt`; `seed` is the request's integer "seed" when it has one (script mode
/// then picks among weighted answers by it, so a sampled answer depends on the request only).
using AnswerFn =
    std::function<std::string(std::string_view prompt, std::optional<std::uint64_t> seed)>;

/// Per-request facts that end up in response bodies.
struct ApiContext {
  const Options& options;
  std::size_t agent = 0;
  std::uint64_t sequence = 0;  ///< per-agent request number, makes ids unique
  std::int64_t created = 0;    ///< Unix seconds
};

/// Outcome of a generation route. `ok` is false for client errors (4xx), which are answered at
/// once and never delayed or replaced by injected failures.
struct ApiResult {
  HttpReply reply;
  std::size_t completion_tokens = 0;  ///< what --latency tokens:... charges for
  bool ok = false;
  /// `"stream": true`: the reply as event-stream sends, one per token (streaming.hpp); the
  /// agent writes them on its latency model's clock. Empty for unstreamed replies.
  std::vector<std::string> stream;
};

/// POST /v1/chat/completions, /v1/completions, /generate or /v1/embeddings, by path.
ApiResult handle_generation(std::string_view path, std::string_view body, const ApiContext& ctx,
                            const AnswerFn& answer);

/// GET /v1/models.
HttpReply models_reply(const Options& options, std::int64_t created);

/// The deterministic embedding of `text`: unit length, depends only on the text, the seed and
/// the dimension (the same on every agent, like one model served many times).
std::vector<float> embed(std::string_view text, std::uint64_t seed, std::size_t dim);

/// Largest prompt list /v1/completions accepts.
inline constexpr std::size_t kMaxPromptBatch = 1024;

}  // namespace swarm::mock
