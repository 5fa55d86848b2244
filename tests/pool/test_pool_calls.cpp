// AgentPool calls with the seed's semantics, protocols, model metadata and sub-pool mapping.

#include <set>
#include <string>
#include <vector>

#include "pool_test_util.hpp"
#include "swarm/protocol.hpp"

namespace swarm::pool_test {
namespace {

std::vector<std::string> numbered(std::size_t n) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < n; ++i) out.push_back("p" + std::to_string(i));
  return out;
}

TEST(PoolCalls, PostReturnsTheAnswerWithMetadata) {
  MockProcess mock({"--count", "2"});
  AgentPool pool(mock.agents(), test_options());
  const Response r = pool.post(1, "hello there");
  ASSERT_TRUE(r.success) << r.error;
  EXPECT_EQ(r.text, "completion: hello there");
  EXPECT_EQ(r.agent_index, 1);
  EXPECT_EQ(r.http_status, 200);
  EXPECT_EQ(r.attempts, 1);
  EXPECT_EQ(r.finish_reason, "stop");
  EXPECT_GT(r.usage.total_tokens, 0);
  EXPECT_GT(r.latency.count(), 0.0);
  const auto m = metrics_of(mock);
  EXPECT_EQ(requests(m, mock, 1, "/v1/chat/completions"), 1);
  EXPECT_EQ(requests(m, mock, 0, "/v1/chat/completions"), 0);
}

TEST(PoolCalls, SendAllSendsPromptIToAgentIModNInInputOrder) {
  TempDir dir;
  MockProcess mock(concat({"--count", "3"}, script_mode(dir)));
  AgentPool pool(mock.agents(), test_options());
  const auto prompts = numbered(10);
  const auto results = pool.send_all(prompts);
  ASSERT_EQ(results.size(), 10u);
  for (std::size_t i = 0; i < 10; ++i) {
    EXPECT_TRUE(results[i].success) << results[i].error;
    EXPECT_EQ(results[i].text, "agent " + std::to_string(i % 3) + ": p" + std::to_string(i));
    EXPECT_EQ(results[i].agent_index, static_cast<std::int64_t>(i % 3));
  }
}

TEST(PoolCalls, BroadcastSendsOnePromptToEveryAgent) {
  TempDir dir;
  MockProcess mock(concat({"--count", "5"}, script_mode(dir)));
  AgentPool pool(mock.agents(), test_options());
  const auto results = pool.broadcast_prompt("same");
  ASSERT_EQ(results.size(), 5u);
  for (std::size_t k = 0; k < 5; ++k)
    EXPECT_EQ(results[k].text, "agent " + std::to_string(k) + ": same");
}

TEST(PoolCalls, SendAllBatchedUsesListRequestsAndRestoresOrder) {
  TempDir dir;
  MockProcess mock(concat({"--count", "3"}, script_mode(dir)));
  AgentPool pool(mock.agents(), test_options());
  const auto prompts = numbered(10);
  const auto results = pool.send_all_batched(prompts, 2);
  ASSERT_EQ(results.size(), 10u);
  std::int64_t completion_tokens = 0;
  for (std::size_t i = 0; i < 10; ++i) {
    ASSERT_TRUE(results[i].success) << results[i].error;
    EXPECT_EQ(results[i].text, "agent " + std::to_string(i % 3) + ": p" + std::to_string(i));
    completion_tokens += results[i].usage.completion_tokens;
  }
  EXPECT_GT(completion_tokens, 0);
  // Agent 0 has 4 prompts -> 2 requests of 2; agents 1 and 2 have 3 -> 2 requests each.
  const auto m = metrics_of(mock);
  for (std::size_t a = 0; a < 3; ++a) {
    EXPECT_EQ(requests(m, mock, a, "/v1/completions"), 2) << "agent " << a;
    EXPECT_EQ(requests(m, mock, a, "/v1/chat/completions"), 0);
  }
  EXPECT_THROW(pool.send_all_batched(prompts, 1025), std::invalid_argument);
  EXPECT_THROW(pool.send_all_batched(prompts, 0), std::invalid_argument);
}

TEST(PoolCalls, EmbedAllIsDeterministicPerTextAndOrdered) {
  MockProcess mock({"--count", "2", "--embedding-dim", "8"});
  AgentPool pool(mock.agents(), test_options());
  const std::vector<std::string> texts = {"alpha", "beta", "alpha", "gamma", "beta"};
  const auto out = pool.embed_all(texts, 2);
  ASSERT_EQ(out.size(), texts.size());
  for (const auto& e : out) {
    ASSERT_TRUE(e.response.success) << e.response.error;
    EXPECT_EQ(e.vector.size(), 8u);
  }
  EXPECT_EQ(out[0].vector, out[2].vector);  // same text, different agents
  EXPECT_EQ(out[1].vector, out[4].vector);
  EXPECT_NE(out[0].vector, out[1].vector);
  EXPECT_EQ(out[1].response.agent_index, 1);
}

