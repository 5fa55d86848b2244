// parse_input_line(): every accepted format and every malformed-line reason.

#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "io/input_record.hpp"

namespace swarm::cli {
namespace {

InputRecord parse_ok(const std::string& text, LineKind expected_kind) {
  InputRecord record;
  std::string reason;
  const LineKind kind = parse_input_line(text, record, reason);
  EXPECT_EQ(kind, expected_kind) << text << " -> " << reason;
  return record;
}

std::string reason_of(const std::string& text) {
  InputRecord record;
  std::string reason;
  const LineKind kind = parse_input_line(text, record, reason);
  EXPECT_EQ(kind, LineKind::invalid) << text;
  return reason;
}

TEST(InputRecord, JsonStringIsThePrompt) {
  const auto r = parse_ok(R"("What is 2+2?")", LineKind::prompt);
  EXPECT_EQ(r.prompt, "What is 2+2?");
  EXPECT_TRUE(r.id.is_null());
  EXPECT_FALSE(r.batch);
  EXPECT_FALSE(r.max_tokens);
}

TEST(InputRecord, EscapesAndCrlfAreHandled) {
  EXPECT_EQ(parse_ok("\"line1\\nline2 \\u00e9\"\r", LineKind::prompt).prompt,
            "line1\nline2 \xC3\xA9");
  EXPECT_EQ(parse_ok("  \"padded\"  ", LineKind::prompt).prompt, "padded");
}

TEST(InputRecord, BlankLines) {
  for (const std::string text : {"", "   ", "\r", "\t \r"}) parse_ok(text, LineKind::blank);
}

TEST(InputRecord, PromptObjectWithStringNumberOrNoId) {
  auto r = parse_ok(R"({"id": "q1", "prompt": "hello", "extra": [1, 2]})", LineKind::prompt);
  EXPECT_EQ(r.id, "q1");
  EXPECT_EQ(r.prompt, "hello");
  r = parse_ok(R"({"id": 42, "prompt": "x"})", LineKind::prompt);
  EXPECT_EQ(r.id, 42);
  r = parse_ok(R"({"id": 1.5, "prompt": "x"})", LineKind::prompt);
  EXPECT_EQ(r.id, 1.5);
  r = parse_ok(R"({"prompt": "x"})", LineKind::prompt);
  EXPECT_TRUE(r.id.is_null());
  r = parse_ok(R"({"id": null, "prompt": "x"})", LineKind::prompt);
  EXPECT_TRUE(r.id.is_null());
}

TEST(InputRecord, ReusedRecordIsReset) {
  InputRecord record;
  std::string reason;
  ASSERT_EQ(
      parse_input_line(R"({"custom_id":"a","method":"POST","url":"/v1/completions",)"
                       R"("body":{"prompt":"p","max_tokens":5,"model":"m","temperature":0.5}})",
                       record, reason),
      LineKind::batch);
  ASSERT_EQ(parse_input_line(R"("plain")", record, reason), LineKind::prompt);
  EXPECT_FALSE(record.batch);
  EXPECT_TRUE(record.custom_id.empty());
  EXPECT_TRUE(record.url.empty());
  EXPECT_FALSE(record.max_tokens);
  EXPECT_FALSE(record.model);
  EXPECT_FALSE(record.temperature);
}

TEST(InputRecord, BatchChatWithStringContentTakesLastUserMessage) {
  const auto r = parse_ok(
      R"({"custom_id": "req-1", "method": "POST", "url": "/v1/chat/completions",
          "body": {"model": "llama", "max_tokens": 64, "temperature": 0.2,
                   "messages": [{"role": "system", "content": "be brief"},
                                {"role": "user", "content": "first question"},
                                {"role": "assistant", "content": "an answer"},
                                {"role": "user", "content": "second question"},
                                {"role": "assistant", "content": "prefill"}]}})",
      LineKind::batch);
  EXPECT_TRUE(r.batch);
  EXPECT_EQ(r.custom_id, "req-1");
  EXPECT_EQ(r.url, "/v1/chat/completions");
  EXPECT_EQ(r.prompt, "second question");
  EXPECT_EQ(r.model, "llama");
  EXPECT_EQ(r.max_tokens, 64);
  EXPECT_EQ(r.temperature, 0.2);
}

TEST(InputRecord, BatchChatJoinsTextParts) {
  const auto r = parse_ok(
      R"({"custom_id": "c", "method": "POST", "url": "/v1/chat/completions",
          "body": {"messages": [{"role": "user", "content": [{"type": "text", "text": "part one"},
                                                              {"type": "text", "text": "part two"}]}]}})",
      LineKind::batch);
  EXPECT_EQ(r.prompt, "part one\npart two");
  EXPECT_FALSE(r.model);
  EXPECT_FALSE(r.max_tokens);
  EXPECT_FALSE(r.temperature);
}

