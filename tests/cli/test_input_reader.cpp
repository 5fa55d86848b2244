// InputReader: file:line errors, format mixing, duplicates, windowed reading, stdin/pipe spooling.

#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "io/input.hpp"
#include "test_util.hpp"

namespace swarm::cli {
namespace {

using test::error_of;
using test::TempDir;
using test::write_file;

// One valid OpenAI batch line.
const std::string kBatchLine =
    R"({"custom_id": "a", "method": "POST", "url": "/v1/completions", "body": {"prompt": "p"}})";

std::string validate_error(const std::string& path) {
  return error_of<InputError>([&] {
    InputReader reader(path);
    reader.validate();
  });
}

std::vector<InputRecord> read_all(InputReader& reader, std::size_t window) {
  std::vector<InputRecord> all;
  for (auto batch = reader.next(window); !batch.empty(); batch = reader.next(window)) {
    EXPECT_LE(batch.size(), window);
    for (auto& record : batch) all.push_back(std::move(record));
  }
  return all;
}

TEST(InputReader, ErrorsNameFileAndLineCountingBlankLines) {
  TempDir dir;
  const auto path = dir.file("in.jsonl");
  write_file(path, "\"ok\"\n\n   \n{\"prompt\": 3}\n\"never reached\"\n");
  EXPECT_EQ(validate_error(path), path + ":4: \"prompt\" must be a string, got number");
  write_file(path, "\"ok\"\nnot json\n");
  EXPECT_EQ(validate_error(path), path +
                                      ":2: invalid JSON at column 2: syntax error while parsing "
                                      "value - invalid literal; last read: 'no'");
  write_file(path, "\"a\"\r\n[1]\r\n");
  EXPECT_EQ(validate_error(path),
            path + ":2: expected a JSON string (the prompt) or an object, got array");
  // A torn (unterminated) last line of an input is an error like any other.
  write_file(path, "\"a\"\n{\"prompt\": \"b");
  EXPECT_NE(validate_error(path).find(path + ":2: invalid JSON"), std::string::npos);
}

TEST(InputReader, MissingFileIsARuntimeError) {
  TempDir dir;
  const auto message =
      error_of<std::runtime_error>([&] { InputReader reader(dir.file("nope.jsonl")); });
  EXPECT_EQ(message, "cannot open '" + dir.file("nope.jsonl") + "': No such file or directory");
}

TEST(InputReader, PlainAndIdObjectsMix) {
  TempDir dir;
  const auto path = dir.file("in.jsonl");
  write_file(path,
             "\"one\"\n{\"id\": \"b\", \"prompt\": \"two\"}\n\"three\"\n{\"prompt\": \"four\"}\n");
  InputReader reader(path);
  EXPECT_EQ(reader.validate(), 4U);
  EXPECT_FALSE(reader.batch());
  const auto records = read_all(reader, 10);
  ASSERT_EQ(records.size(), 4U);
  EXPECT_EQ(records[1].id, "b");
  EXPECT_EQ(records[3].prompt, "four");
  EXPECT_TRUE(records[3].id.is_null());
}

TEST(InputReader, PlainTextLinesAreItems) {
  // --input-format text: the seed's scripts read plain text, CSV and TSV rows, one per line.
  TempDir dir;
  const auto path = dir.file("items.txt");
  write_file(path, "apple,red\n\n  pear\tgreen \r\n{\"id\": 1, \"prompt\": \"p\"}\n\"q\"\n");
  InputReader reader(path);
  reader.set_plain_text(true);
  EXPECT_EQ(reader.validate(), 4U);
  const auto records = read_all(reader, 10);
  ASSERT_EQ(records.size(), 4U);
  EXPECT_EQ(records[0].prompt, "apple,red");
  EXPECT_EQ(records[1].prompt, "pear\tgreen");
  EXPECT_EQ(records[1].line, 3U);
  EXPECT_EQ(records[2].prompt, R"({"id": 1, "prompt": "p"})");  // text, not JSON
  EXPECT_TRUE(records[2].id.is_null());
  EXPECT_EQ(records[3].prompt, "\"q\"");
}

TEST(InputReader, BatchLinesDoNotMixWithPlainPrompts) {
  TempDir dir;
  const auto path = dir.file("in.jsonl");
  write_file(path, "\n\"plain\"\n" + kBatchLine + "\n");
  EXPECT_EQ(validate_error(path),
            path +
                ":3: an OpenAI batch request cannot be mixed with plain prompts (first plain "
                "prompt on line 2)");
  write_file(path, kBatchLine + "\n\n{\"id\": 1, \"prompt\": \"x\"}\n");
  EXPECT_EQ(validate_error(path),
            path +
                ":3: a plain prompt cannot be mixed with OpenAI batch requests (first batch "
                "request on line 1)");
}

TEST(InputReader, DuplicateIdsNameBothLines) {
  TempDir dir;
  const auto path = dir.file("in.jsonl");
  write_file(path, "{\"id\": 7, \"prompt\": \"a\"}\n\"b\"\n{\"id\": 7, \"prompt\": \"c\"}\n");
  EXPECT_EQ(validate_error(path), path + ":3: duplicate id 7 (first on line 1)");
  write_file(path, "{\"id\": \"q\", \"prompt\": \"a\"}\n\n{\"id\": \"q\", \"prompt\": \"c\"}\n");
  EXPECT_EQ(validate_error(path), path + ":3: duplicate id \"q\" (first on line 1)");
  // 7 and "7" are different ids; records without ids never collide.
  write_file(path,
             "{\"id\": 7, \"prompt\": \"a\"}\n{\"id\": \"7\", \"prompt\": \"b\"}\n\"x\"\n\"x\"\n");
  InputReader ok(path);
  EXPECT_EQ(ok.validate(), 4U);

  const auto line = [](const std::string& id) {
    return R"({"custom_id": ")" + id +
           R"(", "method": "POST", "url": "/v1/chat/completions", "body": {"messages": [{"role": "user", "content": "q"}]}})" +
           "\n";
  };
  write_file(path, line("r1") + line("r2") + line("r1"));
  EXPECT_EQ(validate_error(path), path + ":3: duplicate custom_id \"r1\" (first on line 1)");
}