TEST(PoolCalls, CompletionsAndGenerateProtocols) {
  MockProcess mock({"--count", "1"});
  auto o = test_options();
  o.model.clear();  // generate servers have no model names; completions discovers it
  o.protocol = Protocol::completions;
  EXPECT_EQ(AgentPool(mock.agents(), o).post(0, "x").text, "completion: x");
  o.protocol = Protocol::generate;
  AgentPool gen(mock.agents(), o);
  const auto r = gen.post(0, "y");
  ASSERT_TRUE(r.success) << r.error;
  EXPECT_EQ(r.text, "completion: y");
  // Only the completions pool asked /v1/models; /generate servers have none to ask.
  EXPECT_EQ(requests(metrics_of(mock), mock, 0, "/v1/models"), 1);
}

TEST(PoolCalls, ReasoningModelsAnswerThroughReasoning) {
  MockProcess mock({"--count", "1", "--reasoning"});
  AgentPool pool(mock.agents(), test_options());
  EXPECT_EQ(pool.post(0, "why").text, "completion: why");
}

TEST(PoolCalls, ModelAndContextComeFromV1ModelsOnceAndSizeMaxTokens) {
  MockProcess mock({"--count", "2", "--model", "served-model", "--max-model-len", "1000"});
  auto o = test_options();
  o.model.clear();
  o.model_max_context = 0;
  AgentPool pool(mock.agents(), o);
  EXPECT_EQ(pool.model(), "served-model");
  EXPECT_EQ(pool.model_context(), 1000);
  // 2000 chars ~ 500 tokens: min(512, max(128, 1000 - 500 - 512)) = 128.
  EXPECT_EQ(pool.max_tokens_for(2000), 128);
  EXPECT_EQ(pool.max_tokens_for(0), 512 - 24);  // min(512, 1000 - 0 - 512) = 488
  EXPECT_EQ(pool.max_tokens_for(0, {.aggregation = true}), 488);
  EXPECT_EQ(pool.max_tokens_for(2000, {.max_tokens = 7}), 7);
  pool.post(0, std::string(2000, 'a'));
  pool.post(1, "b");
  const auto m = metrics_of(mock);
  EXPECT_EQ(requests(m, mock, 0, "/v1/models") + requests(m, mock, 1, "/v1/models"), 1);
}

TEST(PoolCalls, ModelComesFromAnyEndpointWhenTheFirstIsDown) {
  // The first endpoint refuses connections: the model used to stay unknown (requests went out
  // without "model", sized for the 131072 fallback).
  MockProcess mock({"--count", "1", "--model", "served-model", "--max-model-len", "1000"});
  auto o = test_options();
  o.model.clear();
  o.model_max_context = 0;
  const RefusedPort down;
  std::vector<Endpoint> endpoints = {Endpoint{.host = "127.0.0.1", .port = down.port()}};
  for (const auto& e : mock.agents()) endpoints.push_back(e);
  AgentPool pool(endpoints, o);
  EXPECT_EQ(pool.model(), "served-model");
  EXPECT_EQ(pool.model_context(), 1000);
  EXPECT_TRUE(pool.model_known());
  // Nothing answers: the fallback, and model_known() says so; adopt_model() fills it in.
  const RefusedPort nobody;
  AgentPool lost({Endpoint{.host = "127.0.0.1", .port = nobody.port()}}, o);
  EXPECT_FALSE(lost.model_known());
  EXPECT_EQ(lost.model_context(), 131072);
  lost.adopt_model("from-rank-0", 4096);
  EXPECT_EQ(lost.model(), "from-rank-0");
  EXPECT_EQ(lost.model_context(), 4096);
}

TEST(PoolCalls, MaxTokensIsSentAndHonoured) {
  // The mock truncates to max_tokens and reports finish_reason "length".
  MockProcess mock({"--count", "1", "--mode", "fixed", "--text",
                    "one two three four five six seven eight nine ten"});
  auto o = test_options();
  o.max_tokens = 3;
  AgentPool pool(mock.agents(), o);
  const auto r = pool.post(0, "count");
  ASSERT_TRUE(r.success) << r.error;
  EXPECT_EQ(r.finish_reason, "length");
  EXPECT_EQ(r.usage.completion_tokens, 3);
  // Model and context were configured: no /v1/models request.
  EXPECT_EQ(requests(metrics_of(mock), mock, 0, "/v1/models"), 0);
}

