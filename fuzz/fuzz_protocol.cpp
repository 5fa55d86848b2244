// libFuzzer target: the decoders of server replies (src/core/protocol.cpp) — chat, completions,
// /generate, batch lists, embeddings, /v1/models and error bodies. A reply is hostile input: any
// byte string must end as a Response (success or a failure with a reason), never a crash. And
// whatever reply the SAX fast path (reply_sax.hpp) takes, the DOM decoder must read the same.
// The input also serves as a prompt: the cut request frame must give prompt_body()'s bytes.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "protocol_internal.hpp"
#include "reply_sax.hpp"
#include "swarm/json_limits.hpp"
#include "swarm/protocol.hpp"
#include "swarm/response.hpp"

namespace {

void check(const swarm::Response& r) {
  if (!r.success && r.error.empty()) std::abort();  // a failure always says why
}

/// The fast path's Response for `body` equals decode_chat / decode_completion's, when it takes it.
void check_fast_path(swarm::Protocol p, std::string_view body) {
  swarm::Response fast;
  if (!swarm::protocol::decode_reply_fast(p, body, fast)) return;
  swarm::JsonFault fault = swarm::JsonFault::none;
  const auto doc = swarm::parse_json_limited(body, fault);
  if (fault != swarm::JsonFault::none) std::abort();  // taken, but not JSON
  swarm::Response dom;
  switch (p) {
    case swarm::Protocol::chat: swarm::protocol::decode_chat(doc, dom); break;
    case swarm::Protocol::completions: swarm::protocol::decode_completion(doc, dom); break;
    case swarm::Protocol::generate: swarm::protocol::decode_generate(doc, dom); break;
  }
  const auto& a = fast.usage;
  const auto& b = dom.usage;
  if (fast.success != dom.success || fast.text != dom.text || fast.reasoning != dom.reasoning ||
      fast.finish_reason != dom.finish_reason || fast.response_id != dom.response_id ||
      fast.model != dom.model || a.prompt_tokens != b.prompt_tokens ||
      a.completion_tokens != b.completion_tokens || a.total_tokens != b.total_tokens ||
      a.reasoning_tokens != b.reasoning_tokens) {
    std::abort();
  }
}

/// PromptFrame's body equals prompt_body()'s for `prompt` as the prompt and the system prompt.
void check_frame(std::string_view prompt) {
  static const std::array<swarm::PoolOptions, 2> options = [] {
    std::array<swarm::PoolOptions, 2> o{};
    o[0].system_prompt = "sys";
    o[0].temperature = 0.5;
    o[1].protocol = swarm::Protocol::completions;
    return o;
  }();
  static const std::array<swarm::protocol::PromptFrame, 2> frames = {
      swarm::protocol::PromptFrame(options[0], "m"), swarm::protocol::PromptFrame(options[1], "m")};
  for (std::size_t k = 0; k < options.size(); ++k) {
    if (!frames[k].usable() ||
        frames[k].body(prompt, 16) != swarm::protocol::prompt_body(options[k], "m", prompt, 16)) {
      std::abort();
    }
  }
  swarm::PoolOptions with_system;
  with_system.system_prompt = std::string(prompt);
  const swarm::protocol::PromptFrame frame(with_system, "m");
  if (frame.usable() && frame.body("p", 1) != swarm::protocol::prompt_body(with_system, "m", "p", 1)) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  for (const auto p :
       {swarm::Protocol::chat, swarm::Protocol::completions, swarm::Protocol::generate}) {
    swarm::Response r;
    swarm::protocol::decode_prompt_reply(p, body, r);
    check(r);
  }
  check_fast_path(swarm::Protocol::chat, body);
  check_fast_path(swarm::Protocol::completions, body);
  check_fast_path(swarm::Protocol::generate, body);
  check_frame(body);
  std::array<swarm::Response, 3> batch{};
  swarm::protocol::decode_batch_reply(body, batch);
  for (const auto& r : batch) check(r);
  (void)swarm::protocol::error_message(body);
  (void)swarm::protocol::decode_models(body);
  std::vector<std::vector<double>> vectors;
  swarm::Usage usage;
  (void)swarm::protocol::decode_embeddings(body, 2, vectors, usage);
  swarm::Response reply;
  swarm::protocol::decode_request_reply("/v1/chat/completions", body, reply);
  check(reply);
  return 0;
}
