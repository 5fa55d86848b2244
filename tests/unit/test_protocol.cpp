// Protocol codecs: request bodies, every reply shape vLLM (and the seed's /generate) produces,
// every malformed reply, and the seed's max_tokens and batch-timeout rules.

#include "swarm/protocol.hpp"

#include <cstdlib>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace swarm {
namespace {

using nlohmann::json;

Response decode(Protocol p, std::string_view body) {
  Response r;
  protocol::decode_prompt_reply(p, body, r);
  return r;
}

TEST(ProtocolBody, ChatCarriesModelSystemPromptMaxTokensTemperature) {
  PoolOptions o;
  o.system_prompt = "be brief";
  o.temperature = 0.25;
  const auto body = json::parse(protocol::prompt_body(o, "m1", "hello \"world\"", 77));
  EXPECT_EQ(body["model"], "m1");
  EXPECT_EQ(body["max_tokens"], 77);
  EXPECT_DOUBLE_EQ(body["temperature"].get<double>(), 0.25);
  ASSERT_EQ(body["messages"].size(), 2u);
  EXPECT_EQ(body["messages"][0], json({{"role", "system"}, {"content", "be brief"}}));
  EXPECT_EQ(body["messages"][1], json({{"role", "user"}, {"content", "hello \"world\""}}));
}

TEST(ProtocolBody, ChatWithoutSystemOrTemperatureOrModel) {
  const auto body = json::parse(protocol::prompt_body(PoolOptions{}, "", "p", 5));
  EXPECT_FALSE(body.contains("model"));
  EXPECT_FALSE(body.contains("temperature"));
  EXPECT_EQ(body["max_tokens"], 5);  // always sent
  ASSERT_EQ(body["messages"].size(), 1u);
}

TEST(ProtocolBody, CompletionsAndGenerateSendPrompt) {
  PoolOptions o;
  o.protocol = Protocol::completions;
  auto body = json::parse(protocol::prompt_body(o, "m", "p1", 9));
  EXPECT_EQ(body["prompt"], "p1");
  EXPECT_EQ(body["max_tokens"], 9);
  o.protocol = Protocol::generate;
  body = json::parse(protocol::prompt_body(o, "", "p2", 9));
  EXPECT_EQ(body["prompt"], "p2");
  EXPECT_EQ(protocol::route(Protocol::generate), "/generate");
  EXPECT_EQ(protocol::route(Protocol::chat), "/v1/chat/completions");
  EXPECT_EQ(protocol::route(Protocol::completions), "/v1/completions");
}

TEST(ProtocolBody, BatchAndEmbeddingsCarryLists) {
  const std::vector<std::string> prompts = {"a", "b", "c"};
  const auto batch = json::parse(protocol::batch_body(PoolOptions{}, "m", prompts, 12));
  EXPECT_EQ(batch["prompt"], json(prompts));
  EXPECT_EQ(batch["max_tokens"], 12);
  const auto emb = json::parse(protocol::embeddings_body("e", prompts));
  EXPECT_EQ(emb["input"], json(prompts));
  EXPECT_EQ(emb["model"], "e");
}

TEST(ProtocolBody, InvalidUtf8InPromptDoesNotThrow) {
  const std::string bad = "caf\xC3";  // truncated multi-byte sequence
  EXPECT_NO_THROW(json::parse(protocol::prompt_body(PoolOptions{}, "m", bad, 1)));
}

TEST(ProtocolReply, ChatContentUsageFinishReason) {
  const auto r = decode(Protocol::chat, R"({"choices":[{"index":0,"message":{"role":"assistant",
      "content":"hi"},"finish_reason":"length"}],"usage":{"prompt_tokens":3,
      "completion_tokens":4,"total_tokens":7}})");
  ASSERT_TRUE(r.success) << r.error;
  EXPECT_EQ(r.text, "hi");
  EXPECT_EQ(r.finish_reason, "length");
  EXPECT_EQ(r.usage, (Usage{3, 4, 7}));
}

TEST(ProtocolReply, ChatFallsBackToReasoningThenReasoningContent) {
  auto r =
      decode(Protocol::chat, R"({"choices":[{"message":{"content":null,"reasoning":"thought"}}]})");
  ASSERT_TRUE(r.success);
  EXPECT_EQ(r.text, "thought");
  r = decode(Protocol::chat,
             R"({"choices":[{"message":{"content":"","reasoning_content":"rc"}}]})");
  EXPECT_EQ(r.text, "rc");
  r = decode(Protocol::chat, R"({"choices":[{"message":{"content":"c","reasoning":"r"}}]})");
  EXPECT_EQ(r.text, "c");
  r = decode(Protocol::chat, R"({"choices":[{"message":{"content":null}}]})");
  EXPECT_TRUE(r.success);  // an empty answer is still an answer
  EXPECT_EQ(r.text, "");
}