TEST(PoolCalls, TokenEstimateCountsCodePointsAsTheSeed) {
  // Issue 18: a 6,000-character CJK prompt (18,000 bytes) was budgeted as 4,500 tokens and got
  // max_tokens 128; the seed's len(prompt) // 4 is 1,500: min(512, max(128, 2600 - 1500 - 512))
  // = 512. The mock answers 600 words truncated to max_tokens.
  std::string words;
  for (int i = 0; i < 600; ++i) words += "w ";
  MockProcess mock({"--count", "1", "--mode", "fixed", "--text", words});
  auto o = test_options();
  o.model_max_context = 2600;
  o.max_tokens = 512;
  o.context_buffer = 512;
  AgentPool pool(mock.agents(), o);
  std::string cjk;
  for (int i = 0; i < 6000; ++i) cjk += "\xE6\xBC\xA2";  // U+6F22
  EXPECT_EQ(pool.max_tokens_for(protocol::prompt_chars(PromptRequest{.prompt = cjk})), 512);
  const auto r = pool.post(0, cjk);
  ASSERT_TRUE(r.success) << r.error;
  EXPECT_EQ(r.usage.completion_tokens, 512);
}

TEST(PoolSubPools, IndexKOfASubPoolReachesItsKthEndpoint) {
  TempDir dir;
  MockProcess mock(concat({"--count", "4", "--roles", "a,b"}, script_mode(dir)));
  AgentPool pool(mock.agents(), test_options());
  const AgentPool b = pool.by_tag("role", "b");  // agents 1 and 3
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b.endpoint(0).port, mock.port(1));
  AgentPool sub = b;
  EXPECT_EQ(sub.post(0, "x").text, "agent 1: x");
  EXPECT_EQ(sub.post(1, "x").text, "agent 3: x");
  EXPECT_EQ(sub.post(1, "x").agent_index, 1);  // the index within the sub-pool
  // Batched and embedding calls too (the Python seed once sent these to the parent's agents).
  const auto batched = sub.send_all_batched(numbered(4), 1);
  EXPECT_EQ(batched[0].text, "agent 1: p0");
  EXPECT_EQ(batched[1].text, "agent 3: p1");
  EXPECT_EQ(batched[2].text, "agent 1: p2");
  const auto all = sub.send_all(numbered(3));
  EXPECT_EQ(all[1].text, "agent 3: p1");

  const std::vector<std::size_t> picks = {3, 0};
  AgentPool chosen = pool.select(picks);
  EXPECT_EQ(chosen.post(0, "y").text, "agent 3: y");
  EXPECT_EQ(chosen.post(1, "y").text, "agent 0: y");
  AgentPool middle = pool.slice(1, 3);
  ASSERT_EQ(middle.size(), 2u);
  EXPECT_EQ(middle.post(1, "z").text, "agent 2: z");
  EXPECT_EQ(pool.slice(3, 100).size(), 1u);
  EXPECT_EQ(pool.slice(5, 2).size(), 0u);
  EXPECT_EQ(pool.by_tag("role", "nobody").size(), 0u);
  const std::vector<std::size_t> bad = {4};
  EXPECT_THROW((void)pool.select(bad), std::out_of_range);
  EXPECT_THROW(pool.post(4, "x"), std::out_of_range);
}

TEST(PoolSubPools, SampleIsReproducibleAndDistinct) {
  MockProcess mock({"--count", "6"});
  AgentPool pool(mock.agents(), test_options());
  const auto a = pool.sample(4, 99);
  const auto b = pool.sample(4, 99);
  ASSERT_EQ(a.size(), 4u);
  std::set<std::uint16_t> ports;
  for (std::size_t k = 0; k < 4; ++k) {
    EXPECT_EQ(a.endpoint(k), b.endpoint(k));
    ports.insert(a.endpoint(k).port);
  }
  EXPECT_EQ(ports.size(), 4u);
  EXPECT_EQ(pool.sample(10, 1).size(), 6u);
  // Sub-pools share the engine: one engine's counters see the sub-pool's request.
  AgentPool s = pool.sample(1, 5);
  s.post(0, "x");
  EXPECT_EQ(pool.stats().completed, 1u);
}

}  // namespace
}  // namespace swarm::pool_test
