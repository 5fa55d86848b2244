// Output lines (plain and OpenAI batch shape) and the OutputWriter.

#include <sys/stat.h>

#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "io/output.hpp"
#include "io/record_hash.hpp"
#include "test_util.hpp"

namespace swarm::cli {
namespace {

using nlohmann::json;
using test::error_of;
using test::TempDir;

swarm::Response good_response() {
  auto r = swarm::Response::ok("The answer is 4.", 3);
  r.http_status = 200;
  r.latency = std::chrono::duration<double>(0.0123456);
  r.attempts = 2;
  r.usage = {11, 5, 16};
  r.finish_reason = "stop";
  return r;
}

swarm::Response bad_response() {
  auto r = swarm::Response::failure("HTTP 503: overloaded", 1);
  r.http_status = 503;
  r.latency = std::chrono::duration<double>(1.5);
  r.attempts = 3;
  return r;
}

InputRecord batch_record(const std::string& url) {
  InputRecord record;
  record.index = 4;
  record.batch = true;
  record.custom_id = "req-4";
  record.url = url;
  record.model = "llama-3";
  return record;
}

// The driver keeps only a RecordIdentity per record of a window in flight: the line must be the
// one the whole record gives, for every input shape.
TEST(OutputLine, RecordIdentityGivesTheSameLineAsTheRecord) {
  InputRecord with_id;
  with_id.index = 7;
  with_id.id = 41;
  with_id.prompt = "a prompt that is not kept";
  InputRecord without_id;
  without_id.index = 8;
  InputRecord string_id;
  string_id.index = 9;
  string_id.id = "q9";
  InputRecord no_model = batch_record("/v1/completions");
  no_model.model.reset();
  for (const auto& record : {with_id, without_id, string_id, batch_record("/v1/chat/completions"),
                             batch_record("/v1/completions"), no_model}) {
    for (const auto& response : {good_response(), bad_response()}) {
      const auto expected = format_output_line(make_output_line(record, response, "http://n:1", 5));
      InputRecord copy = record;
      auto identity = RecordIdentity::of(std::move(copy), record_hash(record));
      EXPECT_EQ(identity.batch != nullptr, record.batch);
      EXPECT_EQ(
          format_output_line(make_output_line(std::move(identity), response, "http://n:1", 5)),
          expected);
    }
  }
}

TEST(OutputLine, PlainSuccessHasEveryField) {
  InputRecord record;
  record.index = 12;
  record.id = "q12";
  const auto text =
      format_output_line(make_output_line(record, good_response(), "http://node1:8000", 1027));
  EXPECT_EQ(text.find('\n'), std::string::npos);
  EXPECT_EQ(text.rfind("{\"index\":12,", 0), 0U) << "index comes first: " << text;
  json line = json::parse(text);
  // The record's fingerprint (what --resume checks), then the rest.
  EXPECT_EQ(line["input_hash"], format_record_hash(record_hash(record)));
  line.erase("input_hash");
  EXPECT_EQ(line, json::parse(R"({
    "index": 12, "id": "q12", "agent": 1027, "endpoint": "http://node1:8000", "success": true,
    "text": "The answer is 4.", "error": null, "http_status": 200, "latency_ms": 12.346,
    "attempts": 2, "usage": {"prompt_tokens": 11, "completion_tokens": 5, "total_tokens": 16},
    "finish_reason": "stop", "reasoning": null, "response_id": null, "model": null})"));
}

TEST(OutputLine, PlainFailureWithoutIdOrAgent) {
  InputRecord record;
  record.index = 0;
  const json line =
      json::parse(format_output_line(make_output_line(record, bad_response(), "", -1)));
  EXPECT_FALSE(line.contains("id"));
  EXPECT_FALSE(line.contains("custom_id"));
  EXPECT_FALSE(line.contains("response"));
  EXPECT_EQ(line["agent"], -1);
  EXPECT_EQ(line["endpoint"], "");
  EXPECT_EQ(line["success"], false);
  EXPECT_EQ(line["text"], "");
  EXPECT_EQ(line["error"], "HTTP 503: overloaded");
  EXPECT_EQ(line["http_status"], 503);
  EXPECT_EQ(line["latency_ms"], 1500.0);
  EXPECT_TRUE(line["finish_reason"].is_null());
}

TEST(OutputLine, NumericIdIsKept) {
  InputRecord record;
  record.id = 42;
  const json line =
      json::parse(format_output_line(make_output_line(record, good_response(), "", 0)));
  EXPECT_EQ(line["id"], 42);
}

// The server's reply, as kept by AgentPool::submit_request.
constexpr const char* kServerBody =
    R"({"id":"chatcmpl-xyz","object":"chat.completion","created":1,"model":"served",)"
    R"("choices":[{"index":0,"message":{"role":"assistant","content":"","reasoning":"r"},)"
    R"("finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":2,)"
    R"("total_tokens":3,"completion_tokens_details":{"reasoning_tokens":2}},"x_extra":[1.5,null]})";

TEST(OutputLine, BatchSuccessIsTheOpenAiBatchOutputShapeWithTheServersBody) {
  auto r = good_response();
  r.body = kServerBody;
  r.response_id = "chatcmpl-xyz";
  r.reasoning = "r";
  const auto text = format_output_line(
      make_output_line(batch_record("/v1/chat/completions"), r, "http://n:1", 3));
  EXPECT_EQ(text.rfind(R"({"id":"aswarm-4","custom_id":"req-4","response":)", 0), 0U) << text;
  json line = json::parse(text);
  EXPECT_EQ(line.size(), 5u);  // id, custom_id, response, error, aswarm: nothing else on top
  EXPECT_EQ(line["aswarm"]["input_hash"],
            format_record_hash(record_hash(batch_record("/v1/chat/completions"))));
  line["aswarm"].erase("input_hash");
  EXPECT_TRUE(line["error"].is_null());
  EXPECT_EQ(line["response"]["status_code"], 200);
  EXPECT_EQ(line["response"]["request_id"], "chatcmpl-xyz");
  EXPECT_EQ(line["response"]["body"], json::parse(kServerBody));  // as received, not rebuilt
  EXPECT_EQ(line["aswarm"], json::parse(R"({
    "index": 4, "success": true, "agent": 3, "endpoint": "http://n:1", "http_status": 200,
    "latency_ms": 12.346, "attempts": 2, "text": "The answer is 4.", "reasoning": "r",
    "finish_reason": "stop",
    "usage": {"prompt_tokens": 11, "completion_tokens": 5, "total_tokens": 16}})"));
}

TEST(OutputLine, BatchHttpErrorKeepsTheResponseAndNamesTheKind) {
  auto r = bad_response();
  r.kind = swarm::FailureKind::http_status;
  r.body = R"({"error":{"message":"overloaded"}})";
  const json line = json::parse(format_output_line(
      make_output_line(batch_record("/v1/chat/completions"), r, "http://n:1", 3)));
  EXPECT_EQ(line["response"]["status_code"], 503);
  EXPECT_EQ(line["response"]["request_id"], "aswarm-4");
  EXPECT_EQ(line["response"]["body"], json::parse(r.body));
  EXPECT_EQ(line["error"],
            json::parse(R"({"code": "http_status", "message": "HTTP 503: overloaded"})"));
  EXPECT_EQ(line["aswarm"]["success"], false);
  // A non-JSON body (a proxy's page) leaves body null; the error says what it was.
  r.body = "<html>oops</html>";
  const json page = json::parse(format_output_line(
      make_output_line(batch_record("/v1/chat/completions"), r, "http://n:1", 3)));
  EXPECT_TRUE(page["response"]["body"].is_null());
}

TEST(OutputLine, BatchTransportFailureHasNullResponse) {
  auto r = swarm::Response::failure("connection refused", 1, swarm::FailureKind::connect);
  const json line = json::parse(format_output_line(
      make_output_line(batch_record("/v1/chat/completions"), r, "http://n:1", 3)));
  EXPECT_TRUE(line["response"].is_null());
  EXPECT_EQ(line["error"], json::parse(R"({"code": "connect", "message": "connection refused"})"));
  EXPECT_EQ(line["custom_id"], "req-4");
}

TEST(OutputLine, PlainLinesKeepReasoningAndTheServersIdentity) {
  auto r = good_response();
  r.reasoning = "thinking";
  r.response_id = "chatcmpl-1";
  r.model = "served";
  r.usage.reasoning_tokens = 4;
  const json line = json::parse(format_output_line(make_output_line(InputRecord{}, r, "", 0)));
  EXPECT_EQ(line["reasoning"], "thinking");
  EXPECT_EQ(line["response_id"], "chatcmpl-1");
  EXPECT_EQ(line["model"], "served");
  EXPECT_EQ(line["usage"]["reasoning_tokens"], 4);
}

TEST(OutputLine, InvalidUtf8IsReplacedNotThrown) {
  InputRecord record;
  auto response = swarm::Response::ok("ok \xFF\xFE bytes \xC3");
  auto failed = swarm::Response::failure("bad \x80 error");
  std::string text;
  ASSERT_NO_THROW(text = format_output_line(make_output_line(record, response, "", 0)));
  EXPECT_EQ(json::parse(text)["text"], "ok \xEF\xBF\xBD\xEF\xBF\xBD bytes \xEF\xBF\xBD");
  ASSERT_NO_THROW(
      text = format_output_line(make_output_line(batch_record("/v1/completions"), failed, "", 0)));
  EXPECT_EQ(json::parse(text)["error"]["message"], "bad \xEF\xBF\xBD error");
}

/// The plain line as an ordered_json object dumped (how format_output_line built it before it
/// appended the fields itself): the reference for its bytes.
std::string dom_line(const OutputLine& line) {
  using ojson = nlohmann::ordered_json;
  const auto& r = line.response;
  const auto or_null = [](const std::string& s) { return s.empty() ? ojson(nullptr) : ojson(s); };
  ojson out;
  out["index"] = line.index;
  if (!line.id.is_null()) out["id"] = line.id;
  out["agent"] = line.agent;
  out["endpoint"] = line.endpoint;
  out["success"] = r.success;
  out["text"] = r.text;
  out["error"] = r.success ? ojson(nullptr) : ojson(r.error);
  out["http_status"] = r.http_status;
  out["latency_ms"] = std::round(r.latency.count() * 1e6) / 1e3;
  out["attempts"] = r.attempts;
  ojson u{{"prompt_tokens", r.usage.prompt_tokens},
          {"completion_tokens", r.usage.completion_tokens},
          {"total_tokens", r.usage.total_tokens}};
  if (r.usage.reasoning_tokens != 0) u["reasoning_tokens"] = r.usage.reasoning_tokens;
  out["usage"] = u;
  out["finish_reason"] = or_null(r.finish_reason);
  out["reasoning"] = or_null(r.reasoning);
  out["response_id"] = or_null(r.response_id);
  out["model"] = or_null(r.model);
  if (line.input_hash != 0) out["input_hash"] = format_record_hash(line.input_hash);
  return out.dump(-1, ' ', false, ojson::error_handler_t::replace);
}

TEST(OutputLine, PlainLinesAreTheBytesOfTheOrderedJsonDump) {
  std::string controls;
  for (int c = 0; c < 0x20; ++c) controls += static_cast<char>(c);
  const std::vector<std::string> texts = {
      "", "plain", "quote \" backslash \\ slash / del \x7f", controls,
      "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",  // valid UTF-8
      "bad \xff\xfe byte", "cut \xe2\x82", "lone \x80 continuation"};
  const std::vector<double> seconds = {0, 0.0123456, 1.5, 2.0, 1e-9, 12345.6789, 1e7, 0.0004996};
  const std::vector<json> ids = {json(), json(7), json("id-\xc3\xa9\n"), json(-3.25),
                                 json::parse(R"({"b":[1,"x"],"a":null})")};
  std::size_t k = 0;
  for (const auto& text : texts) {
    for (const bool success : {true, false}) {
      auto r = success ? swarm::Response::ok(text, 3) : swarm::Response::failure(text + " err", 1);
      r.http_status = success ? 200 : 503;
      r.latency = std::chrono::duration<double>(seconds[k % seconds.size()]);
      r.attempts = static_cast<int>(k % 4);
      r.usage = {static_cast<std::int64_t>(k), 5, static_cast<std::int64_t>(k) + 5,
                 k % 2 == 0 ? 0 : 2};
      r.finish_reason = k % 3 == 0 ? "" : "stop";
      r.reasoning = text;
      r.response_id = k % 2 == 0 ? "chatcmpl-" + text : "";
      r.model = text.empty() ? "" : "m/" + text;
      OutputLine line;
      line.index = k;
      line.id = ids[k % ids.size()];
      line.agent = static_cast<std::int64_t>(k) - 1;
      line.endpoint = k % 2 == 0 ? "http://127.0.0.1:8000" : text;
      line.input_hash = k % 2 == 0 ? 0 : 0x0123456789abcdefULL + k;
      line.response = std::move(r);
      EXPECT_EQ(format_output_line(line), dom_line(line)) << "case " << k;
      ++k;
    }
  }
}

TEST(OutputWriter, WritesOneLinePerCallAndFlushes) {
  TempDir dir;
  const auto path = dir.file("out.jsonl");
  OutputWriter writer(path);
  InputRecord record;
  for (std::size_t i = 0; i < 3; ++i) {
    record.index = i;
    writer.write(make_output_line(record, good_response(), "http://n:1", 0));
  }
  writer.flush();
  // Visible to another reader after flush(), before close().
  const auto lines = test::read_lines(path);
  ASSERT_EQ(lines.size(), 3U);
  for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(json::parse(lines[i])["index"], i);
  EXPECT_EQ(writer.lines_written(), 3U);
  writer.close();
  EXPECT_EQ(test::read_file(path).back(), '\n');
  EXPECT_THROW(writer.write(make_output_line(record, good_response(), "", 0)), std::logic_error);
}

TEST(OutputWriter, TruncatesAnExistingFile) {
  TempDir dir;
  const auto path = dir.file("out.jsonl");
  test::write_file(path, "old content\n");
  OutputWriter writer(path);
  writer.close();
  EXPECT_EQ(test::read_file(path), "");
}

TEST(OutputWriter, DashWritesToStdout) {
  testing::internal::CaptureStdout();
  {
    OutputWriter writer("-");
    writer.write(make_output_line(InputRecord{}, good_response(), "", 0));
    writer.flush();
  }
  const std::string captured = testing::internal::GetCapturedStdout();
  EXPECT_EQ(json::parse(captured)["text"], "The answer is 4.");
}

TEST(OutputWriter, DiskFullIsAnErrorNamingTheFile) {
  struct stat st {};
  if (::stat("/dev/full", &st) != 0) GTEST_SKIP() << "no /dev/full";
  OutputWriter writer("/dev/full");
  const std::string message = error_of<std::runtime_error>([&] {
    writer.write(make_output_line(InputRecord{}, good_response(), "", 0));
    writer.flush();
  });
  EXPECT_EQ(message, "cannot write '/dev/full': No space left on device");
}

TEST(OutputWriter, UnopenableFileIsAnError) {
  TempDir dir;
  EXPECT_EQ(error_of<std::runtime_error>([&] { OutputWriter writer(dir.path().string()); }),
            "cannot open '" + dir.path().string() + "': Is a directory");
}

}  // namespace
}  // namespace swarm::cli