TEST(ProtocolReply, CompletionsAndGenerate) {
  auto r = decode(Protocol::completions, R"({"choices":[{"text":"t","finish_reason":"stop"}]})");
  ASSERT_TRUE(r.success);
  EXPECT_EQ(r.text, "t");
  r = decode(Protocol::generate, R"({"response":"seed"})");
  EXPECT_EQ(r.text, "seed");
  r = decode(Protocol::generate, R"({"text":"alt"})");
  EXPECT_EQ(r.text, "alt");
  r = decode(Protocol::generate, R"({"text":["vllm demo"]})");
  EXPECT_EQ(r.text, "vllm demo");
}

TEST(ProtocolReply, MalformedBodiesAreFailuresWithReasons) {
  auto r = decode(Protocol::chat, "{not json");
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.error.rfind("malformed JSON in response", 0), 0u) << r.error;
  EXPECT_EQ(r.kind, FailureKind::decode);
  r = decode(Protocol::chat, "");
  EXPECT_EQ(r.error, "empty response body");
  r = decode(Protocol::chat, R"({"id":"x","object":"chat.completion"})");
  EXPECT_EQ(r.error, "response has no choices (keys: id, object)");
  r = decode(Protocol::chat, R"({"choices":[]})");
  EXPECT_EQ(r.error, "response has no choices (keys: choices)");
  r = decode(Protocol::chat, R"({"choices":[{"text":"x"}]})");
  EXPECT_EQ(r.error, "response choice has no message");
  r = decode(Protocol::chat, R"([1,2])");
  EXPECT_EQ(r.error, "response has no choices (keys: array)");
  r = decode(Protocol::generate, R"({"answer":"x"})");
  EXPECT_EQ(r.error, "response has no 'response' or 'text' (keys: answer)");
  EXPECT_EQ(r.kind, FailureKind::decode);
  EXPECT_TRUE(r.text.empty());
}

TEST(ProtocolReply, BatchMatchesChoicesByIndexAndCountsUsageOnce) {
  std::vector<Response> out(3);
  protocol::decode_batch_reply(R"({"choices":[{"index":2,"text":"c"},{"index":0,"text":"a"},
      {"index":1,"text":"b","finish_reason":"length"}],"usage":{"total_tokens":30}})",
                               out);
  EXPECT_EQ(out[0].text, "a");
  EXPECT_EQ(out[1].text, "b");
  EXPECT_EQ(out[1].finish_reason, "length");
  EXPECT_EQ(out[2].text, "c");
  for (const auto& r : out) EXPECT_TRUE(r.success);
  EXPECT_EQ(out[0].usage.total_tokens, 30);
  EXPECT_EQ(out[1].usage.total_tokens, 0);
}

TEST(ProtocolReply, BatchMissingChoiceFailsOnlyThatPrompt) {
  std::vector<Response> out(3);
  protocol::decode_batch_reply(R"({"choices":[{"index":0,"text":"a"},{"index":2,"text":"c"}]})",
                               out);
  EXPECT_TRUE(out[0].success);
  EXPECT_EQ(out[0].kind, FailureKind::none);
  EXPECT_FALSE(out[1].success);
  EXPECT_EQ(out[1].error, "batch reply has no choice for prompt 1 of 3");
  EXPECT_EQ(out[1].kind, FailureKind::decode);
  EXPECT_TRUE(out[2].success);
  protocol::decode_batch_reply("oops", out);
  for (const auto& r : out) {
    EXPECT_FALSE(r.success);
    EXPECT_EQ(r.kind, FailureKind::decode);
  }
  // A choice found clears an earlier failure, kind included.
  protocol::decode_batch_reply(R"({"choices":[{"index":0,"text":"a"}]})", std::span(out).first(1));
  EXPECT_TRUE(out[0].success);
  EXPECT_EQ(out[0].kind, FailureKind::none);
}

