#include "io/input_record.hpp"

#include <functional>
#include <limits>

#include <fmt/format.h>

#include "io/input_sax.hpp"
#include "swarm/json_limits.hpp"

namespace swarm::cli {
namespace {

using nlohmann::json;

// Parsing reports the first problem through `reason_`; helpers return false so callers can bail
// out with `if (!...) return LineKind::invalid;` without exceptions.
class LineParser {
 public:
  LineParser(InputRecord& out, std::string& reason) : out_(out), reason_(reason) {}

  LineKind parse(std::string_view text, bool fast) {
    if (text.find_first_not_of(" \t\r\n\f\v") == std::string_view::npos) return LineKind::blank;
    // Most inputs are {"id", "prompt"} lines: read without a DOM (input_sax.hpp); the DOM
    // parse was a tenth of aswarm-mpi's CPU per request (bench/engine_floor.sh).
    if (fast && detail::parse_plain_line(text, out_)) return LineKind::prompt;
    JsonFault fault = JsonFault::none;
    json value = parse_json_limited(text, fault);
    if (fault == JsonFault::too_deep) return fail(json_depth_reason());
    if (value.is_discarded()) return fail(json_error(text));
    out_.clear_content();
    if (value.is_string()) {
      out_.prompt = std::move(value.get_ref<std::string&>());
      if (out_.prompt.empty()) return fail("empty prompt");
      return LineKind::prompt;
    }
    if (!value.is_object()) {
      return fail(fmt::format("expected a JSON string (the prompt) or an object, got {}",
                              value.type_name()));
    }
    if (value.contains("custom_id") || value.contains("body")) return parse_batch(value);
    return parse_prompt_object(value);
  }

 private:
  LineKind fail(std::string reason) {
    reason_ = std::move(reason);
    return LineKind::invalid;
  }

  // Only on the error path: re-parse with exceptions to get nlohmann's position and reason.
  static std::string json_error(std::string_view text) {
    try {
      const json ignored = json::parse(text.begin(), text.end());
      (void)ignored;
    } catch (const json::parse_error& e) {
      // "[json.exception.parse_error.101] parse error at line 1, column 5: ..." -> the line is
      // always 1 within a JSONL line, so keep the column and the reason.
      const std::string what = e.what();
      const auto column = what.find("column ");
      if (column != std::string::npos) return "invalid JSON at " + what.substr(column);
      return "invalid JSON: " + what;
    } catch (const json::exception& e) {
      // out_of_range.406 for a number beyond a double ("id": 1e400): the reason without the
      // library's "[json.exception...]" prefix.
      std::string what = e.what();
      if (const auto close = what.find("] "); close != std::string::npos) what.erase(0, close + 2);
      return "invalid JSON: " + what;
    }
    return "invalid JSON";
  }

  LineKind parse_prompt_object(json& value) {
    auto id = value.find("id");
    if (id != value.end() && !id->is_null()) {
      if (!id->is_string() && !id->is_number()) {
        return fail(fmt::format("\"id\" must be a string or a number, got {}", id->type_name()));
      }
      out_.id = std::move(*id);
    }
    if (auto params = value.find("params"); params != value.end() && !params->is_null()) {
      if (!params->is_object()) {
        return fail(fmt::format("\"params\" must be an object of request fields, got {}",
                                params->type_name()));
      }
      out_.params = std::move(*params);
    }
    auto prompt = value.find("prompt");
    auto messages = value.find("messages");
    if (messages != value.end()) {
      if (prompt != value.end()) return fail("give \"prompt\" or \"messages\", not both");
      if (!check_messages(*messages, "\"messages\"")) return LineKind::invalid;
      out_.messages = std::move(*messages);
      if (!last_user_text(out_.messages)) return LineKind::invalid;
      return LineKind::prompt;
    }
    if (prompt == value.end()) {
      return fail(
          "missing \"prompt\" or \"messages\" (or \"custom_id\" and \"body\" of an OpenAI batch "
          "request)");
    }
    if (!prompt->is_string()) {
      return fail(fmt::format("\"prompt\" must be a string, got {}", prompt->type_name()));
    }
    out_.prompt = std::move(prompt->get_ref<std::string&>());
    if (out_.prompt.empty()) return fail("\"prompt\" is empty");
    return LineKind::prompt;
  }

  LineKind parse_batch(json& value) {
    out_.batch = true;
    auto custom_id = value.find("custom_id");
    if (custom_id == value.end()) return fail("batch request has no \"custom_id\"");
    if (!custom_id->is_string() || custom_id->get_ref<const std::string&>().empty()) {
      return fail("\"custom_id\" must be a non-empty string");
    }
    out_.custom_id = std::move(custom_id->get_ref<std::string&>());
    auto method = value.find("method");
    if (method == value.end()) return fail("batch request has no \"method\" (expected \"POST\")");
    if (!method->is_string() || *method != "POST") {
      return fail(fmt::format("\"method\" must be \"POST\", got {}", dump(*method)));
    }
    auto url = value.find("url");
    if (url == value.end()) return fail("batch request has no \"url\"");
    const bool known =
        url->is_string() && (url->get_ref<const std::string&>() == kChatCompletionsUrl ||
                             url->get_ref<const std::string&>() == kCompletionsUrl ||
                             url->get_ref<const std::string&>() == kEmbeddingsUrl);
    if (!known) {
      return fail(fmt::format("unsupported \"url\" {} (expected \"{}\", \"{}\" or \"{}\")",
                              dump(*url), kChatCompletionsUrl, kCompletionsUrl, kEmbeddingsUrl));
    }
    out_.url = url->get<std::string>();
    auto body = value.find("body");
    if (body == value.end()) return fail("batch request has no \"body\"");
    if (!body->is_object()) {
      return fail(fmt::format("\"body\" must be an object, got {}", body->type_name()));
    }
    if (out_.url == kChatCompletionsUrl) {
      auto messages = body->find("messages");
      if (messages == body->end()) return fail("\"body.messages\" must be a non-empty array");
      if (!check_messages(*messages, "\"body.messages\"")) return LineKind::invalid;
      if (!last_user_text(*messages)) return LineKind::invalid;
    } else if (!text_or_list(*body, out_.url == kCompletionsUrl ? "prompt" : "input")) {
      return LineKind::invalid;
    }
    if (!options(*body)) return LineKind::invalid;
    out_.body = std::move(*body);
    return LineKind::batch;
  }

