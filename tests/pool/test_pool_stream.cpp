// Streamed requests (CallOptions::stream, "stream": true bodies) against the real mock, whose
// token latency model (--latency tokens:TTFT:PER_TOKEN) paces the events: the decoded answer
// equals the unstreamed one, TTFT and inter-token latency follow the configured model (loose
// bounds and orderings only: the machine is shared), and the idle timeout ends a stalled stream.

#include <algorithm>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "pool_test_util.hpp"
#include "swarm/request.hpp"

namespace swarm::pool_test {
namespace {

using nlohmann::json;

Response wait_for(AgentPool& pool, std::optional<Response>& slot) {
  while (!slot) pool.poll(std::chrono::milliseconds(50));
  return std::move(*slot);
}

double median(std::vector<float> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

std::vector<json> recorded(const std::filesystem::path& path) {
  std::vector<json> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) out.push_back(json::parse(line));
  return out;
}

TEST(PoolStream, TtftAndInterTokenTimesFollowTheMocksTokenModel) {
  // 150 ms to the first token, then 15 ms per token, 8 tokens per answer.
  MockProcess mock({"--count", "2", "--latency", "tokens:150:15", "--output-tokens", "fixed:8"});
  AgentPool pool(mock.agents(), test_options());
  const std::vector<std::string> prompts = {"one", "two", "three", "four"};
  const auto streamed = pool.send_all(prompts, {.stream = true});
  const auto plain = pool.send_all(prompts);
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    SCOPED_TRACE(i);
    const Response& s = streamed[i];
    ASSERT_TRUE(s.success) << s.error;
    EXPECT_EQ(s.text, plain[i].text);    // the events join to the unstreamed answer
    EXPECT_EQ(s.usage, plain[i].usage);  // include_usage was asked for
    EXPECT_EQ(s.usage.completion_tokens, 8);
    EXPECT_EQ(s.finish_reason, plain[i].finish_reason);
    EXPECT_FALSE(s.response_id.empty());
    ASSERT_EQ(s.itl.size(), 7u);  // one gap per token after the first
    // Timers never fire early; the upper bounds leave room for a loaded machine.
    EXPECT_GE(s.ttft.count(), 0.140);
    EXPECT_LT(s.ttft.count(), 3.0);
    EXPECT_GE(median(s.itl), 0.012);
    EXPECT_LT(median(s.itl), 0.5);
    EXPECT_GT(s.ttft.count(), 3 * median(s.itl));  // the first token waits ~10x longer
    EXPECT_GE(s.latency.count(), s.ttft.count() + 6 * 0.012);
    // Unstreamed requests carry no streaming times.
    EXPECT_EQ(plain[i].ttft.count(), 0.0);
    EXPECT_TRUE(plain[i].itl.empty());
  }
}

TEST(PoolStream, ReasoningAndCompletionsStreamsDecode) {
  MockProcess reasoning({"--count", "1", "--reasoning", "--output-tokens", "fixed:4"});
  AgentPool chat(reasoning.agents(), test_options());
  const Response r = chat.post(0, "why", {.stream = true});
  ASSERT_TRUE(r.success) << r.error;
  EXPECT_EQ(r.reasoning, chat.post(0, "why").reasoning);
  EXPECT_EQ(r.text, r.reasoning);  // content is empty: the answer falls back to the reasoning
  EXPECT_EQ(r.itl.size(), 3u);

  MockProcess mock({"--count", "1", "--output-tokens", "fixed:5"});
  auto o = test_options();
  o.protocol = Protocol::completions;
  AgentPool completions(mock.agents(), o);
  const Response c = completions.post(0, "p", {.stream = true});
  ASSERT_TRUE(c.success) << c.error;
  EXPECT_EQ(c.text, completions.post(0, "p").text);
  EXPECT_EQ(c.usage.completion_tokens, 5);
  EXPECT_THROW(completions.submit_batch(0, {"a", "b"}, [](auto&&) {}, {.stream = true}),
               std::invalid_argument);
}

TEST(PoolStream, StreamedRequestsGetUsageUnlessTheySayOtherwise) {
  TempDir dir;
  const auto record = dir.path() / "record.jsonl";
  MockProcess mock({"--count", "1", "--record", record.string(), "--output-tokens", "fixed:3"});
  AgentPool pool(mock.agents(), test_options());
  const json messages = json::array({{{"role", "user"}, {"content", "hi"}}});
  std::optional<Response> got;
  pool.submit_request(0,
                      Request{"/v1/chat/completions", {{"messages", messages}, {"stream", true}}},
                      [&](Response&& r) { got = std::move(r); });
  const Response filled = wait_for(pool, got);
  ASSERT_TRUE(filled.success) << filled.error;
  EXPECT_EQ(filled.usage.completion_tokens, 3);
  EXPECT_NE(filled.body.find("data: [DONE]"), std::string::npos);  // kept as received
  EXPECT_EQ(filled.itl.size(), 2u);

  got.reset();
  pool.submit_request(
      0,
      Request{"/v1/chat/completions",
              {{"messages", messages}, {"stream", true}, {"stream_options", json::object()}}},
      [&](Response&& r) { got = std::move(r); });
  const Response as_written = wait_for(pool, got);
  ASSERT_TRUE(as_written.success) << as_written.error;
  EXPECT_EQ(as_written.usage.completion_tokens, 0);  // no usage asked for, none came

  got.reset();  // CallOptions::stream streams a caller-written body that does not say
  pool.submit_request(0, Request{"/v1/chat/completions", {{"messages", messages}}},
                      [&](Response&& r) { got = std::move(r); }, {.stream = true});
  EXPECT_EQ(wait_for(pool, got).itl.size(), 2u);

  const auto log = recorded(record);
  ASSERT_EQ(log.size(), 3u);
  EXPECT_EQ(log[0]["body"]["stream_options"], (json{{"include_usage", true}}));
  EXPECT_EQ(log[1]["body"]["stream_options"], json::object());
  EXPECT_EQ(log[2]["body"]["stream"], true);
}

TEST(PoolStream, AnErrorEventAfterTheOkIsAFailedResponse) {
  MockProcess mock({"--count", "1", "--fail-stream-error", "1", "--output-tokens", "fixed:6"});
  auto o = test_options();
  o.retries = 0;
  AgentPool pool(mock.agents(), o);
  const Response r = pool.post(0, "x", {.stream = true});
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.kind, FailureKind::stream);
  EXPECT_EQ(r.http_status, 200);
  EXPECT_EQ(r.error, "error event in the stream: injected failure (--fail-stream-error)");
  EXPECT_TRUE(r.text.empty());
  EXPECT_EQ(r.itl.size(), 2u);  // three of the six tokens came before the error
  // Unstreamed, the same failure is an ordinary 500.
  const Response plain = pool.post(0, "x");
  EXPECT_EQ(plain.kind, FailureKind::http_status);
  EXPECT_EQ(plain.http_status, 500);
}

TEST(PoolStream, AStalledStreamFailsOnTheIdleTimeout) {
  // The first token comes at once, the next ones 30 s apart: only the idle timeout can end it.
  MockProcess mock({"--count", "1", "--latency", "tokens:0:30000", "--output-tokens", "fixed:3"});
  auto o = test_options();
  o.retries = 0;
  o.idle_timeout = Seconds(1);
  o.timeout = Seconds(25);
  AgentPool pool(mock.agents(), o);
  const Response r = pool.post(0, "x", {.stream = true});
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.kind, FailureKind::timeout);
  EXPECT_NE(r.error.find("idle_timeout"), std::string::npos) << r.error;
  EXPECT_LT(r.latency.count(), 10.0);  // about the idle timeout, far below the total one
}

}  // namespace
}  // namespace swarm::pool_test