TEST(ProtocolError, BothVllmShapesFastApiDetailAndPlainText) {
  EXPECT_EQ(protocol::error_message(
                R"({"error":{"message":"too long","type":"BadRequestError","code":400}})"),
            "too long");
  EXPECT_EQ(
      protocol::error_message(R"({"object":"error","message":"old shape","type":"x","code":400})"),
      "old shape");
  EXPECT_EQ(protocol::error_message(R"({"detail":"Not Found"})"), "Not Found");
  EXPECT_EQ(protocol::error_message("Bad Gateway\n"), "Bad Gateway ");
  EXPECT_EQ(protocol::error_message(std::string(300, 'x')), std::string(200, 'x') + "...");
  // An 8 MB message is cut (at a UTF-8 boundary) before it is copied into every failure.
  std::string huge = std::string(protocol::kMaxErrorMessage - 1, 'a') + "\xc3\xa9" +
                     std::string(8 << 20, 'b');
  const std::string body = R"({"error":{"message":")" + huge + R"("}})";
  ::testing::internal::CaptureStderr();
  const auto cut = protocol::error_message(body);
  EXPECT_EQ(protocol::error_message(body), cut);  // the same message again: not logged again
  const std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(cut, std::string(protocol::kMaxErrorMessage - 1, 'a') + "... (" +
                     std::to_string(huge.size()) + " bytes in all)");
  // The full text is in the log, once.
  const auto first = log.find(huge);
  ASSERT_NE(first, std::string::npos) << log.substr(0, 300);
  EXPECT_EQ(log.find(huge, first + 1), std::string::npos);
  EXPECT_NE(log.find("error message of " + std::to_string(huge.size()) + " bytes is cut"),
            std::string::npos);
}

TEST(ProtocolModels, DecodesListAndRejectsGarbage) {
  const auto m = protocol::decode_models(
      R"({"object":"list","data":[{"id":"a","max_model_len":4096},{"id":"b"}]})");
  ASSERT_TRUE(m);
  ASSERT_EQ(m->size(), 2u);
  EXPECT_EQ((*m)[0].id, "a");
  EXPECT_EQ((*m)[0].max_model_len, 4096);
  EXPECT_EQ((*m)[1].max_model_len, 0);
  EXPECT_FALSE(protocol::decode_models("[]"));
  EXPECT_FALSE(protocol::decode_models("nope"));
}

TEST(ProtocolEmbeddings, ByIndexWithErrors) {
  std::vector<std::vector<double>> v;
  Usage u;
  EXPECT_EQ(protocol::decode_embeddings(R"({"data":[{"index":1,"embedding":[3,4]},
      {"index":0,"embedding":[1.5]}],"usage":{"prompt_tokens":2,"total_tokens":2}})",
                                        2, v, u),
            "");
  EXPECT_EQ(v[0], std::vector<double>{1.5});
  EXPECT_EQ(v[1], (std::vector<double>{3, 4}));
  EXPECT_EQ(u.total_tokens, 2);
  EXPECT_EQ(protocol::decode_embeddings(R"({"data":[{"index":0,"embedding":[1]}]})", 2, v, u),
            "embeddings response has no vector for input 1 of 2");
  EXPECT_EQ(protocol::decode_embeddings(R"({"data":[{"embedding":["x"]}]})", 1, v, u),
            "embedding 0 holds a non-number");
  EXPECT_EQ(protocol::decode_embeddings(R"({"x":1})", 1, v, u),
            "embeddings response has no data (keys: x)");
}

TEST(ProtocolRules, DynamicMaxTokensIsTheSeedsFormula) {
  // min(cap, max(128, context - chars/4 - buffer))
  EXPECT_EQ(protocol::dynamic_max_tokens(512, 32768, 400, 512), 512);
  EXPECT_EQ(protocol::dynamic_max_tokens(4096, 2048, 4000, 512), 2048 - 1000 - 512);
  EXPECT_EQ(protocol::dynamic_max_tokens(4096, 2048, 8000, 512), 128);
  EXPECT_EQ(protocol::dynamic_max_tokens(100, 2048, 8000, 512), 100);
}

TEST(ProtocolRules, BatchTimeoutScalesWithWavesAndCap) {
  PoolOptions o;
  o.timeout = Seconds(300);
  o.batch_concurrency = 256;
  o.timeout_per_sequence = Seconds(60);
  EXPECT_DOUBLE_EQ(protocol::batch_timeout(o, 1).count(), 300);     // 1 wave: 60 < 300
  EXPECT_DOUBLE_EQ(protocol::batch_timeout(o, 1024).count(), 300);  // 4 waves: 240
  EXPECT_DOUBLE_EQ(protocol::batch_timeout(o, 1025).count(), 300);  // 5 waves: 300
  o.timeout_per_sequence = Seconds(100);
  EXPECT_DOUBLE_EQ(protocol::batch_timeout(o, 513).count(), 300);   // 3 waves: 300
  EXPECT_DOUBLE_EQ(protocol::batch_timeout(o, 1000).count(), 400);  // 4 waves: 400
  o.batch_timeout_cap = Seconds(350);
  EXPECT_DOUBLE_EQ(protocol::batch_timeout(o, 1000).count(), 350);
}

