// Request fidelity in the codecs: caller-written bodies get only the documented fills, prompt
// requests merge in the documented order, and replies keep the server's identity, reasoning
// and list answers of servers beyond vLLM (llama-server's arrays, HTML error pages).

#include <string>
#include <variant>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "protocol_internal.hpp"
#include "swarm/protocol.hpp"
#include "swarm/request.hpp"

namespace swarm {
namespace {

using nlohmann::json;

TEST(RequestBody, SentAsWrittenPlusOnlyAbsentModelAndExtraKeys) {
  PoolOptions o;
  o.extra_body = {{"seed", 1}, {"top_k", 5}};
  const json written = {{"messages", json::array({{{"role", "system"}, {"content", "s"}},
                                                  {{"role", "user"}, {"content", "u"}}})},
                        {"seed", 42},
                        {"unknown_field", {{"kept", true}}}};
  auto body = json::parse(
      protocol::request_body(o, Request{"/v1/chat/completions", written}, "served", {{"n", 2}}));
  json expected = written;
  expected["model"] = "served";
  expected["top_k"] = 5;
  expected["n"] = 2;
  EXPECT_EQ(body, expected);  // seed 42 stays: the body wins over every flag
  // A model the body names is never replaced by the pool's.
  const json named = {{"model", "mine"}, {"prompt", "p"}};
  body = json::parse(protocol::request_body(PoolOptions{}, Request{"/v1/completions", named}, "m"));
  EXPECT_EQ(body, named);
  EXPECT_THROW((void)protocol::request_body(PoolOptions{}, Request{"/x", json::array()}, "m"),
               std::invalid_argument);
}

TEST(PromptRequestBody, MessagesParamsAndPrecedence) {
  PoolOptions o;
  o.system_prompt = "sys";
  o.temperature = 0.5;
  o.extra_body = {{"seed", 1}, {"top_p", 0.9}, {"stop", "pool"}};
  const json turns = json::array({{{"role", "user"}, {"content", "u1"}},
                                  {{"role", "assistant"}, {"content", "a1"}},
                                  {{"role", "user"}, {"content", "u2"}}});
  const auto body = json::parse(protocol::prompt_request_body(
      o, "m", PromptRequest{"", turns, {{"seed", 3}}}, 64, {{"seed", 2}, {"stop", "call"}}));
  EXPECT_EQ(body["model"], "m");
  EXPECT_EQ(body["max_tokens"], 64);
  EXPECT_EQ(body["temperature"], 0.5);
  EXPECT_EQ(body["seed"], 3);       // per request > per call > pool
  EXPECT_EQ(body["stop"], "call");  // per call > pool
  EXPECT_EQ(body["top_p"], 0.9);    // pool
  ASSERT_EQ(body["messages"].size(), 4u);
  EXPECT_EQ(body["messages"][0], json({{"role", "system"}, {"content", "sys"}}));
  EXPECT_EQ(json(std::vector<json>(body["messages"].begin() + 1, body["messages"].end())), turns);
  // A conversation with its own system prompt does not get the pool's.
  const json own =
      json::array({{{"role", "system"}, {"content", "own"}}, {{"role", "user"}, {"content", "u"}}});
  const auto b2 = json::parse(protocol::prompt_request_body(o, "m", PromptRequest{"", own, {}}, 8));
  EXPECT_EQ(b2["messages"], own);
  o.protocol = Protocol::completions;
  EXPECT_THROW((void)protocol::prompt_request_body(o, "m", PromptRequest{"", own, {}}, 8),
               std::invalid_argument);
}

TEST(PromptRequestBody, PoolExtraBodyReachesPlainPromptsAndBatches) {
  PoolOptions o;
  o.extra_body = {{"max_tokens", 9}, {"seed", 4}};
  auto body = json::parse(protocol::prompt_body(o, "m", "p", 100));
  EXPECT_EQ(body["max_tokens"], 9);  // the user's field replaces the pool's own
  EXPECT_EQ(body["seed"], 4);
  const std::vector<std::string> prompts{"a", "b"};
  body = json::parse(protocol::batch_body(o, "m", prompts, 100, {{"seed", 5}}));
  EXPECT_EQ(body["seed"], 5);
  EXPECT_EQ(body["prompt"], json(prompts));
}

TEST(Envelope, RoundTripsBothKinds) {
  const Request raw{"/v1/embeddings", {{"input", "x"}}};
  auto back = protocol::decode_envelope(encode_request(raw));
  ASSERT_TRUE(std::holds_alternative<Request>(back));
  EXPECT_EQ(std::get<Request>(back).path, raw.path);
  EXPECT_EQ(std::get<Request>(back).body, raw.body);
  back = protocol::decode_envelope(encode_request(PromptRequest{"hello", nullptr, {{"n", 2}}}));
  ASSERT_TRUE(std::holds_alternative<PromptRequest>(back));
  EXPECT_EQ(std::get<PromptRequest>(back).prompt, "hello");
  EXPECT_EQ(std::get<PromptRequest>(back).params, json({{"n", 2}}));
  EXPECT_THROW((void)protocol::decode_envelope("plain prompt"), std::invalid_argument);
}

TEST(RequestReply, KeepsIdentityReasoningAndUsageApart) {
  Response r;
  protocol::decode_request_reply("/v1/chat/completions",
                                 R"({"id":"chatcmpl-7","model":"served","choices":[{"index":0,
      "message":{"content":"","reasoning":"think"},"finish_reason":"stop"}],
      "usage":{"prompt_tokens":1,"completion_tokens":5,"total_tokens":6,
      "completion_tokens_details":{"reasoning_tokens":4}}})",
                                 r);
  ASSERT_TRUE(r.success) << r.error;
  EXPECT_EQ(r.response_id, "chatcmpl-7");
  EXPECT_EQ(r.model, "served");
  EXPECT_EQ(r.reasoning, "think");
  EXPECT_EQ(r.finish_reason, "stop");
  EXPECT_EQ(r.usage, (Usage{1, 5, 6, 4}));
  // Embeddings and any other JSON answer succeed: the body is the answer.
  Response e;
  protocol::decode_request_reply("/v1/embeddings", R"({"data":[],"usage":{"prompt_tokens":3}})", e);
  EXPECT_TRUE(e.success);
  EXPECT_EQ(e.usage.prompt_tokens, 3);
  Response bad;
  protocol::decode_request_reply("/v1/embeddings", "<html>", bad);
  EXPECT_FALSE(bad.success);
  EXPECT_EQ(bad.kind, FailureKind::decode);
}

