#include "swarm/protocol.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace swarm::protocol {
namespace {

using nlohmann::json;

// Replies can carry any bytes; invalid UTF-8 is replaced rather than thrown on.
constexpr auto kReplace = json::error_handler_t::replace;

std::optional<json> parse(std::string_view body, std::string& error) {
  json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    error = body.empty() ? "empty response body"
                         : fmt::format("malformed JSON in response: {}", error_message(body));
    return std::nullopt;
  }
  return doc;
}

std::string keys_of(const json& doc) {
  if (!doc.is_object()) return std::string(doc.type_name());
  std::string keys;
  for (const auto& item : doc.items()) {
    if (!keys.empty()) keys += ", ";
    keys += item.key();
  }
  return keys.empty() ? "none" : keys;
}

std::int64_t int_field(const json& obj, const char* key) {
  const auto it = obj.find(key);
  return it != obj.end() && it->is_number_integer() ? it->get<std::int64_t>() : 0;
}

Usage decode_usage(const json& doc) {
  Usage u;
  const auto it = doc.find("usage");
  if (it == doc.end() || !it->is_object()) return u;
  u.prompt_tokens = int_field(*it, "prompt_tokens");
  u.completion_tokens = int_field(*it, "completion_tokens");
  u.total_tokens = int_field(*it, "total_tokens");
  return u;
}

std::string string_field(const json& obj, const char* key) {
  const auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string{};
}

void fail(Response& r, std::string error) {
  r.success = false;
  r.text.clear();
  r.error = std::move(error);
  r.kind = FailureKind::decode;
}

// The first choice of a chat/completions reply, or nullptr after failing `r`.
const json* first_choice(const json& doc, Response& r) {
  const auto it = doc.is_object() ? doc.find("choices") : doc.end();
  if (!doc.is_object() || it == doc.end() || !it->is_array() || it->empty() ||
      !(*it)[0].is_object()) {
    fail(r, fmt::format("response has no choices (keys: {})", keys_of(doc)));
    return nullptr;
  }
  return &(*it)[0];
}

void decode_chat(const json& doc, Response& r) {
  const json* choice = first_choice(doc, r);
  if (choice == nullptr) return;
  const auto msg = choice->find("message");
  if (msg == choice->end() || !msg->is_object()) {
    return fail(r, "response choice has no message");
  }
  // Reasoning models may put everything in `reasoning` and leave `content` empty or null.
  for (const char* key : {"content", "reasoning", "reasoning_content"}) {
    r.text = string_field(*msg, key);
    if (!r.text.empty()) break;
  }
  r.finish_reason = string_field(*choice, "finish_reason");
  r.usage = decode_usage(doc);
  r.success = true;
}

void decode_completion(const json& doc, Response& r) {
  const json* choice = first_choice(doc, r);
  if (choice == nullptr) return;
  r.text = string_field(*choice, "text");
  r.finish_reason = string_field(*choice, "finish_reason");
  r.usage = decode_usage(doc);
  r.success = true;
}

void decode_generate(const json& doc, Response& r) {
  if (!doc.is_object()) return fail(r, fmt::format("response is a JSON {}", doc.type_name()));
  for (const char* key : {"response", "text"}) {
    const auto it = doc.find(key);
    if (it == doc.end()) continue;
    // vLLM's demo /generate answers {"text": ["..."]}; the seed's servers answer a string.
    if (it->is_array() && !it->empty() && (*it)[0].is_string()) {
      r.text = (*it)[0].get<std::string>();
    } else if (it->is_string()) {
      r.text = it->get<std::string>();
    } else {
      continue;
    }
    r.usage = decode_usage(doc);
    r.success = true;
    return;
  }
  fail(r, fmt::format("response has no 'response' or 'text' (keys: {})", keys_of(doc)));
}

json base_request(const PoolOptions& options, std::string_view model, std::int64_t max_tokens) {
  json body = json::object();
  if (!model.empty()) body["model"] = model;
  body["max_tokens"] = max_tokens;
  if (options.temperature) body["temperature"] = *options.temperature;
  return body;
}

}  // namespace

std::string_view route(Protocol protocol) noexcept {
  switch (protocol) {
    case Protocol::completions:
      return "/v1/completions";
    case Protocol::generate:
      return "/generate";
    case Protocol::chat:
      break;
  }
  return "/v1/chat/completions";
}

std::string prompt_body(const PoolOptions& options, std::string_view model, std::string_view prompt,
                        std::int64_t max_tokens) {
  json body = base_request(options, model, max_tokens);
  switch (options.protocol) {
    case Protocol::chat: {
      json messages = json::array();
      if (!options.system_prompt.empty()) {
        messages.push_back({{"role", "system"}, {"content", options.system_prompt}});
      }
      messages.push_back({{"role", "user"}, {"content", prompt}});
      body["messages"] = std::move(messages);
      break;
    }
    case Protocol::completions:
    case Protocol::generate:
      body["prompt"] = prompt;
      break;
  }
  return body.dump(-1, ' ', false, kReplace);
}

std::string batch_body(const PoolOptions& options, std::string_view model,
                       std::span<const std::string> prompts, std::int64_t max_tokens) {
  json body = base_request(options, model, max_tokens);
  body["prompt"] = prompts;
  return body.dump(-1, ' ', false, kReplace);
}

std::string embeddings_body(std::string_view model, std::span<const std::string> inputs) {
  json body = json::object();
  if (!model.empty()) body["model"] = model;
  body["input"] = inputs;
  return body.dump(-1, ' ', false, kReplace);
}

