#include "openai_api.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <optional>

#include "rng.hpp"
#include "streaming.hpp"

namespace swarm::mock {
namespace {

using nlohmann::json;

bool is_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

std::string_view error_type(int status) noexcept {
  switch (status) {
    case 400:
      return "BadRequestError";
    case 404:
      return "NotFoundError";
    case 405:
      return "MethodNotAllowedError";
    case 429:
      return "RateLimitError";
    case 503:
      return "ServiceUnavailableError";
    default:
      return status >= 500 ? "InternalServerError" : "BadRequestError";
  }
}

ApiResult client_error(int status, std::string_view message) {
  return {error_reply(status, message), 0, false};
}

/// A 4xx problem in the request, thrown while validating and turned into a reply.
struct RequestError {
  int status;
  std::string message;
};

/// Checks the fields every generation route shares; returns max_tokens when given.
std::optional<std::size_t> check_common(const json& req, const Options& options) {
  if (req.contains("model")) {
    if (!req["model"].is_string()) throw RequestError{400, "\"model\" must be a string"};
    if (req["model"].get<std::string>() != options.model) {
      throw RequestError{
          404, fmt::format("The model `{}` does not exist.", req["model"].get<std::string>())};
    }
  }
  for (const char* key : {"max_tokens", "max_completion_tokens"}) {
    if (!req.contains(key) || req[key].is_null()) continue;
    if (!req[key].is_number_integer() || req[key].get<std::int64_t>() < 1) {
      throw RequestError{400, fmt::format("\"{}\" must be an integer >= 1", key)};
    }
    return req[key].get<std::size_t>();
  }
  return std::nullopt;
}

/// The request's integer "seed" (vLLM's per-request sampling seed), if any.
std::optional<std::uint64_t> request_seed(const json& req) {
  const auto it = req.find("seed");
  if (it == req.end() || !it->is_number_integer()) return std::nullopt;
  return static_cast<std::uint64_t>(it->get<std::int64_t>());
}

/// vLLM's context-length check; returns the completion budget.
std::size_t completion_budget(std::size_t prompt_tokens, std::optional<std::size_t> max_tokens,
                              std::size_t default_max, const Options& options) {
  const std::size_t limit = options.max_model_len;
  const std::size_t wanted = max_tokens.value_or(0);
  if (prompt_tokens + wanted > limit || prompt_tokens >= limit) {
    throw RequestError{
        400, fmt::format("This model's maximum context length is {} tokens. However, you "
                         "requested {} tokens ({} in the messages, {} in the completion). "
                         "Please reduce the length of the messages or completion.",
                         limit, prompt_tokens + wanted, prompt_tokens, wanted)};
  }
  return max_tokens.value_or(std::min(default_max, limit - prompt_tokens));
}

/// The text of a message's content: a string, or OpenAI's list of {"type":"text"} parts.
std::string content_text(const json& content) {
  if (content.is_string()) return content.get<std::string>();
  if (content.is_null()) return {};
  if (!content.is_array()) throw RequestError{400, "message content must be a string or a list"};
  std::string text;
  for (const json& part : content) {
    if (part.is_object() && part.value("type", "") == "text" && part.contains("text") &&
        part["text"].is_string()) {
      if (!text.empty()) text += '\n';
      text += part["text"].get<std::string>();
    }
  }
  return text;
}

json usage(std::size_t prompt_tokens, std::size_t completion_tokens) {
  return {{"prompt_tokens", prompt_tokens},
          {"completion_tokens", completion_tokens},
          {"total_tokens", prompt_tokens + completion_tokens}};
}

// One /v1/completions choice.
json completion_choice(std::size_t index, std::string text, bool cut) {
  return {{"index", index},
          {"text", std::move(text)},
          {"logprobs", nullptr},
          {"finish_reason", cut ? "length" : "stop"},
          {"stop_reason", nullptr}};
}

ApiResult ok_result(const json& body, std::size_t completion_tokens) {
  return {HttpReply{200, body.dump(), "application/json", {}}, completion_tokens, true};
}

ApiResult chat(const json& req, const ApiContext& ctx, const AnswerFn& answer) {
  const auto max_tokens = check_common(req, ctx.options);
  if (!req.contains("messages") || !req["messages"].is_array() || req["messages"].empty()) {
    throw RequestError{400, "\"messages\" must be a non-empty list"};
  }
  std::size_t prompt_tokens = 0;
  std::string prompt;  // the last user message
  for (const json& message : req["messages"]) {
    if (!message.is_object() || !message.contains("role") || !message["role"].is_string()) {
      throw RequestError{400, "every message needs a string \"role\""};
    }
    std::string text = content_text(message.value("content", json()));
    prompt_tokens += count_tokens(text);
    if (message["role"] == "user") prompt = std::move(text);
  }
  const std::size_t budget =
      completion_budget(prompt_tokens, max_tokens, ctx.options.max_model_len, ctx.options);
  std::string text = answer(prompt, request_seed(req));
  const bool cut = truncate_tokens(text, budget);
  const std::size_t completion_tokens = count_tokens(text);
  json message = {{"role", "assistant"}};
  if (ctx.options.reasoning) {
    // Reasoning models (vLLM --reasoning-parser) put the thinking beside an empty content.
    message["content"] = "";
    message["reasoning"] = text;
    message["reasoning_content"] = text;
  } else {
    message["content"] = text;
  }
  json body = {{"id", fmt::format("chatcmpl-mock-{}-{}", ctx.agent, ctx.sequence)},
               {"object", "chat.completion"},
               {"created", ctx.created},
               {"model", ctx.options.model},
               {"choices", json::array({{{"index", 0},
                                         {"message", std::move(message)},
                                         {"logprobs", nullptr},
                                         {"finish_reason", cut ? "length" : "stop"}}})},
               {"usage", usage(prompt_tokens, completion_tokens)}};
  if (ctx.options.reasoning) {
    // vLLM reports the thinking's share of the completion tokens here (all of it, in the mock).
    body["usage"]["completion_tokens_details"] = {{"reasoning_tokens", completion_tokens}};
  }
  return ok_result(body, completion_tokens);
}

std::vector<std::string> string_list(const json& value, std::string_view field) {
  if (value.is_string()) return {value.get<std::string>()};
  if (!value.is_array()) {
    throw RequestError{400, fmt::format("\"{}\" must be a string or a list of strings", field)};
  }
  if (value.empty()) throw RequestError{400, fmt::format("\"{}\" must not be empty", field)};
  std::vector<std::string> items;
  for (const json& item : value) {
    if (!item.is_string()) {
      throw RequestError{400, fmt::format("\"{}\" must be a string or a list of strings", field)};
    }
    items.push_back(item.get<std::string>());
  }
  return items;
}

ApiResult completions(const json& req, const ApiContext& ctx, const AnswerFn& answer) {
  const auto max_tokens = check_common(req, ctx.options);
  if (!req.contains("prompt")) throw RequestError{400, "\"prompt\" is required"};
  const auto prompts = string_list(req["prompt"], "prompt");
  if (prompts.size() > kMaxPromptBatch) {
    throw RequestError{400, fmt::format("The prompt list has {} entries, more than the {} "
                                        "allowed in one request.",
                                        prompts.size(), kMaxPromptBatch)};
  }
  const auto completion = [&](json choices, std::size_t prompt, std::size_t completion,
                              std::string_view id_suffix) {
    return json{{"id", fmt::format("cmpl-mock-{}-{}{}", ctx.agent, ctx.sequence, id_suffix)},
                {"object", "text_completion"},
                {"created", ctx.created},
                {"model", ctx.options.model},
                {"choices", std::move(choices)},
                {"usage", usage(prompt, completion)}};
  };
  // llama-server answers a list prompt with one completion object per prompt.
  const bool as_array = req["prompt"].is_array() && ctx.options.list_reply != ListReply::object;
  json choices = json::array();
  json objects = json::array();
  std::size_t prompt_total = 0;
  std::size_t completion_total = 0;
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    const std::size_t prompt_tokens = count_tokens(prompts[i]);
    // vLLM's /v1/completions default is max_tokens = 16, as in OpenAI's API.
    const std::size_t budget = completion_budget(prompt_tokens, max_tokens, 16, ctx.options);
    std::string text = answer(prompts[i], request_seed(req));
    const bool cut = truncate_tokens(text, budget);
    const std::size_t completion_tokens = count_tokens(text);
    prompt_total += prompt_tokens;
    completion_total += completion_tokens;
    if (as_array) {
      objects.push_back(completion(json::array({completion_choice(i, std::move(text), cut)}),
                                   prompt_tokens, completion_tokens, fmt::format("-{}", i)));
    } else {
      choices.push_back(completion_choice(i, std::move(text), cut));
    }
  }
  if (as_array) {
    if (ctx.options.list_reply == ListReply::array_reversed) {
      std::reverse(objects.begin(), objects.end());
    }
    return ok_result(objects, completion_total);
  }
  return ok_result(completion(std::move(choices), prompt_total, completion_total, ""),
                   completion_total);
}

ApiResult generate(const json& req, const ApiContext& ctx, const AnswerFn& answer) {
  if (!req.contains("prompt") || !req["prompt"].is_string()) {
    throw RequestError{400, "\"prompt\" must be a string"};
  }
  const auto max_tokens = check_common(req, ctx.options);
  const std::string prompt = req["prompt"].get<std::string>();
  const std::size_t budget =
      completion_budget(count_tokens(prompt), max_tokens, ctx.options.max_model_len, ctx.options);
  std::string text = answer(prompt, request_seed(req));
  truncate_tokens(text, budget);
  const std::size_t completion_tokens = count_tokens(text);
  return ok_result(json{{"response", std::move(text)}}, completion_tokens);
}

ApiResult embeddings(const json& req, const ApiContext& ctx) {
  check_common(req, ctx.options);
  if (!req.contains("input")) throw RequestError{400, "\"input\" is required"};
  if (req.contains("encoding_format") && req["encoding_format"] != "float") {
    throw RequestError{400, "only \"encoding_format\": \"float\" is supported"};
  }
  const auto inputs = string_list(req["input"], "input");
  json data = json::array();
  std::size_t tokens = 0;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    tokens += count_tokens(inputs[i]);
    data.push_back({{"object", "embedding"},
                    {"index", i},
                    {"embedding", embed(inputs[i], ctx.options.seed, ctx.options.embedding_dim)}});
  }
  const json body = {{"id", fmt::format("embd-mock-{}-{}", ctx.agent, ctx.sequence)},
                     {"object", "list"},
                     {"created", ctx.created},
                     {"model", ctx.options.model},
                     {"data", std::move(data)},
                     {"usage", {{"prompt_tokens", tokens}, {"total_tokens", tokens}}}};
  return ok_result(body, 0);
}

}  // namespace

