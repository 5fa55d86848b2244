// Shapes of every route, the request errors, and /metrics counting exactly what was sent.

#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "http_client.hpp"
#include "mock_process.hpp"
#include "swarm/hostfile.hpp"

namespace swarm::mock::test {
namespace {

using nlohmann::json;

std::string requests_series(std::uint16_t port, std::string_view route) {
  return "aswarm_mock_requests_total{port=\"" + std::to_string(port) + "\",route=\"" +
         std::string(route) + "\"}";
}

void expect_error_shape(const HttpResponse& r, long status, std::string_view type) {
  EXPECT_EQ(r.status, status) << r.body;
  const json body = r.json();
  ASSERT_TRUE(body.contains("error")) << r.body;
  EXPECT_TRUE(body["error"]["message"].is_string());
  EXPECT_FALSE(body["error"]["message"].get<std::string>().empty());
  EXPECT_EQ(body["error"]["type"], type);
  EXPECT_EQ(body["error"]["code"], status);
}

TEST(MockEndpoints, ChatCompletionAnswersTheLastUserMessage) {
  MockProcess mock({"--count", "2"});
  const json request = {{"model", "mock-model"},
                        {"messages",
                         {{{"role", "system"}, {"content", "be brief"}},
                          {{"role", "user"}, {"content", "first question"}},
                          {{"role", "assistant"}, {"content", "first answer"}},
                          {{"role", "user"}, {"content", "what is two plus two"}}}},
                        {"temperature", 0.7}};
  const auto r = http_post(mock.url(1, "/v1/chat/completions"), request.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.headers.at("content-type"), "application/json");
  const json body = r.json();
  EXPECT_EQ(body["object"], "chat.completion");
  EXPECT_EQ(body["model"], "mock-model");
  EXPECT_TRUE(body["id"].get<std::string>().starts_with("chatcmpl-"));
  EXPECT_TRUE(body["created"].is_number_integer());
  ASSERT_EQ(body["choices"].size(), 1U);
  const json& choice = body["choices"][0];
  EXPECT_EQ(choice["index"], 0);
  EXPECT_EQ(choice["message"]["role"], "assistant");
  EXPECT_EQ(choice["message"]["content"], "completion: what is two plus two");
  EXPECT_EQ(choice["finish_reason"], "stop");
  // Tokens are whitespace-separated words: 2 + 2 + 2 + 5 in the messages, 6 in the answer.
  EXPECT_EQ(body["usage"]["prompt_tokens"], 11);
  EXPECT_EQ(body["usage"]["completion_tokens"], 6);
  EXPECT_EQ(body["usage"]["total_tokens"], 17);
}

TEST(MockEndpoints, ChatMaxTokensTruncatesWithFinishReasonLength) {
  MockProcess mock({});
  const auto r = http_post(mock.url(0, "/v1/chat/completions"), chat_body("one two three", 2));
  ASSERT_EQ(r.status, 200) << r.body;
  const json body = r.json();
  EXPECT_EQ(body["choices"][0]["message"]["content"], "completion: one");
  EXPECT_EQ(body["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(body["usage"]["completion_tokens"], 2);

  // Exactly enough tokens is not a truncation.
  const auto fits = http_post(mock.url(0, "/v1/chat/completions"), chat_body("one two", 3));
  EXPECT_EQ(fits.json()["choices"][0]["finish_reason"], "stop");
}

TEST(MockEndpoints, ChatAcceptsContentParts) {
  MockProcess mock({});
  const json request = {
      {"messages",
       {{{"role", "user"},
         {"content",
          {{{"type", "text"}, {"text", "part one"}}, {{"type", "text"}, {"text", "two"}}}}}}}};
  const auto r = http_post(mock.url(0, "/v1/chat/completions"), request.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["choices"][0]["message"]["content"], "completion: part one\ntwo");
}

TEST(MockEndpoints, CompletionsTakeAStringOrAList) {
  MockProcess mock({});
  const auto single = http_post(mock.url(0, "/v1/completions"),
                                json{{"prompt", "hello"}, {"max_tokens", 50}}.dump());
  ASSERT_EQ(single.status, 200) << single.body;
  EXPECT_EQ(single.json()["object"], "text_completion");
  EXPECT_EQ(single.json()["choices"][0]["text"], "completion: hello");

  const auto batch = http_post(mock.url(0, "/v1/completions"),
                               json{{"prompt", {"a", "b c", "d e f"}}, {"max_tokens", 50}}.dump());
  ASSERT_EQ(batch.status, 200) << batch.body;
  const json body = batch.json();
  ASSERT_EQ(body["choices"].size(), 3U);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(body["choices"][i]["index"], i);
  EXPECT_EQ(body["choices"][1]["text"], "completion: b c");
  EXPECT_EQ(body["choices"][2]["finish_reason"], "stop");
  EXPECT_EQ(body["usage"]["prompt_tokens"], 6);
  EXPECT_EQ(body["usage"]["completion_tokens"], 9);
  EXPECT_EQ(body["usage"]["total_tokens"], 15);

  // Without max_tokens vLLM's /v1/completions stops at 16 tokens.
  std::string long_prompt;
  for (int i = 0; i < 30; ++i) long_prompt += "w ";
  const auto cut = http_post(mock.url(0, "/v1/completions"), json{{"prompt", long_prompt}}.dump());
  EXPECT_EQ(cut.json()["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(cut.json()["usage"]["completion_tokens"], 16);
}

TEST(MockEndpoints, CompletionsRejectMoreThan1024PromptsAndEmptyLists) {
  MockProcess mock({});
  const auto batch = [&](std::size_t n) {
    return http_post(mock.url(0, "/v1/completions"),
                     json{{"prompt", std::vector<std::string>(n, "p")}, {"max_tokens", 4}}.dump());
  };
  const auto at_limit = batch(1024);
  ASSERT_EQ(at_limit.status, 200) << at_limit.body.substr(0, 300);
  EXPECT_EQ(at_limit.json()["choices"].size(), 1024U);
  expect_error_shape(batch(1025), 400, "BadRequestError");
  expect_error_shape(batch(0), 400, "BadRequestError");
  expect_error_shape(http_post(mock.url(0, "/v1/completions"), R"({"prompt": [1, 2]})"), 400,
                     "BadRequestError");
}

TEST(MockEndpoints, GenerateSpeaksTheSeedProtocol) {
  MockProcess mock({});
  const auto r = http_post(mock.url(0, "/generate"), R"({"prompt": "tell me"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json(), json({{"response", "completion: tell me"}}));
  expect_error_shape(http_post(mock.url(0, "/generate"), R"({"text": "x"})"), 400,
                     "BadRequestError");
}

TEST(MockEndpoints, EmbeddingsAreDeterministicUnitVectors) {
  MockProcess mock({"--count", "2"});
  const auto r =
      http_post(mock.url(0, "/v1/embeddings"),
                json{{"model", "mock-model"}, {"input", {"alpha", "beta", "alpha"}}}.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  const json body = r.json();
  EXPECT_EQ(body["object"], "list");
  EXPECT_EQ(body["model"], "mock-model");
  ASSERT_EQ(body["data"].size(), 3U);
  EXPECT_EQ(body["usage"]["prompt_tokens"], 3);
  for (int i = 0; i < 3; ++i) {
    const json& item = body["data"][i];
    EXPECT_EQ(item["object"], "embedding");
    EXPECT_EQ(item["index"], i);
    ASSERT_EQ(item["embedding"].size(), 16U);  // the default --embedding-dim
    double norm = 0;
    for (const auto& x : item["embedding"]) norm += x.get<double>() * x.get<double>();
    EXPECT_NEAR(norm, 1.0, 1e-5);
  }
  EXPECT_EQ(body["data"][0]["embedding"], body["data"][2]["embedding"]);
  EXPECT_NE(body["data"][0]["embedding"], body["data"][1]["embedding"]);
  // The same text embeds the same on another agent (one model, served many times).
  const auto other = http_post(mock.url(1, "/v1/embeddings"), R"({"input": "alpha"})");
  EXPECT_EQ(other.json()["data"][0]["embedding"], body["data"][0]["embedding"]);

  MockProcess small({"--embedding-dim", "5", "--seed", "7"});
  const auto five = http_post(small.url(0, "/v1/embeddings"), R"({"input": "alpha"})");
  ASSERT_EQ(five.json()["data"][0]["embedding"].size(), 5U);
  expect_error_shape(http_post(small.url(0, "/v1/embeddings"), R"({"input": []})"), 400,
                     "BadRequestError");
}

TEST(MockEndpoints, ModelsListsTheServedModel) {
  MockProcess mock({"--model", "llama-test", "--max-model-len", "4096"});
  const auto r = http_get(mock.url(0, "/v1/models"));
  ASSERT_EQ(r.status, 200) << r.body;
  const json body = r.json();
  EXPECT_EQ(body["object"], "list");
  ASSERT_EQ(body["data"].size(), 1U);
  EXPECT_EQ(body["data"][0]["id"], "llama-test");
  EXPECT_EQ(body["data"][0]["object"], "model");
  EXPECT_EQ(body["data"][0]["max_model_len"], 4096);
  EXPECT_EQ(body["data"][0]["owned_by"], "aswarm-mock");
  // A request for another model is refused like vLLM does.
  expect_error_shape(http_post(mock.url(0, "/v1/chat/completions"), chat_body("hi")), 404,
                     "NotFoundError");
}

TEST(MockEndpoints, HealthIs200WithAnEmptyBody) {
  MockProcess mock({});
  const auto r = http_get(mock.url(0, "/health"));
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(r.body.empty());
}

TEST(MockEndpoints, ErrorsUseVllmsErrorObject) {
  MockProcess mock({"--max-model-len", "10"});
  expect_error_shape(http_get(mock.url(0, "/v2/nothing")), 404, "NotFoundError");
  expect_error_shape(http_post(mock.url(0, "/v1/chat/completions"), "{not json"), 400,
                     "BadRequestError");
  expect_error_shape(http_post(mock.url(0, "/v1/chat/completions"), "[1, 2]"), 400,
                     "BadRequestError");
  expect_error_shape(http_post(mock.url(0, "/v1/chat/completions"), R"({"messages": []})"), 400,
                     "BadRequestError");
  const auto zero_tokens =
      json{{"messages", {{{"role", "user"}, {"content", "x"}}}}, {"max_tokens", 0}};
  expect_error_shape(http_post(mock.url(0, "/v1/chat/completions"), zero_tokens.dump()), 400,
                     "BadRequestError");
  const auto get_chat = http_get(mock.url(0, "/v1/chat/completions"));
  expect_error_shape(get_chat, 405, "MethodNotAllowedError");
  EXPECT_EQ(get_chat.headers.at("allow"), "POST");
  expect_error_shape(http_post(mock.url(0, "/health"), "{}"), 405, "MethodNotAllowedError");
  // Streaming is for chat and single-prompt completions (MockEndpoints.StreamsEvents).
  expect_error_shape(http_post(mock.url(0, "/generate"), R"({"prompt": "x", "stream": true})"), 400,
                     "BadRequestError");
  expect_error_shape(
      http_post(mock.url(0, "/v1/completions"), R"({"prompt": ["x", "y"], "stream": true})"), 400,
      "BadRequestError");
  // 8 prompt tokens + 5 asked for > --max-model-len 10.
  const auto too_long = http_post(mock.url(0, "/v1/chat/completions"),
                                  chat_body("one two three four five six seven eight", 5));
  expect_error_shape(too_long, 400, "BadRequestError");
  EXPECT_NE(
      too_long.json()["error"]["message"].get<std::string>().find("maximum context length is 10"),
      std::string::npos);
}

TEST(MockEndpoints, StreamsEventsOnePerToken) {
  MockProcess mock({"--count", "1", "--mode", "fixed", "--text", "a b  c"});
  const auto body = json{{"messages", {{{"role", "user"}, {"content", "x"}}}},
                         {"stream", true},
                         {"stream_options", {{"include_usage", true}}}};
  const auto reply = http_post(mock.url(0, "/v1/chat/completions"), body.dump());
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.headers.at("content-type"), "text/event-stream");
  std::vector<json> events;
  std::size_t at = 0;
  for (std::size_t end; (end = reply.body.find("\n\n", at)) != std::string::npos; at = end + 2) {
    const std::string event = reply.body.substr(at, end - at);
    ASSERT_EQ(event.rfind("data: ", 0), 0u) << event;
    if (event == "data: [DONE]") break;
    events.push_back(json::parse(event.substr(6)));
  }
  EXPECT_EQ(reply.body.substr(at), "data: [DONE]\n\n");
  // role, one event per token (joining back to the text), finish, usage.
  ASSERT_EQ(events.size(), 6u);
  EXPECT_EQ(events[0]["choices"][0]["delta"]["role"], "assistant");
  std::string text;
  for (std::size_t k = 1; k <= 3; ++k) {
    EXPECT_EQ(events[k]["object"], "chat.completion.chunk");
    text += events[k]["choices"][0]["delta"]["content"].get<std::string>();
  }
  EXPECT_EQ(text, "a b  c");
  EXPECT_EQ(events[4]["choices"][0]["finish_reason"], "stop");
  EXPECT_EQ(events[5]["choices"], json::array());
  EXPECT_EQ(events[5]["usage"]["completion_tokens"], 3);
}

TEST(MockEndpoints, MetricsCountExactlyTheRequestsSent) {
  MockProcess mock({"--count", "3"});
  for (int i = 0; i < 5; ++i) http_post(mock.url(0, "/v1/chat/completions"), chat_body("x"));
  for (int i = 0; i < 2; ++i) http_post(mock.url(0, "/v1/chat/completions"), "{bad");
  for (int i = 0; i < 3; ++i) http_post(mock.url(1, "/v1/completions"), R"({"prompt": "x"})");
  for (int i = 0; i < 4; ++i) http_post(mock.url(1, "/generate"), R"({"prompt": "x"})");
  http_post(mock.url(1, "/v1/embeddings"), R"({"input": "x"})");
  for (int i = 0; i < 2; ++i) http_get(mock.url(0, "/v1/models"));
  for (int i = 0; i < 6; ++i) http_get(mock.url(1, "/health"));
  http_get(mock.url(1, "/nowhere"));
  const auto scrape = http_get(mock.url(2, "/metrics"));
  ASSERT_EQ(scrape.status, 200);
  EXPECT_TRUE(scrape.headers.at("content-type").starts_with("text/plain"));
  const std::string& m = scrape.body;
  EXPECT_EQ(metric(m, requests_series(mock.port(0), "/v1/chat/completions")), 7);
  EXPECT_EQ(metric(m, requests_series(mock.port(1), "/v1/completions")), 3);
  EXPECT_EQ(metric(m, requests_series(mock.port(1), "/generate")), 4);
  EXPECT_EQ(metric(m, requests_series(mock.port(1), "/v1/embeddings")), 1);
  EXPECT_EQ(metric(m, requests_series(mock.port(0), "/v1/models")), 2);
  EXPECT_EQ(metric(m, requests_series(mock.port(1), "/health")), 6);
  EXPECT_EQ(metric(m, requests_series(mock.port(1), "other")), 1);
  EXPECT_EQ(metric(m, requests_series(mock.port(2), "/metrics")), 1);  // the scrape itself
  EXPECT_EQ(metric(m, requests_series(mock.port(2), "/v1/chat/completions")), 0);
  EXPECT_EQ(metric(m, "aswarm_mock_all_requests_total"), 7 + 3 + 4 + 1 + 2 + 6 + 1 + 1);
  const std::string p0 = "{port=\"" + std::to_string(mock.port(0)) + "\"}";
  EXPECT_EQ(metric(m, "aswarm_mock_in_flight" + p0), 0);
  EXPECT_EQ(metric(m, "aswarm_mock_in_flight_max" + p0), 1);
  // A second scrape counts both scrapes.
  EXPECT_EQ(
      metric(http_get(mock.url(2, "/metrics")).body, requests_series(mock.port(2), "/metrics")), 2);
}

TEST(MockEndpoints, HostfileCarriesRolesAndTags) {
  MockProcess mock({"--count", "4", "--roles", "hypotheses,critiques", "--tag", "site=lab", "--tag",
                    "gpu=none"});
  ASSERT_EQ(mock.agents().size(), 4U);
  for (std::size_t k = 0; k < 4; ++k) {
    const Endpoint& e = mock.agents()[k];
    EXPECT_EQ(e.host, "127.0.0.1");
    EXPECT_NE(e.port, 0);
    EXPECT_EQ(e.tag("role"), k % 2 == 0 ? "hypotheses" : "critiques");
    EXPECT_EQ(e.tag("site"), "lab");
    EXPECT_EQ(e.tag("gpu"), "none");
    EXPECT_EQ(e.tags.size(), 3U);  // nothing else is added
    EXPECT_EQ(http_get(mock.url(k, "/health")).status, 200);
    EXPECT_NE(mock.ready_line().find(std::to_string(e.port)), std::string::npos);
  }
  EXPECT_TRUE(
      mock.ready_line().starts_with("aswarm-mock-agent: ready: 4 agents on 127.0.0.1 ports "))
      << mock.ready_line();
  // The hostfile was renamed into place: no temporary file is left next to it.
  std::size_t files = 0;
  for ([[maybe_unused]] const auto& entry :
       std::filesystem::directory_iterator(mock.hostfile().parent_path()))
    ++files;
  EXPECT_EQ(files, 2U);  // hostfile and the captured stderr

  MockProcess split({"--count", "8", "--roles", "hypotheses:3,critiques:1"});
  for (std::size_t k = 0; k < 8; ++k) {
    EXPECT_EQ(split.agents()[k].tag("role"), k < 6 ? "hypotheses" : "critiques") << k;
  }
}

}  // namespace
}  // namespace swarm::mock::test