// Every id gets the same hash: each one goes through the exact comparison of the re-read.
std::uint64_t colliding_hash(std::string_view /*key*/) noexcept {
  return 42;
}

std::string validate_error_colliding(const std::string& path) {
  return error_of<InputError>([&] {
    InputReader reader(path);
    reader.set_duplicate_hash(colliding_hash);
    reader.validate();
  });
}

TEST(InputReader, HashCollisionsOfDifferentIdsAreNotDuplicates) {
  TempDir dir;
  const auto path = dir.file("in.jsonl");
  write_file(path,
             "{\"id\": 1, \"prompt\": \"a\"}\n{\"id\": 2, \"prompt\": \"b\"}\n"
             "{\"id\": \"1\", \"prompt\": \"c\"}\n\"no id\"\n");
  InputReader reader(path);
  reader.set_duplicate_hash(colliding_hash);
  ASSERT_EQ(reader.validate(), 4U);
  // The re-read must leave the reader at the start.
  const auto records = read_all(reader, 3);
  ASSERT_EQ(records.size(), 4U);
  EXPECT_EQ(records[0].id, 1);
  EXPECT_EQ(records[3].prompt, "no id");
}

TEST(InputReader, DuplicateFoundThroughCollidingHashesNamesBothLines) {
  TempDir dir;
  const auto path = dir.file("in.jsonl");
  // Two repeated ids: the first repetition in file order is reported (b on line 4), as a check
  // line by line would.
  write_file(path,
             "{\"id\": \"a\", \"prompt\": \"1\"}\n{\"id\": \"b\", \"prompt\": \"2\"}\n\n"
             "{\"id\": \"b\", \"prompt\": \"3\"}\n{\"id\": \"a\", \"prompt\": \"4\"}\n");
  EXPECT_EQ(validate_error_colliding(path), path + ":4: duplicate id \"b\" (first on line 2)");
  EXPECT_EQ(validate_error(path), path + ":4: duplicate id \"b\" (first on line 2)");
}

