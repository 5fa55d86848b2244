// Other servers' shapes and request recording: --list-reply, --client-error-status,
// --error-body html, --path-prefix and --record.

#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "http_client.hpp"
#include "mock_process.hpp"

namespace swarm::mock::test {
namespace {

using nlohmann::json;

TEST(MockShapes, ListPromptsAsLlamaServerArraysInEitherOrder) {
  for (const std::string order : {"array", "array-reversed"}) {
    MockProcess mock({"--list-reply", order});
    const auto r = http_post(mock.url(0, "/v1/completions"), R"({"prompt": ["a", "b", "c"]})");
    ASSERT_EQ(r.status, 200) << r.body;
    const json doc = r.json();
    ASSERT_TRUE(doc.is_array()) << r.body;
    ASSERT_EQ(doc.size(), 3u);
    for (std::size_t k = 0; k < 3; ++k) {
      const std::size_t prompt = order == "array" ? k : 2 - k;
      const json& choice = doc[k]["choices"][0];
      EXPECT_EQ(choice["index"], prompt);
      EXPECT_EQ(choice["text"], std::string("completion: ") + "abc"[prompt]);
      EXPECT_EQ(doc[k]["object"], "text_completion");
    }
    // A single string prompt keeps the one-object shape, as llama-server's does.
    EXPECT_TRUE(http_post(mock.url(0, "/v1/completions"), R"({"prompt": "a"})").json().is_object());
  }
}

TEST(MockShapes, ClientErrorsAs500WithAnHtmlPage) {
  MockProcess mock({"--client-error-status", "500", "--error-body", "html"});
  const auto r = http_post(mock.url(0, "/v1/chat/completions"), R"({"model": "nope",
      "messages": [{"role": "user", "content": "x"}]})");
  EXPECT_EQ(r.status, 500);
  EXPECT_NE(r.body.find("<title>500 Error</title>"), std::string::npos) << r.body;
  const auto bad = run_mock({"--port-base", "0", "--client-error-status", "200"});
  EXPECT_EQ(bad.exit_code, 2) << bad.err;
}

TEST(MockShapes, PathPrefixServesUnderTheBasePathOnly) {
  MockProcess mock({"--path-prefix", "/gw/agent/"});
  ASSERT_EQ(mock.agents()[0].base_path, "/gw/agent");  // the hostfile has the URL
  EXPECT_EQ(http_get(mock.url(0, "/gw/agent/health")).status, 200);
  EXPECT_EQ(http_get(mock.url(0, "/health")).status, 404);
  EXPECT_EQ(http_get(mock.url(0, "/gw/agentx/health")).status, 404);
  const auto bad = run_mock({"--port-base", "0", "--path-prefix", "/a b"});
  EXPECT_EQ(bad.exit_code, 2) << bad.err;
}

TEST(MockShapes, RecordKeepsEachBodyAndReply) {
  TempDir dir;
  const auto path = dir.path() / "record.jsonl";
  MockProcess mock({"--record", path.string()});
  const std::string body = R"({"messages": [{"role": "user", "content": "x"}], "seed": 5})";
  const auto r = http_post(mock.url(0, "/v1/chat/completions"), body);
  ASSERT_EQ(r.status, 200);
  (void)http_post(mock.url(0, "/v1/embeddings"), "not json");
  std::ifstream in(path);
  std::string line;
  ASSERT_TRUE(std::getline(in, line));
  const json first = json::parse(line);
  EXPECT_EQ(first["agent"], 0);
  EXPECT_EQ(first["path"], "/v1/chat/completions");
  EXPECT_EQ(first["body"], json::parse(body));
  EXPECT_EQ(first["status"], 200);
  EXPECT_EQ(first["reply"], r.json());
  ASSERT_TRUE(std::getline(in, line));
  const json second = json::parse(line);
  EXPECT_EQ(second["body"], "not json");  // kept as text
  EXPECT_EQ(second["status"], 400);
}

}  // namespace
}  // namespace swarm::mock::test