  // The shape every server needs to route a conversation; the content is the server's business
  // (images, tool calls and so on pass through untouched).
  bool check_messages(const json& messages, std::string_view what) {
    if (!messages.is_array() || messages.empty()) {
      fail(fmt::format("{} must be a non-empty array", what));
      return false;
    }
    for (std::size_t i = 0; i < messages.size(); ++i) {
      const json& m = messages[i];
      const auto role = m.is_object() ? m.find("role") : m.end();
      if (!m.is_object() || role == m.end() || !role->is_string()) {
        fail(fmt::format("{}[{}] must be an object with a string \"role\"", what, i));
        return false;
      }
    }
    return true;
  }

  // The prompt text of a conversation, for --prompt templates and pipeline items: the last
  // user message's text (text parts joined by newlines, as vLLM's chat templates do).
  bool last_user_text(const json& messages) {
    for (auto it = messages.rbegin(); it != messages.rend(); ++it) {
      if ((*it)["role"] != "user") continue;
      const auto content = it->find("content");
      if (content == it->end()) return true;
      if (content->is_string()) {
        out_.prompt = content->get<std::string>();
      } else if (content->is_array()) {
        bool first = true;
        for (const json& part : *content) {
          if (!part.is_object() || part.value("type", "") != "text" || !part.contains("text") ||
              !part["text"].is_string()) {
            continue;
          }
          if (!first) out_.prompt += '\n';
          out_.prompt += part["text"].get_ref<const std::string&>();
          first = false;
        }
      }
      return true;
    }
    return true;
  }

  // body.prompt (completions) or body.input (embeddings): a non-empty string or list, sent as
  // written (lists, token ids); a string is also the record's prompt text.
  bool text_or_list(const json& body, const char* key) {
    const auto it = body.find(key);
    const bool ok =
        it != body.end() && ((it->is_string() && !it->get_ref<const std::string&>().empty()) ||
                             (it->is_array() && !it->empty()));
    if (!ok) {
      fail(fmt::format("\"body.{}\" must be a non-empty string or list", key));
      return false;
    }
    if (it->is_string()) out_.prompt = it->get<std::string>();
    return true;
  }

  bool options(const json& body) {
    for (const char* key : {"max_tokens", "max_completion_tokens"}) {
      auto it = body.find(key);
      if (it == body.end() || it->is_null()) continue;
      const bool fits = it->is_number_integer() &&
                        (!it->is_number_unsigned() ||
                         it->get<std::uint64_t>() <=
                             static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()));
      if (!fits) {
        fail(fmt::format("\"body.{}\" must be an integer", key));
        return false;
      }
      if (!out_.max_tokens) out_.max_tokens = it->get<std::int64_t>();
    }
    if (auto it = body.find("model"); it != body.end() && !it->is_null()) {
      if (!it->is_string()) {
        fail("\"body.model\" must be a string");
        return false;
      }
      out_.model = it->get<std::string>();
    }
    if (auto it = body.find("temperature"); it != body.end() && !it->is_null()) {
      if (!it->is_number()) {
        fail("\"body.temperature\" must be a number");
        return false;
      }
      out_.temperature = it->get<double>();
    }
    return true;
  }

  static std::string dump(const json& value) {
    return value.dump(-1, ' ', false, json::error_handler_t::replace);
  }

  InputRecord& out_;
  std::string& reason_;
};

}  // namespace

LineKind parse_input_line(std::string_view text, InputRecord& out, std::string& reason) {
  return LineParser(out, reason).parse(text, /*fast=*/true);
}

std::uint64_t key_fingerprint(bool batch, const nlohmann::json& id, std::string_view custom_id) {
  return detail::fingerprint_of_key(detail::record_key(batch, id, custom_id));
}

namespace detail {

std::string record_key(bool batch, const nlohmann::json& id, std::string_view custom_id) {
  if (batch) return "c:" + std::string(custom_id);
  if (id.is_null()) return {};
  return "i:" + id.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

LineKind parse_input_line_dom(std::string_view text, InputRecord& out, std::string& reason) {
  return LineParser(out, reason).parse(text, /*fast=*/false);
}

std::uint64_t fingerprint_of_key(std::string_view key) noexcept {
  if (key.empty()) return 0;
  const std::uint64_t hash = std::hash<std::string_view>{}(key);
  return hash == 0 ? 1 : hash;  // 0 means "no key"
}

}  // namespace detail
}  // namespace swarm::cli