TEST(InputRecord, BatchCompletionsAndMaxCompletionTokens) {
  auto r = parse_ok(R"({"custom_id": "c", "method": "POST", "url": "/v1/completions",
                        "body": {"prompt": "Once upon", "max_tokens": 7}})",
                    LineKind::batch);
  EXPECT_EQ(r.url, "/v1/completions");
  EXPECT_EQ(r.prompt, "Once upon");
  EXPECT_EQ(r.max_tokens, 7);
  r = parse_ok(R"({"custom_id": "c", "method": "POST", "url": "/v1/chat/completions",
                   "body": {"max_completion_tokens": 9, "temperature": 1,
                            "messages": [{"role": "user", "content": "q"}]}})",
               LineKind::batch);
  EXPECT_EQ(r.max_tokens, 9);
  EXPECT_EQ(r.temperature, 1.0);
}

TEST(InputRecord, BatchBodiesAreKeptAsWrittenWhateverTheirContent) {
  // Images, tool calls, list prompts and embeddings are the server's business: kept, not refused.
  auto r = parse_ok(
      R"({"custom_id": "c", "method": "POST", "url": "/v1/chat/completions",
          "body": {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "u"}},
                                                              {"type": "text", "text": "what"}]}],
                   "tools": [{"type": "function"}], "x_unknown": {"a": 1}}})",
      LineKind::batch);
  EXPECT_EQ(r.prompt, "what");
  EXPECT_EQ(r.body["x_unknown"], nlohmann::json({{"a", 1}}));
  EXPECT_EQ(r.body["messages"][0]["content"][0]["type"], "image_url");
  EXPECT_TRUE(r.is_request());
  r = parse_ok(R"({"custom_id": "c", "method": "POST", "url": "/v1/chat/completions",
                   "body": {"messages": [{"role": "system", "content": "only"}]}})",
               LineKind::batch);
  EXPECT_EQ(r.prompt, "");
  r = parse_ok(R"({"custom_id": "e", "method": "POST", "url": "/v1/embeddings",
                   "body": {"input": ["a", "b"], "model": "m"}})",
               LineKind::batch);
  EXPECT_EQ(r.url, "/v1/embeddings");
  EXPECT_EQ(r.body["input"], nlohmann::json({"a", "b"}));
  r = parse_ok(R"({"custom_id": "l", "method": "POST", "url": "/v1/completions",
                   "body": {"prompt": [[1, 2], [3]]}})",
               LineKind::batch);
  EXPECT_EQ(r.prompt, "");
}

TEST(InputRecord, PromptLinesWithMessagesAndParams) {
  auto r = parse_ok(R"({"id": 3, "messages": [{"role": "system", "content": "s"},
                                              {"role": "user", "content": "q"}],
                         "params": {"seed": 1}})",
                    LineKind::prompt);
  EXPECT_EQ(r.prompt, "q");
  EXPECT_EQ(r.messages.size(), 2u);
  EXPECT_EQ(r.params, nlohmann::json({{"seed", 1}}));
  EXPECT_TRUE(r.is_request());
  r = parse_ok(R"({"prompt": "p", "meta": "ignored as before"})", LineKind::prompt);
  EXPECT_FALSE(r.is_request());
}

