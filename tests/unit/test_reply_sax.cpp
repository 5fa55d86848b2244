// The SAX fast path of decode_prompt_reply (reply_sax.hpp) against the DOM decoder it stands in
// for: the plain shapes servers send are taken by the fast path, and every reply, plain or odd,
// decodes to the same Response as decode_chat / decode_completion / decode_generate give from the
// parsed document.

#include "reply_sax.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "protocol_internal.hpp"
#include "swarm/json_limits.hpp"
#include "swarm/protocol.hpp"

namespace swarm {
namespace {

/// What decode_chat / decode_completion make of `body`, or nullopt if it is not JSON.
std::optional<Response> dom(Protocol p, std::string_view body) {
  JsonFault fault = JsonFault::none;
  const nlohmann::json doc = parse_json_limited(body, fault);
  if (fault != JsonFault::none) return std::nullopt;
  Response r;
  switch (p) {
    case Protocol::chat: protocol::decode_chat(doc, r); break;
    case Protocol::completions: protocol::decode_completion(doc, r); break;
    case Protocol::generate: protocol::decode_generate(doc, r); break;
  }
  return r;
}

void expect_same(const Response& a, const Response& b, const std::string& what) {
  EXPECT_EQ(a.success, b.success) << what;
  EXPECT_EQ(a.text, b.text) << what;
  EXPECT_EQ(a.error, b.error) << what;
  EXPECT_EQ(a.kind, b.kind) << what;
  EXPECT_EQ(a.reasoning, b.reasoning) << what;
  EXPECT_EQ(a.finish_reason, b.finish_reason) << what;
  EXPECT_EQ(a.response_id, b.response_id) << what;
  EXPECT_EQ(a.model, b.model) << what;
  EXPECT_EQ(a.usage.prompt_tokens, b.usage.prompt_tokens) << what;
  EXPECT_EQ(a.usage.completion_tokens, b.usage.completion_tokens) << what;
  EXPECT_EQ(a.usage.total_tokens, b.usage.total_tokens) << what;
  EXPECT_EQ(a.usage.reasoning_tokens, b.usage.reasoning_tokens) << what;
}

// vLLM's chat.completion, as its OpenAI server writes it.
const std::string kVllmChat =
    R"({"id":"chatcmpl-9","object":"chat.completion","created":1,"model":"m/x",)"
    R"("choices":[{"index":0,"message":{"role":"assistant","content":"hi \"there\"\n\u00e9\ud83d\ude00",)"
    R"("reasoning_content":null,"tool_calls":[]},"logprobs":null,"finish_reason":"stop",)"
    R"("stop_reason":null}],"usage":{"prompt_tokens":3,"total_tokens":5,"completion_tokens":2,)"
    R"("prompt_tokens_details":null},"prompt_logprobs":null})";

TEST(ReplySax, ThePlainShapesTakeTheFastPathWithTheDomsFields) {
  const std::vector<std::pair<Protocol, std::string>> plain = {
      {Protocol::chat, kVllmChat},
      {Protocol::chat, R"({"choices":[{"message":{"content":null,"reasoning":"think"}}]})"},
      {Protocol::chat,
       R"({"choices":[{"message":{"content":"","reasoning_content":"rc"},"finish_reason":"length"}],)"
       R"("usage":{"prompt_tokens":1,"completion_tokens":9,"total_tokens":10,)"
       R"("completion_tokens_details":{"reasoning_tokens":7}}})"},
      {Protocol::chat, R"({"choices":[{"message":{"content":"a"}},{"message":{"content":"b"}}],"usage":null})"},
      {Protocol::chat, R"({"choices":[{"message":{"content":["part"]}}],"model":null,"id":5})"},
      {Protocol::completions,
       R"({"id":"cmpl-1","object":"text_completion","model":"m","choices":[{"index":0,"text":" t",)"
       R"("logprobs":null,"finish_reason":"length"}],"usage":{"prompt_tokens":2,"completion_tokens":16,)"
       R"("total_tokens":18}})"},
      {Protocol::completions, R"({"choices":[{"text":null,"message":{"content":"ignored"}}]})"},
      {Protocol::generate, R"({"response":"seed answer"})"},
      {Protocol::generate, R"({"text":["vllm demo","second"],"usage":{"total_tokens":4}})"},
      {Protocol::generate, R"({"response":5,"text":"falls back"})"},
      {Protocol::generate, R"({"response":[[],"x"],"text":["t"]})"},
  };
  for (const auto& [p, body] : plain) {
    Response fast;
    ASSERT_TRUE(protocol::decode_reply_fast(p, body, fast)) << body;
    const auto ref = dom(p, body);
    ASSERT_TRUE(ref) << body;
    expect_same(fast, *ref, body);
  }
  Response r;
  ASSERT_TRUE(protocol::decode_reply_fast(Protocol::chat, kVllmChat, r));
  EXPECT_EQ(r.text, "hi \"there\"\n\xc3\xa9\xf0\x9f\x98\x80");
  EXPECT_EQ(r.usage.total_tokens, 5);
  EXPECT_EQ(r.response_id, "chatcmpl-9");
}

TEST(ReplySax, OddRepliesDecodeAsTheDomDecodesThemAndDeclinedOnesLeaveTheResponseAlone) {
  std::string deep = R"({"choices":[{"message":{"content":"x"}}],"extra":)";
  for (int i = 0; i < 100; ++i) deep += "[";
  for (int i = 0; i < 100; ++i) deep += "]";
  deep += "}";
  const std::vector<std::string> odd = {
      "", "   ", "{", "[]", "3", "null", R"("text")", R"({})", R"({"choices":[]})",
      R"({"choices":{}})", R"({"choices":null})", R"({"choices":[1]})", R"({"choices":[[]]})",
      R"({"choices":[{}]})", R"({"choices":[{"message":null}]})", R"({"choices":[{"message":"s"}]})",
      R"({"choices":[{"message":[]}]})", R"({"choices":[{"message":{}}]})",
      R"({"choices":[{"message":{"content":"a","content":"b"}}]})",
      R"({"choices":[{"message":{"content":"a","content":null}}]})",
      R"({"choices":[],"choices":[{"message":{"content":"b"}}]})",
      R"({"id":"1","id":"2","choices":[{"text":"t","message":{"content":"c"}}]})",
      R"({"choices":[{"text":"t","message":{"content":"c"}}],"usage":[1,2]})",
      R"({"choices":[{"text":"t","message":{"content":"c"}}],"usage":"many"})",
      R"({"choices":[{"text":"t","message":{"content":"c"}}],"usage":{"prompt_tokens":1.5,)"
      R"("completion_tokens":"2","total_tokens":18446744073709551615}})",
      R"({"choices":[{"text":"t","message":{"content":"c"}}],"usage":{"prompt_tokens":-4,)"
      R"("completion_tokens_details":null,"total_tokens":true}})",
      R"({"choices":[{"text":{"a":1},"finish_reason":7,"message":{"content":{"x":[]},"reasoning":"r"}}]})",
      R"({"choices":[{"message":{"content":"x"}}]} trailing)",
      "{\"choices\":[{\"message\":{\"content\":\"bad \xff byte\"}}]}",
      deep,
      R"({"response":[],"text":[1]})", R"({"response":{"a":"b"}})", R"({"text":[null,"x"]})",
      R"({"response":"a","response":"b"})", R"({"text":"t","response":null})",
      R"({"choices":[],"text":[["in"],"x"],"usage":{"prompt_tokens":2}})",
  };
  for (const auto p : {Protocol::chat, Protocol::completions, Protocol::generate}) {
    for (const auto& body : odd) {
      Response untouched;
      untouched.text = "before";
      Response copy = untouched;
      if (!protocol::decode_reply_fast(p, body, copy)) {
        EXPECT_EQ(copy.text, "before") << body;
        EXPECT_FALSE(copy.success) << body;
      }
      const auto ref = dom(p, body);
      if (!ref) continue;  // not JSON: decode_prompt_reply's DOM path words that error
      Response full;
      protocol::decode_prompt_reply(p, body, full);
      expect_same(full, *ref, body);
    }
  }
}

}  // namespace
}  // namespace swarm
