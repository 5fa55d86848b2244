#pragma once
/// @file streaming.hpp
/// `"stream": true` answers, shaped like vLLM's: the finished reply body of a chat or
/// completions route cut into server-sent events, one per token (word), so the agent can write
/// them on its token latency model's clock. Pure: no networking.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace swarm::mock {

/// The event-stream bytes of `reply` (a chat.completion or single-prompt text_completion
/// body), grouped by when they are due: sends[0] holds the role chunk and the first token,
/// sends[k] token k, and the last send also the finish chunk, the usage chunk (when
/// `include_usage`, as `stream_options.include_usage` asks) and `data: [DONE]`. Always at
/// least one send (an empty answer has no token to wait for).
std::vector<std::string> stream_sends(const nlohmann::json& reply, bool chat, bool include_usage);

/// --fail-stream-error: keeps the first half of `sends` (at least one) and ends the last kept
/// one with vLLM's mid-stream error event, `data: {"error": {...}}`, then `data: [DONE]`.
void cut_stream(std::vector<std::string>& sends);

}  // namespace swarm::mock