HttpReply error_reply(int status, std::string_view message) {
  const json body = {
      {"error",
       {{"message", message}, {"type", error_type(status)}, {"param", nullptr}, {"code", status}}}};
  return {status, body.dump(), "application/json", {}};
}

HttpReply shape_error(HttpReply reply, const Options& options) {
  if (reply.status < 400) return reply;
  if (reply.status < 500 && options.client_error_status != 0) {
    reply.status = options.client_error_status;
  }
  if (options.html_errors) {
    reply.body = fmt::format(
        "<html>\r\n<head><title>{0} Error</title></head>\r\n<body>\r\n<center><h1>{0} "
        "Error</h1></center>\r\n<hr><center>aswarm-mock-agent</center>\r\n</body>\r\n</html>\r\n",
        reply.status);
    reply.content_type = "text/html";
  }
  return reply;
}

std::size_t count_tokens(std::string_view text) noexcept {
  std::size_t n = 0;
  bool in_word = false;
  for (const char c : text) {
    const bool space = is_space(c);
    if (!space && !in_word) ++n;
    in_word = !space;
  }
  return n;
}

bool truncate_tokens(std::string& text, std::size_t max_tokens) {
  std::size_t words = 0;
  bool in_word = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const bool space = is_space(text[i]);
    if (!space && !in_word) {
      if (words == max_tokens) {
        // Drop the separator before the first dropped word, too.
        std::size_t end = i;
        while (end > 0 && is_space(text[end - 1])) --end;
        text.resize(end);
        return true;
      }
      ++words;
    }
    in_word = !space;
  }
  return false;
}

