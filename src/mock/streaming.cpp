#include "streaming.hpp"

#include <algorithm>
#include <string_view>

namespace swarm::mock {
namespace {

using nlohmann::json;

bool is_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// The text cut into tokens as count_tokens() counts them: each word with the whitespace before
// it, so the pieces join back to the text.
std::vector<std::string> pieces_of(const std::string& text) {
  std::vector<std::string> pieces;
  std::size_t start = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && is_space(text[i])) ++i;
    while (i < text.size() && !is_space(text[i])) ++i;
    if (i > start) pieces.push_back(text.substr(start, i - start));
    start = i;
  }
  if (!pieces.empty() && start < text.size()) pieces.back() += text.substr(start);
  return pieces;
}

std::string event(const json& chunk) {
  return "data: " + chunk.dump() + "\n\n";
}

}  // namespace

std::vector<std::string> stream_sends(const json& reply, bool chat, bool include_usage) {
  const json& choice = reply["choices"][0];
  json head = {{"id", reply["id"]}, {"created", reply["created"]}, {"model", reply["model"]}};
  head["object"] = chat ? "chat.completion.chunk" : "text_completion";
  bool reasoning = false;
  std::string text;
  if (chat) {
    const json& message = choice["message"];
    reasoning = message.contains("reasoning");
    text = (reasoning ? message["reasoning"] : message["content"]).get<std::string>();
  } else {
    text = choice["text"].get<std::string>();
  }
  const auto chunk = [&](json delta_or_text, json finish) {
    json c = head;
    json ch = {{"index", 0}, {"logprobs", nullptr}, {"finish_reason", std::move(finish)}};
    if (chat) {
      ch["delta"] = std::move(delta_or_text);
    } else {
      ch["text"] = std::move(delta_or_text);
      ch["stop_reason"] = nullptr;
    }
    c["choices"] = json::array({std::move(ch)});
    return event(c);
  };
  const auto token = [&](const std::string& piece) {
    if (!chat) return chunk(piece, nullptr);
    if (reasoning) return chunk({{"reasoning", piece}, {"reasoning_content", piece}}, nullptr);
    return chunk({{"content", piece}}, nullptr);
  };

  std::vector<std::string> sends;
  const auto pieces = pieces_of(text);
  sends.emplace_back(chat ? chunk({{"role", "assistant"}, {"content", ""}}, nullptr) : "");
  for (std::size_t k = 0; k < pieces.size(); ++k) {
    if (k > 0) sends.emplace_back();
    sends.back() += token(pieces[k]);
  }
  sends.back() += chunk(chat ? json::object() : json(""), choice["finish_reason"]);
  if (include_usage) {
    json last = head;
    last["choices"] = json::array();
    last["usage"] = reply["usage"];
    sends.back() += event(last);
  }
  sends.back() += "data: [DONE]\n\n";
  return sends;
}

void cut_stream(std::vector<std::string>& sends) {
  sends.resize(std::max<std::size_t>(1, sends.size() / 2));
  if (const auto done = sends.back().find("data: [DONE]"); done != std::string::npos) {
    sends.back().resize(done);  // a one-token answer: its only send ends the stream
  }
  const json error = {{"error",
                       {{"message", "injected failure (--fail-stream-error)"},
                        {"type", "InternalServerError"},
                        {"param", nullptr},
                        {"code", 500}}}};
  sends.back() += event(error) + "data: [DONE]\n\n";
}

}  // namespace swarm::mock