TEST(InputReader, FirstErrorInFileOrderWinsBetweenDuplicateAndBadLine) {
  TempDir dir;
  const auto path = dir.file("in.jsonl");
  const std::string dup = "{\"id\": 5, \"prompt\": \"a\"}\n{\"id\": 5, \"prompt\": \"b\"}\n";
  write_file(path, dup + "not json\n");
  EXPECT_EQ(validate_error(path), path + ":2: duplicate id 5 (first on line 1)");
  EXPECT_EQ(validate_error_colliding(path), path + ":2: duplicate id 5 (first on line 1)");
  write_file(path, "{\"id\": 5, \"prompt\": \"a\"}\n[]\n{\"id\": 5, \"prompt\": \"b\"}\n");
  EXPECT_EQ(validate_error(path),
            path + ":2: expected a JSON string (the prompt) or an object, got array");
  // A duplicate on the bad line itself is not reached: the line is reported as it is.
  write_file(path, "{\"id\": 5, \"prompt\": \"a\"}\n" + kBatchLine + "\n");
  EXPECT_EQ(validate_error_colliding(path),
            path +
                ":2: an OpenAI batch request cannot be mixed with plain prompts (first plain "
                "prompt on line 1)");
}

TEST(InputReader, Utf8BomOnFirstLineIsIgnored) {
  TempDir dir;
  const auto path = dir.file("in.jsonl");
  write_file(path, "\xEF\xBB\xBF\"first\"\n\"second\"\n");
  InputReader reader(path);
  ASSERT_EQ(reader.validate(), 2U);
  EXPECT_EQ(reader.next(1).at(0).prompt, "first");
}

TEST(InputReader, WindowsKeepInputOrderAcrossBoundaries) {
  TempDir dir;
  const auto path = dir.file("in.jsonl");
  std::string content;
  std::vector<std::size_t> lines;
  std::size_t line = 0;
  for (int i = 0; i < 10; ++i) {
    if (i % 3 == 0) {
      content += "\n";  // blank lines shift line numbers, not indices
      ++line;
    }
    content +=
        "{\"id\": " + std::to_string(100 + i) + ", \"prompt\": \"p" + std::to_string(i) + "\"}\n";
    lines.push_back(++line);
  }
  write_file(path, content + "\n\n");
  InputReader reader(path);
  ASSERT_EQ(reader.validate(), 10U);
  std::vector<std::size_t> sizes;
  std::size_t expected = 0;
  for (auto window = reader.next(3); !window.empty(); window = reader.next(3)) {
    sizes.push_back(window.size());
    for (const auto& record : window) {
      EXPECT_EQ(record.index, expected);
      EXPECT_EQ(record.line, lines[expected]);
      EXPECT_EQ(record.id, 100 + static_cast<int>(expected));
      EXPECT_EQ(record.prompt, "p" + std::to_string(expected));
      ++expected;
    }
  }
  EXPECT_EQ(sizes, (std::vector<std::size_t>{3, 3, 3, 1}));
  EXPECT_TRUE(reader.next(3).empty());  // stays exhausted
  EXPECT_TRUE(reader.next(0).empty());
}

TEST(InputReader, MustValidateOnceBeforeReading) {
  TempDir dir;
  const auto path = dir.file("in.jsonl");
  write_file(path, "\"a\"\n");
  InputReader reader(path);
  EXPECT_THROW(reader.next(1), std::logic_error);
  reader.validate();
  EXPECT_THROW(reader.validate(), std::logic_error);
}

TEST(InputReader, FileChangedAfterValidationIsDetected) {
  TempDir dir;
  const auto path = dir.file("in.jsonl");
  write_file(path, "\"a\"\n\"b\"\n\"c\"\n");
  InputReader reader(path);
  ASSERT_EQ(reader.validate(), 3U);
  write_file(path, "\"a\"\n");  // same inode, truncated
  EXPECT_EQ(reader.next(10).size(), 1U);
  EXPECT_EQ(error_of<InputError>([&] { reader.next(10); }),
            path + ": the file changed after it was validated (fewer records)");

  write_file(path, "\"a\"\n");
  InputReader grown(path);
  ASSERT_EQ(grown.validate(), 1U);
  write_file(path, "\"a\"\n\"b\"\n");
  EXPECT_EQ(error_of<InputError>([&] { grown.next(10); }),
            path + ":2: the file changed after it was validated (more records)");
}

TEST(InputReader, KeyFingerprintsPerRecord) {
  TempDir dir;
  const auto path = dir.file("in.jsonl");
  write_file(path, "{\"id\": 1, \"prompt\": \"a\"}\n\n\"b\"\n");
  InputReader reader(path);
  reader.validate();
  const auto fingerprints = reader.key_fingerprints();
  ASSERT_EQ(fingerprints.size(), 2U);
  EXPECT_EQ(fingerprints[0], key_fingerprint(false, 1, ""));
  EXPECT_EQ(fingerprints[1], 0U);
}