void fit_tokens(std::string& text, std::size_t tokens) {
  if (truncate_tokens(text, tokens)) return;
  std::vector<std::string> words;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || is_space(text[i])) {
      if (i > start) words.push_back(text.substr(start, i - start));
      start = i + 1;
    }
  }
  if (words.empty()) words.emplace_back("token");
  for (std::size_t n = count_tokens(text), k = 0; n < tokens; ++n, ++k) {
    if (!text.empty() && !is_space(text.back())) text += ' ';
    text += words[k % words.size()];
  }
}

namespace {

bool wants_stream(const json& req) {
  return req.contains("stream") && req["stream"].is_boolean() && req["stream"].get<bool>();
}

ApiResult route_generation(std::string_view path, const json& req, const ApiContext& ctx,
                           const AnswerFn& answer) {
  const bool chat_route = path == "/v1/chat/completions";
  if (wants_stream(req) && !chat_route &&
      !(path == "/v1/completions" && req.contains("prompt") && req["prompt"].is_string())) {
    // vLLM streams list prompts as interleaved choices; the mock has no use for that.
    throw RequestError{400, fmt::format("\"stream\": true is supported on /v1/chat/completions "
                                        "and single-prompt /v1/completions, not {}",
                                        path)};
  }
  if (chat_route) return chat(req, ctx, answer);
  if (path == "/v1/completions") return completions(req, ctx, answer);
  if (path == "/generate") return generate(req, ctx, answer);
  return embeddings(req, ctx);
}

}  // namespace