class PoolOptionsEnv : public ::testing::Test {
 protected:
  void TearDown() override {
    for (const char* v : {"AURORA_SWARM_MAX_TOKENS", "AURORA_SWARM_MAX_TOKENS_AGGREGATION",
                          "AURORA_SWARM_MODEL_MAX_CONTEXT", "AURORA_SWARM_TIMEOUT_PER_SEQUENCE",
                          "ASWARM_API_KEY", "OPENAI_API_KEY"}) {
      ::unsetenv(v);
    }
  }
};

TEST_F(PoolOptionsEnv, SeedVariablesOverrideDefaults) {
  ::setenv("AURORA_SWARM_MAX_TOKENS", "1000", 1);
  ::setenv("AURORA_SWARM_MODEL_MAX_CONTEXT", "8192", 1);
  ::setenv("AURORA_SWARM_TIMEOUT_PER_SEQUENCE", "12.5", 1);
  auto o = PoolOptions::from_environment();
  EXPECT_EQ(o.max_tokens, 1000);
  EXPECT_EQ(o.aggregation_cap(), 2000);  // 2x when not set, as in the seed
  EXPECT_EQ(o.model_max_context, 8192);
  EXPECT_DOUBLE_EQ(o.timeout_per_sequence.count(), 12.5);
  ::setenv("AURORA_SWARM_MAX_TOKENS_AGGREGATION", "3000", 1);
  EXPECT_EQ(PoolOptions::from_environment().aggregation_cap(), 3000);
}

TEST_F(PoolOptionsEnv, MalformedVariableNamesItself) {
  ::setenv("AURORA_SWARM_MAX_TOKENS", "12abc", 1);
  try {
    (void)PoolOptions::from_environment();
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(),
                 "environment variable AURORA_SWARM_MAX_TOKENS='12abc' is not a positive number");
  }
  ::setenv("AURORA_SWARM_MAX_TOKENS", "-5", 1);
  EXPECT_THROW((void)PoolOptions::from_environment(), std::invalid_argument);
}

TEST_F(PoolOptionsEnv, ApiKeyFromAswarmThenOpenAi) {
  ::setenv("OPENAI_API_KEY", "openai", 1);
  EXPECT_EQ(PoolOptions::from_environment().api_key, "openai");
  ::setenv("ASWARM_API_KEY", "aswarm", 1);
  EXPECT_EQ(PoolOptions::from_environment().api_key, "aswarm");
  PoolOptions explicit_key;
  explicit_key.api_key = "flag";
  EXPECT_EQ(PoolOptions::from_environment(explicit_key).api_key, "flag");
}

TEST(PoolOptionsValidate, RejectsNonsense) {
  PoolOptions o;
  EXPECT_NO_THROW(o.validate());
  o.concurrency = 0;
  EXPECT_THROW(o.validate(), std::invalid_argument);
  o = PoolOptions{};
  o.retries = -1;
  EXPECT_THROW(o.validate(), std::invalid_argument);
  EXPECT_EQ(protocol_from_string("completions"), Protocol::completions);
  EXPECT_THROW(protocol_from_string("grpc"), std::invalid_argument);
}

TEST(ProtocolReply, DeepJsonIsAFailedResponseNotACrash) {
  // A hostile server's 100,000-deep reply: refused while parsing (nothing deep is built, so no
  // recursive copy, compare or dump can overflow the stack later).
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  for (const auto protocol : {Protocol::chat, Protocol::completions, Protocol::generate}) {
    const auto r = decode(protocol, deep);
    EXPECT_FALSE(r.success);
    EXPECT_EQ(r.kind, FailureKind::decode);
    EXPECT_EQ(r.error, "response refused: JSON nested deeper than 256 levels");
  }
  Response reply;
  protocol::decode_request_reply("/v1/chat/completions", deep, reply);
  EXPECT_EQ(reply.error, "response refused: JSON nested deeper than 256 levels");
  std::vector<Response> batch(2);
  protocol::decode_batch_reply(deep, batch);
  EXPECT_FALSE(batch[1].success);
  EXPECT_FALSE(protocol::decode_models(deep).has_value());
  EXPECT_FALSE(protocol::error_message(deep).empty());
  // 256 levels are still JSON.
  std::string ok = R"({"choices":[{"message":{"content":"x"}}],"extra":)";
  ok += std::string(253, '[') + std::string(253, ']') + "}";
  EXPECT_TRUE(decode(Protocol::chat, ok).success) << decode(Protocol::chat, ok).error;
}

}  // namespace
}  // namespace swarm