TEST(InputReader, KeyFingerprintsDoNotDisturbReading) {
  TempDir dir;
  const auto path = dir.file("in.jsonl");
  write_file(path, "{\"id\": 1, \"prompt\": \"a\"}\n\"b\"\n{\"id\": \"c\", \"prompt\": \"c\"}\n");
  InputReader reader(path);
  reader.validate();
  ASSERT_EQ(reader.next(1).at(0).prompt, "a");
  const auto fingerprints = reader.key_fingerprints();
  ASSERT_EQ(fingerprints.size(), 3U);
  EXPECT_EQ(fingerprints[2], key_fingerprint(false, "c", ""));
  const auto rest = reader.next(10);
  ASSERT_EQ(rest.size(), 2U);
  EXPECT_EQ(rest[0].prompt, "b");
  EXPECT_EQ(rest[1].index, 2U);
  EXPECT_EQ(rest[1].line, 3U);
  EXPECT_EQ(reader.key_fingerprints().data(), fingerprints.data());  // computed once

  InputReader early(path);
  EXPECT_THROW(early.key_fingerprints(), std::logic_error);
  early.validate();
  write_file(path, "\"a\"\n");
  EXPECT_EQ(error_of<InputError>([&] { early.key_fingerprints(); }),
            path + ": the file changed after it was validated (fewer records)");
}

// Writes `content` into a pipe from a thread (bigger than the pipe buffer, so validate() must
// consume while the writer is still writing) and returns the read end.
class PipeFeeder {
 public:
  explicit PipeFeeder(std::string content) : content_(std::move(content)) {
    int fds[2];
    if (::pipe(fds) != 0) throw std::runtime_error("pipe failed");
    read_fd_ = fds[0];
    writer_ = std::thread([this, fd = fds[1]] {
      std::size_t done = 0;
      while (done < content_.size()) {
        const auto n = ::write(fd, content_.data() + done, content_.size() - done);
        if (n <= 0) break;
        done += static_cast<std::size_t>(n);
      }
      ::close(fd);
    });
  }
  ~PipeFeeder() {
    writer_.join();
    if (read_fd_ >= 0) ::close(read_fd_);
  }
  PipeFeeder(const PipeFeeder&) = delete;
  PipeFeeder& operator=(const PipeFeeder&) = delete;
  [[nodiscard]] int read_fd() const { return read_fd_; }

 private:
  std::string content_;
  int read_fd_ = -1;
  std::thread writer_;
};

std::string many_prompts(std::size_t count) {
  std::string content;
  for (std::size_t i = 0; i < count; ++i) {
    content += "{\"id\": " + std::to_string(i) + ", \"prompt\": \"prompt number " +
               std::to_string(i) + " padded to make the pipe overflow\"}\n";
  }
  return content;
}

void expect_many_prompts(InputReader& reader, std::size_t count) {
  ASSERT_EQ(reader.validate(), count);
  const auto records = read_all(reader, 997);
  ASSERT_EQ(records.size(), count);
  for (std::size_t i = 0; i < count; i += 1111) {
    EXPECT_EQ(records[i].index, i);
    EXPECT_EQ(records[i].id, i);
    EXPECT_EQ(records[i].prompt,
              "prompt number " + std::to_string(i) + " padded to make the pipe overflow");
  }
}

TEST(InputReader, StreamIsSpooledAndReadBack) {
  PipeFeeder feeder(many_prompts(5000));  // ~350 KB: several pipe buffers
  std::FILE* stream = ::fdopen(::dup(feeder.read_fd()), "r");
  ASSERT_NE(stream, nullptr);
  {
    InputReader reader(stream, "<pipe>");
    expect_many_prompts(reader, 5000);
  }
  std::fclose(stream);
}

