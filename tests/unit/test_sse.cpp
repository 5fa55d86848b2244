// The event-stream decoder of streamed replies (src/core/sse.hpp), fed the way a network would:
// every test also runs with the stream cut at every byte, so no split can change the result.

#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "sse.hpp"

namespace swarm::detail {
namespace {

constexpr std::string_view kChat =
    "data: {\"id\":\"chatcmpl-1\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":"
    "{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n"
    "data: {\"id\":\"chatcmpl-1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}]}\n\n"
    ": keep-alive\n\n"
    "data: {\"id\":\"chatcmpl-1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"}}]}\n\n"
    "data: {\"id\":\"chatcmpl-1\",\"choices\":[{\"index\":0,\"delta\":{},"
    "\"finish_reason\":\"stop\"}]}\n\n"
    "data: {\"id\":\"chatcmpl-1\",\"choices\":[],\"usage\":{\"prompt_tokens\":5,"
    "\"completion_tokens\":2,\"total_tokens\":7}}\n\n"
    "data: [DONE]\n\n";

struct Fed {
  SseDecoder decoder;
  std::vector<std::size_t> per_chunk;
};

Fed feed_chunks(std::string_view stream, std::size_t cut) {
  Fed f;
  for (std::size_t at = 0; at < stream.size(); at += cut) {
    f.per_chunk.push_back(f.decoder.feed(stream.substr(at, cut)));
  }
  return f;
}

Response decoded(const SseDecoder& d) {
  Response r;
  d.apply(r);
  return r;
}

// Runs `check` on the decoder fed in one piece, then cut into pieces of every size.
template <typename Check>
void for_every_split(std::string_view stream, Check check) {
  for (std::size_t cut = stream.size(); cut >= 1; --cut) {
    SCOPED_TRACE("chunks of " + std::to_string(cut) + " bytes");
    check(feed_chunks(stream, cut).decoder);
  }
}

TEST(SseDecoder, ChatStreamInAnySplit) {
  for_every_split(kChat, [](const SseDecoder& d) {
    EXPECT_TRUE(d.done());
    EXPECT_EQ(d.content_events(), 2U);  // the empty first delta carries no text
    const Response r = decoded(d);
    EXPECT_TRUE(r.success) << r.error;
    EXPECT_EQ(r.text, "Hello");
    EXPECT_EQ(r.finish_reason, "stop");
    EXPECT_EQ(r.response_id, "chatcmpl-1");
    EXPECT_EQ(r.model, "m");
    EXPECT_EQ(r.usage, (Usage{5, 2, 7, 0}));
  });
}

TEST(SseDecoder, FeedCountsTextEventsOfEachChunk) {
  SseDecoder d;
  const auto first = kChat.find("\n\n") + 2;  // the role chunk
  EXPECT_EQ(d.feed(kChat.substr(0, first)), 0U);
  const auto second = kChat.find("\n\n", first) + 2;
  EXPECT_EQ(d.feed(kChat.substr(first, second - first - 1)), 0U);  // not dispatched yet
  EXPECT_EQ(d.feed("\n"), 1U);
  EXPECT_EQ(d.feed(kChat.substr(second)), 1U);
}

TEST(SseDecoder, CrlfAndBareCrEndLines) {
  std::string crlf;
  std::string cr;
  for (char c : kChat) {
    crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
    cr += c == '\n' ? '\r' : c;
  }
  for (const std::string& stream : {crlf, cr}) {
    for_every_split(stream, [](const SseDecoder& d) {
      const Response r = decoded(d);
      EXPECT_TRUE(r.success) << r.error;
      EXPECT_EQ(r.text, "Hello");
      EXPECT_EQ(r.usage.total_tokens, 7);
    });
  }
}

TEST(SseDecoder, MultiLineDataIsJoinedWithNewlines) {
  // One JSON payload spread over two data: lines (and a field without a space after ':').
  const std::string stream =
      "event: message\nid: 3\ndata: {\"choices\":[{\"index\":0,\n"
      "data:\"delta\":{\"content\":\"x\"},\"finish_reason\":\"length\"}]}\n\n"
      "retry: 10\n\ndata: [DONE]\n\n";
  for_every_split(stream, [](const SseDecoder& d) {
    const Response r = decoded(d);
    EXPECT_TRUE(r.success) << r.error;
    EXPECT_EQ(r.text, "x");
    EXPECT_EQ(r.finish_reason, "length");
  });
}

TEST(SseDecoder, ReasoningDeltasAreKeptApartAndTimedAsText) {
  const std::string stream =
      "data: {\"choices\":[{\"delta\":{\"reasoning_content\":\"think \"}}]}\n\n"
      "data: {\"choices\":[{\"delta\":{\"reasoning\":\"more\"}}]}\n\n"
      "data: {\"choices\":[{\"delta\":{\"content\":\"42\"},\"finish_reason\":\"stop\"}]}\n\n"
      "data: [DONE]\n\n";
  for_every_split(stream, [](const SseDecoder& d) {
    EXPECT_EQ(d.content_events(), 3U);
    const Response r = decoded(d);
    EXPECT_EQ(r.text, "42");
    EXPECT_EQ(r.reasoning, "think more");
  });
}

