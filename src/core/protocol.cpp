#include "swarm/protocol.hpp"

#include <algorithm>
#include <cctype>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <unordered_set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "log.hpp"
#include "protocol_internal.hpp"
#include "reply_sax.hpp"
#include "swarm/json_limits.hpp"
#include "swarm/json_text.hpp"

namespace swarm::protocol {
namespace {

using nlohmann::json;

// Replies can carry any bytes; invalid UTF-8 is replaced rather than thrown on.
constexpr auto kReplace = json::error_handler_t::replace;

std::optional<json> parse(std::string_view body, std::string& error) {
  JsonFault fault = JsonFault::none;
  json doc = parse_json_limited(body, fault);
  if (fault == JsonFault::too_deep) {
    error = "response refused: " + json_depth_reason();
    return std::nullopt;
  }
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

// The reply's own identity, kept for fidelity (the server's id, not one of ours).
void decode_identity(const json& doc, Response& r) {
  r.response_id = string_field(doc, "id");
  r.model = string_field(doc, "model");
}

}  // namespace

Usage decode_usage(const json& doc) {
  Usage u;
  const auto it = doc.is_object() ? doc.find("usage") : doc.end();
  if (it == doc.end() || !it->is_object()) return u;
  u.prompt_tokens = int_field(*it, "prompt_tokens");
  u.completion_tokens = int_field(*it, "completion_tokens");
  u.total_tokens = int_field(*it, "total_tokens");
  if (const auto d = it->find("completion_tokens_details"); d != it->end() && d->is_object()) {
    u.reasoning_tokens = int_field(*d, "reasoning_tokens");
  }
  return u;
}

void decode_chat(const json& doc, Response& r) {
  const json* choice = first_choice(doc, r);
  if (choice == nullptr) return;
  const auto msg = choice->find("message");
  if (msg == choice->end() || !msg->is_object()) {
    return fail(r, "response choice has no message");
  }
  // vLLM's reasoning parsers name the field `reasoning` (newer) or `reasoning_content`.
  r.reasoning = string_field(*msg, "reasoning");
  if (r.reasoning.empty()) r.reasoning = string_field(*msg, "reasoning_content");
  // Reasoning models may put everything in `reasoning` and leave `content` empty or null: the
  // answer the patterns work on falls back to it (the reasoning itself stays in `reasoning`).
  r.text = string_field(*msg, "content");
  if (r.text.empty()) r.text = r.reasoning;
  r.finish_reason = string_field(*choice, "finish_reason");
  r.usage = decode_usage(doc);
  decode_identity(doc, r);
  r.success = true;
}

void decode_completion(const json& doc, Response& r) {
  const json* choice = first_choice(doc, r);
  if (choice == nullptr) return;
  r.text = string_field(*choice, "text");
  r.finish_reason = string_field(*choice, "finish_reason");
  r.usage = decode_usage(doc);
  decode_identity(doc, r);
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

namespace {

// A proxy's or gateway's HTML error page, named by its <title> (or first <h1>): "" when the
// body is not HTML. Pages run to kilobytes of markup; the title is what a user needs.
std::string html_title(std::string_view body) {
  const auto start = body.find_first_not_of(" \t\r\n");
  if (start == std::string_view::npos || body[start] != '<') return {};
  std::string lower(body.substr(0, 4096));
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (const char* tag : {"title", "h1"}) {
    const auto open = lower.find(fmt::format("<{}", tag));
    const auto text = open == std::string::npos ? open : lower.find('>', open);
    const auto close =
        text == std::string::npos ? text : lower.find(fmt::format("</{}", tag), text);
    if (close == std::string::npos) continue;
    std::string title(body.substr(text + 1, close - text - 1));
    for (char& c : title) {
      if (c == '\n' || c == '\r' || c == '\t') c = ' ';
    }
    const auto b = title.find_first_not_of(' ');
    if (b == std::string::npos) continue;
    return title.substr(b, title.find_last_not_of(' ') - b + 1);
  }
  return "HTML page";
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
  return prompt_json(options, model, prompt, max_tokens).dump(-1, ' ', false, kReplace);
}

namespace {

// The position of the only occurrence of `needle` in `hay`, or npos when it is absent or not
// alone.
std::size_t only(std::string_view hay, std::string_view needle) {
  const auto at = hay.find(needle);
  if (at == std::string_view::npos || hay.find(needle, at + 1) != std::string_view::npos) {
    return std::string_view::npos;
  }
  return at;
}

}  // namespace

PromptFrame::PromptFrame(const PoolOptions& options, std::string_view model) : model_(model) {
  // extra_body replacing a hole's key could carry the marker itself: then the text found would
  // be the user's, not the hole.
  const auto& extra = options.extra_body;
  const char* prompt_key = options.protocol == Protocol::chat ? "messages" : "prompt";
  if (extra.is_object() && (extra.contains("max_tokens") || extra.contains(prompt_key))) return;
  const std::string marked = prompt_body(options, model, kPromptMark, kMaxTokensMark);
  constexpr std::string_view kKey = "\"max_tokens\":";
  const std::string tokens = std::string(kKey) + std::to_string(kMaxTokensMark);
  std::string prompt;
  append_json_string(prompt, kPromptMark);
  const auto t = only(marked, tokens);
  const auto p = only(marked, prompt);
  // max_tokens sorts before "messages" and "prompt", so its value comes first when both are ours.
  if (t == std::string::npos || p == std::string::npos || t + tokens.size() > p) return;
  head_ = marked.substr(0, t + kKey.size());
  middle_ = marked.substr(t + tokens.size(), p - t - tokens.size());
  tail_ = marked.substr(p + prompt.size());
  usable_ = true;
}

std::string PromptFrame::body(std::string_view prompt, std::int64_t max_tokens) const {
  std::string out;
  out.reserve(head_.size() + middle_.size() + tail_.size() + prompt.size() + 24);
  out += head_;
  fmt::format_to(std::back_inserter(out), "{}", max_tokens);
  out += middle_;
  append_json_string(out, prompt);
  out += tail_;
  return out;
}

json prompt_json(const PoolOptions& options, std::string_view model, std::string_view prompt,
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
  merge_over(body, options.extra_body, "PoolOptions::extra_body");
  return body;
}

std::string batch_body(const PoolOptions& options, std::string_view model,
                       std::span<const std::string> prompts, std::int64_t max_tokens,
                       const nlohmann::json& extra) {
  json body = base_request(options, model, max_tokens);
  body["prompt"] = prompts;
  merge_over(body, options.extra_body, "PoolOptions::extra_body");
  merge_over(body, extra, "CallOptions::extra_body");
  return body.dump(-1, ' ', false, kReplace);
}

void merge_over(json& body, const json& extra, std::string_view what) {
  if (extra.is_null()) return;
  if (!extra.is_object()) {
    throw std::invalid_argument(
        fmt::format("{} must be a JSON object, not {}", what, extra.type_name()));
  }
  for (const auto& item : extra.items()) body[item.key()] = item.value();
}

std::string embeddings_body(std::string_view model, std::span<const std::string> inputs) {
  json body = json::object();
  if (!model.empty()) body["model"] = model;
  body["input"] = inputs;
  return body.dump(-1, ' ', false, kReplace);
}

void decode_prompt_reply(Protocol protocol, std::string_view body, Response& r) {
  // The common shapes without a DOM (reply_sax.hpp); everything else, and every error, below.
  if (decode_reply_fast(protocol, body, r)) return;
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
  // vLLM answers one object with a choice per prompt; llama.cpp's llama-server answers a JSON
  // array of completion objects, one per prompt. Both are read as (object, choices) pairs.
  std::vector<const json*> objects;
  if (doc && doc->is_array()) {
    for (const json& item : *doc) {
      if (item.is_object()) objects.push_back(&item);
    }
  } else if (doc && doc->is_object()) {
    objects.push_back(&*doc);
  }
  const bool shaped = !objects.empty() && std::all_of(objects.begin(), objects.end(), [](auto* o) {
    const auto c = o->find("choices");
    return c != o->end() && c->is_array();
  });
  if (!shaped) {
    if (doc) {
      error = fmt::format("response has no choices (keys: {})",
                          objects.empty() ? keys_of(*doc) : keys_of(*objects.front()));
    }
    for (auto& r : out) fail(r, error);
    return;
  }
  std::vector<bool> seen(out.size(), false);
  std::size_t pos = 0;  // the choice's position over all objects
  for (const json* object : objects) {
    for (const json& choice : (*object)["choices"]) {
      const std::size_t here = pos++;
      if (!choice.is_object()) continue;
      // vLLM and llama-server set `index` (the prompt's); fall back to the position for
      // servers that omit it. Array replies may come in any order.
      const auto idx = choice.contains("index") && choice["index"].is_number_unsigned()
                           ? choice["index"].get<std::size_t>()
                           : here;
      if (idx >= out.size() || seen[idx]) continue;
      seen[idx] = true;
      Response& r = out[idx];
      r.text = string_field(choice, "text");
      r.finish_reason = string_field(choice, "finish_reason");
      decode_identity(*object, r);
      r.success = true;
      r.error.clear();
      r.kind = FailureKind::none;
    }
  }
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (!seen[i]) {
      fail(out[i], fmt::format("batch reply has no choice for prompt {} of {}", i, out.size()));
    }
  }
  // The request's usage goes to out[0] once, so that sums stay right (array replies: the sum).
  if (!out.empty()) {
    Usage total;
    for (const json* object : objects) total += decode_usage(*object);
    out[0].usage = total;
  }
}

namespace {

/// The whole text of a message that capped() cuts goes to the log, once per distinct message
/// (by hash) and for the first 1,024 of them, so that the cut is never the only copy and a
/// fleet repeating one huge error does not flood stderr either.
void log_in_full_once(const std::string& message) {
  static std::mutex mutex;
  static std::unordered_set<std::size_t> seen;
  constexpr std::size_t kMaxLogged = 1024;
  {
    const std::lock_guard lock(mutex);
    if (seen.size() >= kMaxLogged || !seen.insert(std::hash<std::string>{}(message)).second) {
      return;
    }
  }
  detail::logger().warn(
      "a server's error message of {} bytes is cut to {} in Responses and output lines; in "
      "full: {}",
      message.size(), kMaxErrorMessage, message);
}

/// A server's message as it goes into every failed Response and output line: an 8 MB message
/// copied into each failure would fill the output and the ranks' memory.
std::string capped(std::string message) {
  if (message.size() <= kMaxErrorMessage) return message;
  log_in_full_once(message);
  const std::size_t total = message.size();
  std::size_t cut = kMaxErrorMessage;
  // Never inside a UTF-8 sequence: back up over continuation bytes (10xxxxxx).
  while (cut > 0 && (static_cast<unsigned char>(message[cut]) & 0xC0) == 0x80) --cut;
  message.resize(cut);
  return message + fmt::format("... ({} bytes in all)", total);
}

std::string uncapped_error_message(std::string_view body) {
  JsonFault fault = JsonFault::none;
  const json doc = parse_json_limited(body, fault);
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
  if (auto page = html_title(body); !page.empty()) return "non-JSON error page: " + page;
  constexpr std::size_t kExcerpt = 200;
  std::string excerpt(body.substr(0, kExcerpt));
  for (char& c : excerpt) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return body.size() > kExcerpt ? excerpt + "..." : excerpt;
}

}  // namespace

std::string error_message(std::string_view body) {
  return capped(uncapped_error_message(body));
}

std::optional<std::vector<ModelInfo>> decode_models(std::string_view body) {
  JsonFault fault = JsonFault::none;
  const json doc = parse_json_limited(body, fault);
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