TEST(InputReader, DuplicateInSpooledStreamIsConfirmedFromTheSpool) {
  std::string content = many_prompts(3000);
  content += "{\"id\": 1234, \"prompt\": \"again\"}\n";
  PipeFeeder feeder(content);
  std::FILE* stream = ::fdopen(::dup(feeder.read_fd()), "r");
  ASSERT_NE(stream, nullptr);
  EXPECT_EQ(error_of<InputError>([&] {
              InputReader reader(stream, "<pipe>");
              reader.set_duplicate_hash(colliding_hash);
              reader.validate();
            }),
            "<pipe>:3001: duplicate id 1234 (first on line 1235)");
  std::fclose(stream);
}

TEST(InputReader, PipeGivenAsPathIsSpooled) {
  // What `--input <(zcat prompts.jsonl.gz)` hands us: a /dev/fd path to a pipe.
  PipeFeeder feeder(many_prompts(3000));
  InputReader reader("/proc/self/fd/" + std::to_string(feeder.read_fd()));
  expect_many_prompts(reader, 3000);
}

TEST(InputReader, DashReadsStdin) {
  PipeFeeder feeder("\"from stdin\"\n{\"id\": 2, \"prompt\": \"x\"}\n");
  const int saved = ::dup(STDIN_FILENO);
  ASSERT_GE(saved, 0);
  ASSERT_EQ(::dup2(feeder.read_fd(), STDIN_FILENO), STDIN_FILENO);
  std::clearerr(stdin);
  std::vector<InputRecord> records;
  std::string name;
  std::string error;
  try {
    InputReader reader("-");
    name = reader.name();
    reader.validate();
    records = read_all(reader, 1);
  } catch (const std::exception& e) {
    error = e.what();
  }
  ::dup2(saved, STDIN_FILENO);
  ::close(saved);
  std::clearerr(stdin);
  EXPECT_EQ(error, "");
  EXPECT_EQ(name, "<stdin>");
  ASSERT_EQ(records.size(), 2U);
  EXPECT_EQ(records[0].prompt, "from stdin");
  EXPECT_EQ(records[1].id, 2);
}

TEST(InputReader, StdinErrorsSayStdin) {
  PipeFeeder feeder("\"a\"\n7\n");
  std::FILE* stream = ::fdopen(::dup(feeder.read_fd()), "r");
  ASSERT_NE(stream, nullptr);
  {
    InputReader reader(stream, "<stdin>");
    EXPECT_EQ(error_of<InputError>([&] { reader.validate(); }),
              "<stdin>:2: expected a JSON string (the prompt) or an object, got number");
  }
  std::fclose(stream);
}

TEST(InputReader, LargeInputStreamsThrough) {
  TempDir dir;
  const auto path = dir.file("big.jsonl");
  std::string content;
  constexpr std::size_t kCount = 100000;
  for (std::size_t i = 0; i < kCount; ++i) content += "\"prompt " + std::to_string(i) + "\"\n";
  write_file(path, content);
  InputReader reader(path);
  ASSERT_EQ(reader.validate(), kCount);
  std::size_t seen = 0;
  for (auto window = reader.next(4096); !window.empty(); window = reader.next(4096)) {
    EXPECT_EQ(window.front().index, seen);
    seen += window.size();
  }
  EXPECT_EQ(seen, kCount);
}

TEST(InputReader, LinesAreBoundedByMaxLineBytes) {
  TempDir dir;
  const auto path = dir.file("in.jsonl");
  // Exactly at the limit is fine (the '\n' does not count); one byte more is an error naming
  // the line, found after reading at most limit + 1 bytes of it.
  write_file(path, "\"ab\"\n\"abcdef\"\n\"abcdefg\"\n");
  const auto message = error_of<InputError>([&] {
    InputReader reader(path);
    reader.set_max_line_bytes(8);
    reader.validate();
  });
  EXPECT_EQ(message, path + ":3: line longer than 8 bytes (--max-line-bytes)");
  InputReader ok(path);
  ok.set_max_line_bytes(9);
  EXPECT_EQ(ok.validate(), 3u);
  EXPECT_EQ(read_all(ok, 2).back().prompt, "abcdefg");
  // /dev/zero never sends a newline: the reader stops at the limit instead of growing forever.
  const auto zero = error_of<InputError>([&] {
    InputReader reader("/dev/zero");
    reader.set_max_line_bytes(1 << 16);
    reader.validate();
  });
  EXPECT_EQ(zero, "/dev/zero:1: line longer than 65536 bytes (--max-line-bytes)");
}

}  // namespace
}  // namespace swarm::cli