TEST(SseDecoder, CompletionsChunksCarryText) {
  const std::string stream =
      "data: {\"id\":\"cmpl-9\",\"choices\":[{\"index\":0,\"text\":\"a \"}]}\n\n"
      "data: {\"choices\":[{\"index\":1,\"text\":\"other choice\"}]}\n\n"
      "data: {\"choices\":[{\"index\":0,\"text\":\"b\",\"finish_reason\":\"stop\"}]}\n\n"
      "data: [DONE]\n\n";
  for_every_split(stream, [](const SseDecoder& d) {
    EXPECT_EQ(d.content_events(), 2U);  // choice 1 is not the Response's
    EXPECT_EQ(decoded(d).text, "a b");
    EXPECT_EQ(decoded(d).response_id, "cmpl-9");
  });
}

TEST(SseDecoder, AnErrorPayloadAfterTheOkFailsTheStream) {
  // vLLM's mid-stream failure: a data event holding an error object, then [DONE].
  const std::string stream =
      "data: {\"choices\":[{\"delta\":{\"content\":\"par\"}}]}\n\n"
      "data: {\"error\":{\"message\":\"engine died\",\"type\":\"InternalServerError\","
      "\"code\":500}}\n\n"
      "data: [DONE]\n\n";
  for_every_split(stream, [](const SseDecoder& d) {
    ASSERT_TRUE(d.error().has_value());
    const Response r = decoded(d);
    EXPECT_FALSE(r.success);
    EXPECT_EQ(r.kind, FailureKind::stream);
    EXPECT_EQ(r.error, "error event in the stream: engine died");
    EXPECT_TRUE(r.text.empty());
  });
}

TEST(SseDecoder, NamedErrorEventsAndOldVllmErrorObjectsFail) {
  for (const std::string& stream :
       {std::string("event: error\ndata: {\"message\":\"overloaded\"}\n\n"),
        std::string("event: error\ndata: plain words\n\n"),
        std::string("data: {\"object\":\"error\",\"message\":\"overloaded\"}\n\n")}) {
    for_every_split(stream, [](const SseDecoder& d) {
      const Response r = decoded(d);
      EXPECT_FALSE(r.success);
      EXPECT_EQ(r.kind, FailureKind::stream);
      EXPECT_TRUE(r.error == "error event in the stream: overloaded" ||
                  r.error == "error event in the stream: plain words")
          << r.error;
    });
  }
}

TEST(SseDecoder, TruncatedOrMalformedStreamsAreDecodeFailures) {
  const Response cut =
      decoded(feed_chunks("data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\n", 7).decoder);
  EXPECT_FALSE(cut.success);
  EXPECT_EQ(cut.kind, FailureKind::decode);
  EXPECT_EQ(cut.error, "stream ended before [DONE] or a finish_reason");

  const Response bad = decoded(feed_chunks("data: {\"choices\": [\n\ndata: [DONE]\n\n", 3).decoder);
  EXPECT_FALSE(bad.success);
  EXPECT_EQ(bad.kind, FailureKind::decode);
  EXPECT_NE(bad.error.find("malformed stream event"), std::string::npos) << bad.error;

  SseDecoder nothing;
  EXPECT_FALSE(nothing.saw_events());
  EXPECT_EQ(decoded(nothing).error, "empty event stream");
}

TEST(SseDecoder, AFinishReasonWithoutDoneIsEnoughAndBytesAfterDoneAreIgnored) {
  const std::string stream =
      "data: {\"choices\":[{\"delta\":{\"content\":\"x\"},\"finish_reason\":\"stop\"}]}\n\n";
  EXPECT_TRUE(decoded(feed_chunks(stream, 5).decoder).success);
  SseDecoder d;
  d.feed("data: [DONE]\n\ndata: {\"choices\":[{\"delta\":{\"content\":\"late\"}}]}\n\n");
  EXPECT_TRUE(d.done());
  EXPECT_EQ(d.content_events(), 0U);
  EXPECT_TRUE(decoded(d).text.empty());
}

TEST(SseDecoder, AnEventThatNeverEndsIsBounded) {
  SseDecoder d;
  const std::string chunk(1 << 20, 'x');
  d.feed("data: ");
  for (std::size_t sent = 0; sent <= SseDecoder::kMaxEventBytes; sent += chunk.size()) {
    d.feed(chunk);
  }
  ASSERT_TRUE(d.error().has_value());
  EXPECT_NE(d.error()->find("longer than"), std::string::npos);
  EXPECT_EQ(decoded(d).kind, FailureKind::decode);
}

}  // namespace
}  // namespace swarm::detail
