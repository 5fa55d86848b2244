// Requests beyond one prompt text: caller-written bodies (OpenAI batch lines) and prompts with
// per-request additions, their envelopes (CallOptions::prompts_are_requests), and the decoding
// of their replies. The rules are in include/swarm/request.hpp.

#include "swarm/request.hpp"

#include <stdexcept>

#include <fmt/format.h>

#include "protocol_internal.hpp"
#include "unicode.hpp"
#include "swarm/json_limits.hpp"
#include "swarm/protocol.hpp"

namespace swarm {

using nlohmann::json;

namespace {

// Bodies are the caller's; bad UTF-8 in them is replaced rather than thrown on when sent.
constexpr auto kReplace = json::error_handler_t::replace;

bool has_system_message(const json& messages) {
  for (const json& m : messages) {
    if (m.is_object() && m.contains("role") && m["role"] == "system") return true;
  }
  return false;
}

}  // namespace

std::string encode_request(const Request& request) {
  return json{{"path", request.path}, {"body", request.body}}.dump(-1, ' ', false, kReplace);
}

std::string encode_request(const PromptRequest& request) {
  json envelope = json::object();
  if (request.messages.is_null()) {
    envelope["prompt"] = request.prompt;
  } else {
    envelope["messages"] = request.messages;
  }
  if (!request.params.is_null()) envelope["params"] = request.params;
  return envelope.dump(-1, ' ', false, kReplace);
}

namespace protocol {

std::variant<Request, PromptRequest> decode_envelope(std::string_view text) {
  JsonFault fault = JsonFault::none;
  json doc = parse_json_limited(text, fault);
  const auto misuse = [](std::string_view why) {
    return std::invalid_argument(fmt::format(
        "CallOptions::prompts_are_requests: the prompt is not an encode_request() string ({})",
        why));
  };
  if (doc.is_discarded() || !doc.is_object()) throw misuse("not a JSON object");
  if (doc.contains("path")) {
    if (!doc["path"].is_string() || !doc.contains("body") || !doc["body"].is_object()) {
      throw misuse("\"path\" needs a string and \"body\" an object");
    }
    return Request{doc["path"].get<std::string>(), std::move(doc["body"])};
  }
  PromptRequest out;
  if (auto m = doc.find("messages"); m != doc.end()) {
    out.messages = std::move(*m);
  } else if (auto p = doc.find("prompt"); p != doc.end() && p->is_string()) {
    out.prompt = p->get<std::string>();
  } else {
    throw misuse("no \"path\", \"messages\" or \"prompt\"");
  }
  if (auto p = doc.find("params"); p != doc.end()) out.params = std::move(*p);
  return out;
}

std::string prompt_request_body(const PoolOptions& options, std::string_view model,
                                const PromptRequest& request, std::int64_t max_tokens,
                                const nlohmann::json& extra) {
  json body = prompt_json(options, model, request.prompt, max_tokens);
  if (!request.messages.is_null()) {
    if (options.protocol != Protocol::chat) {
      throw std::invalid_argument("PromptRequest::messages needs the chat protocol");
    }
    if (!request.messages.is_array() || request.messages.empty()) {
      throw std::invalid_argument("PromptRequest::messages must be a non-empty array");
    }
    json messages = json::array();
    // --system keeps working for conversations that bring no system prompt of their own.
    if (!options.system_prompt.empty() && !has_system_message(request.messages)) {
      messages.push_back({{"role", "system"}, {"content", options.system_prompt}});
    }
    for (const json& m : request.messages) messages.push_back(m);
    body["messages"] = std::move(messages);
  }
  merge_over(body, extra, "CallOptions::extra_body");
  merge_over(body, request.params, "PromptRequest::params");
  return body.dump(-1, ' ', false, kReplace);
}

std::string request_body(const PoolOptions& options, const Request& request, std::string_view model,
                         const nlohmann::json& extra) {
  if (!request.body.is_object()) {
    throw std::invalid_argument(
        fmt::format("Request::body must be a JSON object, not {}", request.body.type_name()));
  }
  // Only keys the body lacks are added, so nothing the caller wrote is ever changed; the copy
  // is made only when a fill applies.
  const auto model_it = request.body.find("model");
  const bool fill_model = !model.empty() && (model_it == request.body.end() || model_it->is_null());
  const auto lacks_some = [&](const json& fills, std::string_view what) {
    if (fills.is_null()) return false;
    if (!fills.is_object()) {
      throw std::invalid_argument(fmt::format("{} must be a JSON object", what));
    }
    for (const auto& item : fills.items()) {
      if (!request.body.contains(item.key())) return true;
    }
    return false;
  };
  const bool fill_call = lacks_some(extra, "CallOptions::extra_body");
  const bool fill_pool = lacks_some(options.extra_body, "PoolOptions::extra_body");
  if (!fill_model && !fill_call && !fill_pool) return request.body.dump(-1, ' ', false, kReplace);
  json body = request.body;
  if (fill_model) body["model"] = model;
  for (const json* fills : {&extra, &options.extra_body}) {
    if (!fills->is_object()) continue;
    for (const auto& item : fills->items()) {
      if (!body.contains(item.key())) body[item.key()] = item.value();
    }
  }
  return body.dump(-1, ' ', false, kReplace);
}

std::size_t prompt_chars(const PromptRequest& request) {
  if (request.messages.is_null()) return detail::code_points(request.prompt);
  std::size_t chars = 0;
  for (const json& m : request.messages) {
    if (!m.is_object()) continue;
    const auto c = m.find("content");
    if (c == m.end()) continue;
    if (c->is_string()) {
      chars += detail::code_points(c->get_ref<const std::string&>());
    } else if (c->is_array()) {
      for (const json& part : *c) {
        if (part.is_object() && part.contains("text") && part["text"].is_string()) {
          chars += detail::code_points(part["text"].get_ref<const std::string&>());
        }
      }
    }
  }
  return chars;
}

void decode_request_reply(std::string_view path, std::string_view body, Response& r) {
  JsonFault fault = JsonFault::none;
  const json doc = parse_json_limited(body, fault);
  if (doc.is_discarded()) {
    r.success = false;
    r.kind = FailureKind::decode;
    r.error = fault == JsonFault::too_deep ? "response refused: " + json_depth_reason()
              : body.empty()               ? "empty response body"
                             : fmt::format("malformed JSON in response: {}", error_message(body));
    return;
  }
  // The body is the answer; the fields below are conveniences, so a shape they do not expect
  // (another server's extension, an embeddings list) is not a failure.
  Response fields;
  if (path.ends_with("/chat/completions")) {
    decode_chat(doc, fields);
  } else if (path.ends_with("/completions")) {
    decode_completion(doc, fields);
  }
  if (fields.success) {
    r.text = std::move(fields.text);
    r.reasoning = std::move(fields.reasoning);
    r.finish_reason = std::move(fields.finish_reason);
  }
  r.usage = decode_usage(doc);
  if (doc.is_object()) {
    if (const auto id = doc.find("id"); id != doc.end() && id->is_string()) r.response_id = *id;
    if (const auto m = doc.find("model"); m != doc.end() && m->is_string()) r.model = *m;
  }
  r.success = true;
  r.kind = FailureKind::none;
  r.error.clear();
}

}  // namespace protocol
}  // namespace swarm