TEST(BatchReply, LlamaServerArrayInAnyOrder) {
  std::vector<Response> out(3);
  protocol::decode_batch_reply(R"([
      {"id":"c-2","choices":[{"index":2,"text":"c"}],"usage":{"total_tokens":3}},
      {"id":"c-0","choices":[{"index":0,"text":"a","finish_reason":"stop"}],"usage":{"total_tokens":1}},
      {"id":"c-1","choices":[{"index":1,"text":"b"}],"usage":{"total_tokens":2}}])",
                               out);
  for (const auto& r : out) EXPECT_TRUE(r.success) << r.error;
  EXPECT_EQ(out[0].text, "a");
  EXPECT_EQ(out[0].finish_reason, "stop");
  EXPECT_EQ(out[0].response_id, "c-0");
  EXPECT_EQ(out[1].text, "b");
  EXPECT_EQ(out[2].text, "c");
  EXPECT_EQ(out[0].usage.total_tokens, 6);  // the request's, summed, counted once
  EXPECT_EQ(out[1].usage.total_tokens, 0);
  // Without `index`, the position over the array is the prompt.
  protocol::decode_batch_reply(R"([{"choices":[{"text":"x"}]},{"choices":[{"text":"y"}]},
      {"choices":[{"text":"z"}]}])",
                               out);
  EXPECT_EQ(out[2].text, "z");
  protocol::decode_batch_reply(R"([{"no":"choices"}])", out);
  EXPECT_EQ(out[0].error, "response has no choices (keys: no)");
}

TEST(ErrorMessage, HtmlPagesAreNamedByTheirTitle) {
  EXPECT_EQ(protocol::error_message("<html>\r\n<head><title>502 Bad Gateway</title></head>"
                                    "<body><center><h1>502 Bad Gateway</h1></center>"
                                    "<hr><center>nginx</center></body></html>"),
            "non-JSON error page: 502 Bad Gateway");
  EXPECT_EQ(protocol::error_message("<!DOCTYPE html><h1>Oops</h1>"), "non-JSON error page: Oops");
  EXPECT_EQ(protocol::error_message("<p>nothing</p>"), "non-JSON error page: HTML page");
}

}  // namespace
}  // namespace swarm
