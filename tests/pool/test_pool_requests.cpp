// AgentPool's faithful requests against the real mock: caller-written bodies arrive as written
// (the mock's --record log), the reply body comes back as received, CallOptions::extra_body
// reaches prompt bodies, and endpoints behind a gateway base path work for POSTs and GETs.

#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "pool_test_util.hpp"
#include "swarm/request.hpp"

namespace swarm::pool_test {
namespace {

using nlohmann::json;

std::vector<json> recorded(const std::filesystem::path& path) {
  std::vector<json> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) out.push_back(json::parse(line));
  return out;
}

Response wait_for(AgentPool& pool, std::optional<Response>& slot) {
  while (!slot) pool.poll(std::chrono::milliseconds(50));
  return std::move(*slot);
}

TEST(PoolRequests, SubmitRequestSendsTheBodyAsWrittenAndKeepsTheReply) {
  TempDir dir;
  const auto record = dir.path() / "record.jsonl";
  MockProcess mock({"--count", "1", "--record", record.string()});
  AgentPool pool(mock.agents(), test_options());
  const json body = {{"messages", json::array({{{"role", "system"}, {"content", "s"}},
                                               {{"role", "user"}, {"content", "hi"}}})},
                     {"seed", 3},
                     {"response_format", {{"type", "json_object"}}},
                     {"unknown", {1, 2}}};
  std::optional<Response> got;
  pool.submit_request(
      0, Request{"/v1/chat/completions", body}, [&](Response&& r) { got = std::move(r); },
      {.extra_body = std::make_shared<const json>(json{{"top_p", 0.5}, {"seed", 9}})});
  const Response r = wait_for(pool, got);
  ASSERT_TRUE(r.success) << r.error;
  const auto log = recorded(record);
  ASSERT_EQ(log.size(), 1u);
  json expected = body;
  expected["model"] = "mock-model";  // absent: filled
  expected["top_p"] = 0.5;           // absent: filled from extra_body; seed stays 3
  EXPECT_EQ(log[0]["body"], expected);
  EXPECT_EQ(json::parse(r.body), log[0]["reply"]);
  EXPECT_EQ(r.text, "completion: hi");
  EXPECT_EQ(r.response_id, log[0]["reply"]["id"]);

  // An error status keeps its body too.
  got.reset();
  pool.submit_request(
      0, Request{"/v1/chat/completions", {{"model", "nope"}, {"messages", body["messages"]}}},
      [&](Response&& x) { got = std::move(x); });
  const Response e = wait_for(pool, got);
  EXPECT_FALSE(e.success);
  EXPECT_EQ(e.http_status, 404);
  EXPECT_EQ(json::parse(e.body)["error"]["code"], 404);
}

TEST(PoolRequests, PromptsAreRequestsCarriesEnvelopesAndEmbeddings) {
  TempDir dir;
  const auto record = dir.path() / "record.jsonl";
  MockProcess mock({"--count", "1", "--record", record.string()});
  AgentPool pool(mock.agents(), test_options());
  const CallOptions call{.prompts_are_requests = true};
  auto r = pool.post(0, encode_request(Request{"/v1/embeddings", {{"input", {"a", "b"}}}}), call);
  ASSERT_TRUE(r.success) << r.error;
  EXPECT_EQ(json::parse(r.body)["data"].size(), 2u);
  r = pool.post(0,
                encode_request(PromptRequest{
                    "", json::array({{{"role", "user"}, {"content", "u"}}}), {{"stop", {"x"}}}}),
                call);
  ASSERT_TRUE(r.success) << r.error;
  EXPECT_EQ(r.text, "completion: u");
  EXPECT_TRUE(r.body.empty());  // prompt-style requests decode as prompts
  const auto log = recorded(record);
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[0]["body"], json({{"input", {"a", "b"}}, {"model", "mock-model"}}));
  EXPECT_EQ(log[1]["body"]["stop"], json({"x"}));
  EXPECT_THROW(pool.post(0, "not an envelope", call), std::invalid_argument);
}

TEST(PoolRequests, ExtraBodyReachesPromptBodiesAndWins) {
  TempDir dir;
  const auto record = dir.path() / "record.jsonl";
  MockProcess mock({"--count", "1", "--record", record.string()});
  auto o = test_options();
  o.extra_body = {{"seed", 1}, {"top_p", 0.3}};
  AgentPool pool(mock.agents(), o);
  ASSERT_TRUE(
      pool.post(0, "p", {.extra_body = std::make_shared<const json>(json{{"seed", 2}})}).success);
  const auto log = recorded(record);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0]["body"]["seed"], 2);
  EXPECT_EQ(log[0]["body"]["top_p"], 0.3);
}

TEST(PoolRequests, GatewayBasePathIsUsedForPostsAndGets) {
  MockProcess mock({"--count", "2", "--path-prefix", "/gw/agent"});
  ASSERT_EQ(mock.agents()[0].base_path, "/gw/agent");
  AgentPool pool(mock.agents(), test_options());
  const auto answers = pool.broadcast_prompt("hello");
  for (const auto& r : answers) EXPECT_TRUE(r.success) << r.error;
  for (const auto& r : pool.get_all("/health", Seconds(5))) EXPECT_TRUE(r.success) << r.error;
  // Without the base path the mock (like a gateway) has nothing there.
  auto bare = mock.agents();
  for (auto& e : bare) e.base_path.clear();
  AgentPool direct(bare, test_options());
  EXPECT_EQ(direct.post(0, "hello").http_status, 404);
}

}  // namespace
}  // namespace swarm::pool_test
