// The input lines' SAX fast path (io/input_sax.hpp) against the DOM parser: the plain shapes
// take it, and whatever it takes ends as the very record the DOM parser makes; everything else
// is declined.

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "io/input_record.hpp"
#include "io/input_sax.hpp"

namespace swarm::cli {
namespace {

// A record with every field set, as a batch line would leave it: the fast path must reset it.
InputRecord used_record() {
  InputRecord r;
  r.id = "old";
  r.batch = true;
  r.custom_id = "c";
  r.url = "/v1/chat/completions";
  r.body = {{"k", 1}};
  r.prompt = "old prompt";
  r.messages = nlohmann::json::array();
  r.params = {{"top_p", 1}};
  r.max_tokens = 3;
  r.model = "m";
  r.temperature = 0.5;
  return r;
}

void expect_same(const InputRecord& a, const InputRecord& b, const std::string& line) {
  EXPECT_EQ(a.id, b.id) << line;
  EXPECT_EQ(a.id.type(), b.id.type()) << line;
  EXPECT_EQ(a.batch, b.batch) << line;
  EXPECT_EQ(a.custom_id, b.custom_id) << line;
  EXPECT_EQ(a.url, b.url) << line;
  EXPECT_EQ(a.body, b.body) << line;
  EXPECT_EQ(a.prompt, b.prompt) << line;
  EXPECT_EQ(a.messages, b.messages) << line;
  EXPECT_EQ(a.params, b.params) << line;
  EXPECT_EQ(a.max_tokens, b.max_tokens) << line;
  EXPECT_EQ(a.model, b.model) << line;
  EXPECT_EQ(a.temperature, b.temperature) << line;
}

TEST(InputSax, PlainLinesTakeTheFastPathAndMakeTheDomsRecord) {
  const std::vector<std::string> plain = {
      R"("just a prompt")",
      R"({"id": 7, "prompt": "p7"})",
      R"({"prompt": "no id"})",
      R"({"prompt": "id after", "id": "x-1"})",
      R"({"id": null, "prompt": "null id"})",
      R"({"id": -3, "prompt": "negative"})",
      R"({"id": 18446744073709551615, "prompt": "unsigned"})",
      R"({"id": 1.5e3, "prompt": "float"})",
      R"({"id": 2.0, "prompt": "float that is whole"})",
      R"(  {"id":"caf\u00e9","prompt":"esc \" \\ \n \ud83d\ude00"}  )",
      "{\"id\": 1, \"prompt\": \"raw utf-8 \xc3\xa9\"}\r"};
  for (const auto& line : plain) {
    InputRecord fast = used_record();
    ASSERT_TRUE(detail::parse_plain_line(line, fast)) << line;
    InputRecord dom = used_record();
    std::string reason;
    ASSERT_EQ(detail::parse_input_line_dom(line, dom, reason), LineKind::prompt) << line << reason;
    expect_same(fast, dom, line);
  }
}

TEST(InputSax, EveryOtherLineIsDeclinedToTheDom) {
  const std::vector<std::string> others = {
      "",
      "   ",
      R"("")",
      R"({"prompt": ""})",
      R"({"id": 1})",
      R"({})",
      R"(7)",
      R"(null)",
      R"([1, 2])",
      R"({"id": 1, "prompt": "a", "params": {"top_p": 1}})",
      R"({"id": 1, "prompt": "a", "extra": 1})",
      R"({"prompt": "a", "prompt": "b"})",
      R"({"id": 1, "id": 2, "prompt": "a"})",
      R"({"id": true, "prompt": "a"})",
      R"({"id": [1], "prompt": "a"})",
      R"({"id": {"n": 1}, "prompt": "a"})",
      R"({"id": 1, "prompt": 5})",
      R"({"messages": [{"role": "user", "content": "hi"}]})",
      R"({"custom_id": "c", "method": "POST", "url": "/v1/chat/completions", "body": {}})",
      R"({"id": 1, "prompt": "a"} trailing)",
      R"({"id": 1, "prompt": "a")",
      R"({"id": 1e400, "prompt": "a"})",
      "{\"prompt\": \"bad utf-8 \xff\"}"};
  for (const auto& line : others) {
    InputRecord fast = used_record();
    EXPECT_FALSE(detail::parse_plain_line(line, fast)) << line;
    // And parse_input_line reads them exactly as the DOM parser does.
    InputRecord a = used_record();
    InputRecord b = used_record();
    std::string ra;
    std::string rb;
    EXPECT_EQ(parse_input_line(line, a, ra), detail::parse_input_line_dom(line, b, rb)) << line;
    EXPECT_EQ(ra, rb) << line;
  }
}

}  // namespace
}  // namespace swarm::cli