TEST(InputRecord, EveryMalformedLineHasAReason) {
  const std::string chat = R"("method": "POST", "url": "/v1/chat/completions")";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"hello",
       "invalid JSON at column 1: syntax error while parsing value - invalid literal; "
       "last read: 'h'"},
      {R"({"prompt": "x")",
       "invalid JSON at column 15: syntax error while parsing object - unexpected end of input; "
       "expected '}'"},
      {"\"bad utf8 \xFF\"",
       "invalid JSON at column 11: syntax error while parsing value - "
       "invalid string: ill-formed UTF-8 byte; last read: '\"bad utf8 \xFF'"},
      {"[\"a\"]", "expected a JSON string (the prompt) or an object, got array"},
      {"42", "expected a JSON string (the prompt) or an object, got number"},
      {"null", "expected a JSON string (the prompt) or an object, got null"},
      {"true", "expected a JSON string (the prompt) or an object, got boolean"},
      {R"("")", "empty prompt"},
      {R"({"id": 1})",
       R"(missing "prompt" or "messages" (or "custom_id" and "body" of an OpenAI batch request))"},
      {R"({"prompt": 5})", R"("prompt" must be a string, got number)"},
      {R"({"prompt": ["a"]})", R"("prompt" must be a string, got array)"},
      {R"({"prompt": ""})", R"("prompt" is empty)"},
      {R"({"id": true, "prompt": "x"})", R"("id" must be a string or a number, got boolean)"},
      {R"({"id": {"a": 1}, "prompt": "x"})", R"("id" must be a string or a number, got object)"},
      {R"({"body": {}, "method": "POST"})", R"(batch request has no "custom_id")"},
      {R"({"custom_id": 5, "body": {}})", R"("custom_id" must be a non-empty string)"},
      {R"({"custom_id": "", "body": {}})", R"("custom_id" must be a non-empty string)"},
      {R"({"custom_id": "a", "url": "/v1/completions", "body": {"prompt": "p"}})",
       R"(batch request has no "method" (expected "POST"))"},
      {R"({"custom_id": "a", "method": "GET", "url": "/v1/completions", "body": {"prompt": "p"}})",
       R"("method" must be "POST", got "GET")"},
      {R"({"custom_id": "a", "method": "POST", "body": {"prompt": "p"}})",
       R"(batch request has no "url")"},
      {R"({"custom_id": "a", "method": "POST", "url": "/v1/files", "body": {"input": "p"}})",
       R"(unsupported "url" "/v1/files" (expected "/v1/chat/completions", "/v1/completions" or "/v1/embeddings"))"},
      {R"({"custom_id": "a", "method": "POST", "url": 3, "body": {}})",
       R"(unsupported "url" 3 (expected "/v1/chat/completions", "/v1/completions" or "/v1/embeddings"))"},
      {R"({"custom_id": "a", )" + chat + "}", R"(batch request has no "body")"},
      {R"({"custom_id": "a", )" + chat + R"(, "body": "x"})",
       R"("body" must be an object, got string)"},
      {R"({"custom_id": "a", )" + chat + R"(, "body": {}})",
       R"("body.messages" must be a non-empty array)"},
      {R"({"custom_id": "a", )" + chat + R"(, "body": {"messages": []}})",
       R"("body.messages" must be a non-empty array)"},
      {R"({"custom_id": "a", )" + chat + R"(, "body": {"messages": [{"content": "x"}]}})",
       R"("body.messages"[0] must be an object with a string "role")"},
      {R"({"custom_id": "a", "method": "POST", "url": "/v1/completions", "body": {}})",
       R"("body.prompt" must be a non-empty string or list)"},
      {R"({"custom_id": "a", "method": "POST", "url": "/v1/completions", "body": {"prompt": ""}})",
       R"("body.prompt" must be a non-empty string or list)"},
      {R"({"custom_id": "a", "method": "POST", "url": "/v1/embeddings", "body": {"input": []}})",
       R"("body.input" must be a non-empty string or list)"},
      {R"({"messages": [{"role": "user", "content": "x"}], "prompt": "y"})",
       R"(give "prompt" or "messages", not both)"},
      {R"({"messages": [5]})", R"("messages"[0] must be an object with a string "role")"},
      {R"({"prompt": "x", "params": [1]})",
       R"("params" must be an object of request fields, got array)"},
      {R"({"custom_id": "a", "method": "POST", "url": "/v1/completions", "body": {"prompt": "p", "max_tokens": 1.5}})",
       R"("body.max_tokens" must be an integer)"},
      {R"({"custom_id": "a", "method": "POST", "url": "/v1/completions", "body": {"prompt": "p", "max_tokens": 18446744073709551615}})",
       R"("body.max_tokens" must be an integer)"},
      {R"({"custom_id": "a", "method": "POST", "url": "/v1/completions", "body": {"prompt": "p", "max_completion_tokens": "9"}})",
       R"("body.max_completion_tokens" must be an integer)"},
      {R"({"custom_id": "a", "method": "POST", "url": "/v1/completions", "body": {"prompt": "p", "model": 1}})",
       R"("body.model" must be a string)"},
      {R"({"custom_id": "a", "method": "POST", "url": "/v1/completions", "body": {"prompt": "p", "temperature": "hot"}})",
       R"("body.temperature" must be a number)"},
  };
  for (const auto& [text, reason] : cases) EXPECT_EQ(reason_of(text), reason) << text;
}

TEST(InputRecord, KeyFingerprints) {
  EXPECT_EQ(key_fingerprint(false, nullptr, ""), 0U);
  EXPECT_NE(key_fingerprint(false, 7, ""), 0U);
  // 7 and "7" are different ids; a custom_id never collides with an id of the same text.
  EXPECT_NE(key_fingerprint(false, 7, ""), key_fingerprint(false, "7", ""));
  EXPECT_NE(key_fingerprint(true, nullptr, "7"), key_fingerprint(false, "7", ""));
  EXPECT_EQ(key_fingerprint(true, nullptr, "abc"), key_fingerprint(true, nullptr, "abc"));
}

TEST(InputRecord, DeepJsonAndHugeNumbersHaveReasons) {
  // "id": 1e400 escaped as a raw library error with no file or line; a deep line is refused
  // before anything recursive sees it.
  EXPECT_EQ(reason_of(R"({"id": 1e400, "prompt": "x"})"),
            "invalid JSON: number overflow parsing '1e400'");
  const std::string deep = "{\"prompt\": \"x\", \"params\": {\"a\": " + std::string(70000, '[') +
                           std::string(70000, ']') + "}}";
  EXPECT_EQ(reason_of(deep), "JSON nested deeper than 256 levels");
}

}  // namespace
}  // namespace swarm::cli
