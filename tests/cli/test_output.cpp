// Output lines (plain and OpenAI batch shape) and the OutputWriter.

#include <sys/stat.h>

#include <stdexcept>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "io/output.hpp"
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
      auto identity = RecordIdentity::of(std::move(copy));
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
  const json line = json::parse(text);
  EXPECT_EQ(line, json::parse(R"({
    "index": 12, "id": "q12", "agent": 1027, "endpoint": "http://node1:8000", "success": true,
    "text": "The answer is 4.", "error": null, "http_status": 200, "latency_ms": 12.346,
    "attempts": 2, "usage": {"prompt_tokens": 11, "completion_tokens": 5, "total_tokens": 16},
    "finish_reason": "stop"})"));
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

TEST(OutputLine, BatchChatSuccessHasOpenAiBatchShape) {
  const json line = json::parse(format_output_line(
      make_output_line(batch_record("/v1/chat/completions"), good_response(), "http://n:1", 3)));
  EXPECT_EQ(line["custom_id"], "req-4");
  EXPECT_FALSE(line.contains("id"));
  EXPECT_TRUE(line["error"].is_null());
  EXPECT_EQ(line["text"], "The answer is 4.");
  EXPECT_EQ(line["response"], json::parse(R"({
    "status_code": 200,
    "body": {"id": "aswarm-4", "object": "chat.completion", "model": "llama-3",
             "choices": [{"index": 0, "message": {"role": "assistant", "content": "The answer is 4."},
                          "finish_reason": "stop"}],
             "usage": {"prompt_tokens": 11, "completion_tokens": 5, "total_tokens": 16}}})"));
}

TEST(OutputLine, BatchCompletionSuccess) {
  auto record = batch_record("/v1/completions");
  record.model.reset();
  const json line =
      json::parse(format_output_line(make_output_line(record, good_response(), "http://n:1", 3)));
  const json& body = line["response"]["body"];
  EXPECT_EQ(body["object"], "text_completion");
  EXPECT_FALSE(body.contains("model"));
  EXPECT_EQ(body["choices"][0]["text"], "The answer is 4.");
  EXPECT_FALSE(body["choices"][0].contains("message"));
  EXPECT_EQ(body["choices"][0]["finish_reason"], "stop");
}

TEST(OutputLine, BatchFailureHasNullResponseAndErrorObject) {
  const json line = json::parse(format_output_line(
      make_output_line(batch_record("/v1/chat/completions"), bad_response(), "http://n:1", 3)));
  EXPECT_TRUE(line["response"].is_null());
  EXPECT_EQ(line["error"], json::parse(R"({"message": "HTTP 503: overloaded"})"));
  EXPECT_EQ(line["success"], false);
  EXPECT_EQ(line["custom_id"], "req-4");
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