void decode_prompt_reply(Protocol protocol, std::string_view body, Response& r) {
  std::string error;
  const auto doc = parse(body, error);
  if (!doc) return fail(r, std::move(error));
  switch (protocol) {
    case Protocol::chat:
      return decode_chat(*doc, r);
    case Protocol::completions:
      return decode_completion(*doc, r);
    case Protocol::generate:
      return decode_generate(*doc, r);
  }
}

void decode_batch_reply(std::string_view body, std::span<Response> out) {
  std::string error;
  const auto doc = parse(body, error);
  const auto choices = doc && doc->is_object() ? doc->find("choices") : json::const_iterator{};
  if (!doc || !doc->is_object() || choices == doc->end() || !choices->is_array()) {
    if (doc) error = fmt::format("response has no choices (keys: {})", keys_of(*doc));
    for (auto& r : out) fail(r, error);
    return;
  }
  std::vector<bool> seen(out.size(), false);
  for (std::size_t pos = 0; pos < choices->size(); ++pos) {
    const json& choice = (*choices)[pos];
    if (!choice.is_object()) continue;
    // vLLM sets `index`; fall back to the position for servers that omit it.
    const auto idx = choice.contains("index") && choice["index"].is_number_unsigned()
                         ? choice["index"].get<std::size_t>()
                         : pos;
    if (idx >= out.size() || seen[idx]) continue;
    seen[idx] = true;
    out[idx].text = string_field(choice, "text");
    out[idx].finish_reason = string_field(choice, "finish_reason");
    out[idx].success = true;
    out[idx].error.clear();
    out[idx].kind = FailureKind::none;
  }
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (!seen[i]) {
      fail(out[i], fmt::format("batch reply has no choice for prompt {} of {}", i, out.size()));
    }
  }
  if (!out.empty()) out[0].usage = decode_usage(*doc);
}

std::string error_message(std::string_view body) {
  const json doc = json::parse(body, nullptr, false);
  if (!doc.is_discarded() && doc.is_object()) {
    if (const auto e = doc.find("error"); e != doc.end()) {
      if (e->is_object()) {
        if (auto m = string_field(*e, "message"); !m.empty()) return m;
      } else if (e->is_string()) {
        return e->get<std::string>();
      }
    }
    if (auto m = string_field(doc, "message"); !m.empty()) return m;
    if (const auto d = doc.find("detail"); d != doc.end()) {
      return d->is_string() ? d->get<std::string>() : d->dump(-1, ' ', false, kReplace);
    }
  }
  constexpr std::size_t kExcerpt = 200;
  std::string excerpt(body.substr(0, kExcerpt));
  for (char& c : excerpt) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return body.size() > kExcerpt ? excerpt + "..." : excerpt;
}

std::optional<std::vector<ModelInfo>> decode_models(std::string_view body) {
  const json doc = json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("data") || !doc["data"].is_array()) {
    return std::nullopt;
  }
  std::vector<ModelInfo> models;
  for (const json& m : doc["data"]) {
    if (!m.is_object()) continue;
    models.push_back({string_field(m, "id"), int_field(m, "max_model_len")});
  }
  return models;
}

std::string decode_embeddings(std::string_view body, std::size_t expected,
                              std::vector<std::vector<double>>& vectors, Usage& usage) {
  std::string error;
  const auto doc = parse(body, error);
  if (!doc) return error;
  const auto data = doc->is_object() ? doc->find("data") : doc->end();
  if (!doc->is_object() || data == doc->end() || !data->is_array()) {
    return fmt::format("embeddings response has no data (keys: {})", keys_of(*doc));
  }
  vectors.assign(expected, {});
  std::vector<bool> seen(expected, false);
  for (std::size_t pos = 0; pos < data->size(); ++pos) {
    const json& item = (*data)[pos];
    const auto idx = item.contains("index") && item["index"].is_number_unsigned()
                         ? item["index"].get<std::size_t>()
                         : pos;
    if (idx >= expected || !item.contains("embedding") || !item["embedding"].is_array()) continue;
    auto& v = vectors[idx];
    for (const json& x : item["embedding"]) {
      if (!x.is_number()) return fmt::format("embedding {} holds a non-number", idx);
      v.push_back(x.get<double>());
    }
    seen[idx] = true;
  }
  if (const auto missing = std::find(seen.begin(), seen.end(), false); missing != seen.end()) {
    return fmt::format("embeddings response has no vector for input {} of {}",
                       missing - seen.begin(), expected);
  }
  usage = decode_usage(*doc);
  return {};
}

std::int64_t dynamic_max_tokens(std::int64_t cap, std::int64_t context, std::size_t prompt_chars,
                                std::int64_t buffer) noexcept {
  const auto estimate = static_cast<std::int64_t>(prompt_chars / 4);
  return std::min(cap, std::max<std::int64_t>(128, context - estimate - buffer));
}

Seconds batch_timeout(const PoolOptions& options, std::size_t n) noexcept {
  const auto waves =
      std::max<std::size_t>(1, (n + options.batch_concurrency - 1) / options.batch_concurrency);
  Seconds t = std::max(options.timeout, static_cast<double>(waves) * options.timeout_per_sequence);
  if (options.batch_timeout_cap) t = std::min(t, *options.batch_timeout_cap);
  return t;
}

}  // namespace swarm::protocol
