#include "sse.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "protocol_internal.hpp"
#include "swarm/protocol.hpp"

namespace swarm::detail {
namespace {

using nlohmann::json;

std::string string_at(const json& obj, const char* key) {
  const auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string{};
}

// The message of an error payload: {"error": {"message"}} / {"error": "..."} (OpenAI, vLLM's
// streaming errors) or {"object": "error", "message"} (older vLLM).
std::optional<std::string> error_of(const json& doc) {
  if (!doc.is_object()) return std::nullopt;
  if (const auto e = doc.find("error"); e != doc.end() && !e->is_null()) {
    if (e->is_string()) return e->get<std::string>();
    if (e->is_object()) {
      auto m = string_at(*e, "message");
      return m.empty() ? e->dump() : m;
    }
    return e->dump();
  }
  if (string_at(doc, "object") == "error") {
    auto m = string_at(doc, "message");
    return m.empty() ? std::string("error event without a message") : m;
  }
  return std::nullopt;
}

}  // namespace

std::size_t SseDecoder::feed(std::string_view bytes) {
  std::size_t content = 0;
  std::size_t i = 0;
  while (i < bytes.size() && !done_ && !error_) {
    const char c = bytes[i];
    if (after_cr_) {
      after_cr_ = false;
      if (c == '\n') {  // the LF of a CRLF: the line ended at the CR already
        ++i;
        continue;
      }
    }
    const auto end = bytes.find_first_of("\r\n", i);
    if (end == std::string_view::npos) {
      if (partial_.size() + (bytes.size() - i) > kMaxEventBytes) {
        fail(fmt::format("stream event longer than {} bytes", kMaxEventBytes));
        break;
      }
      partial_.append(bytes.substr(i));
      break;
    }
    after_cr_ = bytes[end] == '\r';
    if (partial_.empty()) {
      line(bytes.substr(i, end - i));
    } else {
      partial_.append(bytes.substr(i, end - i));
      const std::string whole = std::move(partial_);
      partial_.clear();
      line(whole);
    }
    i = end + 1;
    if (pending_content_) {
      ++content;
      pending_content_ = false;
    }
  }
  content_events_ += content;
  return content;
}

void SseDecoder::line(std::string_view text) {
  if (text.empty()) {
    pending_content_ = dispatch();
    return;
  }
  if (text.front() == ':') return;  // a comment: servers' keep-alives
  const auto colon = text.find(':');
  const std::string_view field = text.substr(0, colon);
  std::string_view value =
      colon == std::string_view::npos ? std::string_view{} : text.substr(colon + 1);
  if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  if (field == "data") {
    if (data_.size() + value.size() + 1 > kMaxEventBytes) {
      fail(fmt::format("stream event longer than {} bytes", kMaxEventBytes));
      return;
    }
    if (has_data_) data_ += '\n';
    data_.append(value);
    has_data_ = true;
  } else if (field == "event") {
    event_.assign(value);
  }
}

bool SseDecoder::dispatch() {
  const bool has_data = has_data_;
  std::string event = std::move(event_);
  std::string data = std::move(data_);
  event_.clear();
  data_.clear();
  has_data_ = false;
  if (!has_data) return false;  // an event without data is not dispatched (event-stream rules)
  ++events_;
  if (event == "error") {
    std::string message = data;
    const json doc = json::parse(data, nullptr, /*allow_exceptions=*/false);
    if (!doc.is_discarded()) {
      if (auto m = error_of(doc)) {
        message = std::move(*m);
      } else if (doc.is_object() && !string_at(doc, "message").empty()) {
        message = string_at(doc, "message");  // the event's name says error already
      }
    }
    server_error_ = true;
    error_ = fmt::format("error event in the stream: {}", message);
    return false;
  }
  return payload(data);
}

bool SseDecoder::payload(std::string_view data) {
  if (data == "[DONE]") {
    done_ = true;
    return false;
  }
  const json doc = json::parse(data, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    fail(fmt::format("malformed stream event: {}", protocol::error_message(data)));
    return false;
  }
  if (auto message = error_of(doc)) {
    server_error_ = true;
    error_ = fmt::format("error event in the stream: {}", *message);
    return false;
  }
  if (id_.empty()) id_ = string_at(doc, "id");
  if (model_.empty()) model_ = string_at(doc, "model");
  if (const auto u = doc.find("usage"); u != doc.end() && u->is_object()) {
    usage_ = protocol::decode_usage(doc);
  }
  const auto choices = doc.find("choices");
  if (choices == doc.end() || !choices->is_array()) return false;
  bool content = false;
  for (const json& choice : *choices) {
    if (!choice.is_object()) continue;
    // n > 1 streams interleave choices; the Response carries choice 0, like non-streamed ones.
    if (const auto idx = choice.find("index");
        idx != choice.end() && idx->is_number_integer() && idx->get<std::int64_t>() != 0) {
      continue;
    }
    std::string piece;
    std::string thought;
    if (const auto delta = choice.find("delta"); delta != choice.end() && delta->is_object()) {
      piece = string_at(*delta, "content");
      thought = string_at(*delta, "reasoning");
      if (thought.empty()) thought = string_at(*delta, "reasoning_content");
    } else {
      piece = string_at(choice, "text");  // /v1/completions chunks
    }
    text_ += piece;
    reasoning_ += thought;
    content = content || !piece.empty() || !thought.empty();
    if (auto reason = string_at(choice, "finish_reason"); !reason.empty()) {
      finish_reason_ = std::move(reason);
    }
  }
  return content;
}

void SseDecoder::fail(std::string why) {
  error_ = std::move(why);
  server_error_ = false;
}

void SseDecoder::apply(Response& r) const {
  r.text = text_.empty() ? reasoning_ : text_;  // as decode_chat: reasoning-only answers
  r.reasoning = reasoning_;
  r.finish_reason = finish_reason_;
  r.usage = usage_;
  r.response_id = id_;
  r.model = model_;
  if (error_) {
    r.success = false;
    r.kind = server_error_ ? FailureKind::stream : FailureKind::decode;
    r.error = *error_;
    r.text.clear();
    return;
  }
  if (!done_ && finish_reason_.empty()) {
    r.success = false;
    r.kind = FailureKind::decode;
    r.error = saw_events() ? "stream ended before [DONE] or a finish_reason" : "empty event stream";
    r.text.clear();
    return;
  }
  r.success = true;
  r.kind = FailureKind::none;
  r.error.clear();
}

}  // namespace swarm::detail