ApiResult handle_generation(std::string_view path, std::string_view body, const ApiContext& ctx,
                            const AnswerFn& answer) {
  json req;
  try {
    req = json::parse(body);
  } catch (const json::parse_error& e) {
    return client_error(400, fmt::format("the request body is not valid JSON: {}", e.what()));
  }
  if (!req.is_object()) return client_error(400, "the request body must be a JSON object");
  try {
    ApiResult result = route_generation(path, req, ctx, answer);
    if (result.ok && wants_stream(req)) {
      const auto options = req.find("stream_options");
      const bool usage =
          options != req.end() && options->is_object() && options->value("include_usage", false);
      result.stream =
          stream_sends(json::parse(result.reply.body), path == "/v1/chat/completions", usage);
      result.reply.content_type = "text/event-stream";
    }
    return result;
  } catch (const RequestError& e) {
    return client_error(e.status, e.message);
  } catch (const json::exception& e) {
    // A field of the wrong JSON type that the checks above did not anticipate.
    return client_error(400, e.what());
  }
}

HttpReply models_reply(const Options& options, std::int64_t created) {
  const json body = {{"object", "list"},
                     {"data", json::array({{{"id", options.model},
                                            {"object", "model"},
                                            {"created", created},
                                            {"owned_by", "aswarm-mock"},
                                            {"root", options.model},
                                            {"parent", nullptr},
                                            {"max_model_len", options.max_model_len}}})}};
  return {200, body.dump(), "application/json", {}};
}

std::vector<float> embed(std::string_view text, std::uint64_t seed, std::size_t dim) {
  const std::uint64_t h = hash_text(text) ^ mix64(seed);
  std::vector<float> v(dim);
  double norm = 0.0;
  for (std::size_t i = 0; i < dim; ++i) {
    const double x = static_cast<double>(mix64(h + i) >> 11U) * 0x1.0p-52 - 1.0;  // [-1, 1)
    v[i] = static_cast<float>(x);
    norm += x * x;
  }
  norm = std::sqrt(norm);
  if (norm > 0.0) {
    for (float& x : v) x = static_cast<float>(x / norm);
  }
  return v;
}

}  // namespace swarm::mock
