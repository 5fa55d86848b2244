// Crash-safe resume: load_resume(), appending with OutputWriter, compact().

#include <sys/stat.h>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "io/input.hpp"
#include "io/output.hpp"
#include "io/resume.hpp"
#include "test_util.hpp"

namespace swarm::cli {
namespace {

using nlohmann::json;
using test::error_of;
using test::read_file;
using test::read_lines;
using test::TempDir;
using test::write_file;

InputRecord record_with_id(std::size_t index) {
  InputRecord record;
  record.index = index;
  record.id = "q" + std::to_string(index);
  return record;
}

// The exact line the writer produces for `index`, so files can be built and compared bytewise.
std::string line_for(std::size_t index, bool success, const std::string& text = "answer") {
  auto response = success ? swarm::Response::ok(text + " " + std::to_string(index), 0)
                          : swarm::Response::failure("boom " + text, 0);
  response.attempts = 1;
  return format_output_line(make_output_line(record_with_id(index), response, "http://a:1", 0));
}

std::vector<std::uint64_t> fingerprints_for(std::size_t count) {
  std::vector<std::uint64_t> out;
  for (std::size_t i = 0; i < count; ++i)
    out.push_back(key_fingerprint(false, "q" + std::to_string(i), ""));
  return out;
}

struct Warnings {
  std::vector<std::string> messages;
  WarningHandler handler() {
    return [this](const std::string& m) { messages.push_back(m); };
  }
};

TEST(Resume, MissingFileIsAFreshStart) {
  TempDir dir;
  const auto state = load_resume(dir.file("out.jsonl"), 5);
  EXPECT_FALSE(state.exists());
  EXPECT_EQ(state.expected_count(), 5U);
  EXPECT_EQ(state.done_count(), 0U);
  for (std::size_t i = 0; i < 6; ++i) EXPECT_FALSE(state.done(i));
}

TEST(Resume, RecordsSuccessesAndFailures) {
  TempDir dir;
  const auto path = dir.file("out.jsonl");
  // index 2 failed then succeeded, index 3 succeeded then failed: both count as done.
  write_file(path, line_for(0, true) + "\n" + line_for(1, false) + "\n" + line_for(2, false) +
                       "\n" + line_for(3, true) + "\n" + line_for(2, true) + "\n" +
                       line_for(3, false) + "\n");
  const auto state = load_resume(path, 6, fingerprints_for(6));
  EXPECT_TRUE(state.exists());
  EXPECT_TRUE(state.done(0));
  EXPECT_FALSE(state.done(1));
  EXPECT_TRUE(state.done(2));
  EXPECT_TRUE(state.done(3));
  EXPECT_FALSE(state.done(4));
  EXPECT_FALSE(state.done(99));
  EXPECT_EQ(state.done_count(), 3U);
  EXPECT_EQ(state.failed_count(), 1U);
  EXPECT_EQ(state.line_count(), 6U);
  EXPECT_FALSE(state.torn_tail());
  EXPECT_EQ(state.valid_bytes(), read_file(path).size());
}

TEST(Resume, TornLastLineIsIgnoredWithAWarningAndCutBeforeAppending) {
  TempDir dir;
  const auto path = dir.file("out.jsonl");
  const std::string good = line_for(0, true) + "\n" + line_for(1, true) + "\n";
  const std::string torn = line_for(2, true).substr(0, 25);  // SIGKILL mid-write
  write_file(path, good + torn);
  Warnings warnings;
  const auto state = load_resume(path, 4, fingerprints_for(4), warnings.handler());
  EXPECT_TRUE(state.torn_tail());
  EXPECT_EQ(state.done_count(), 2U);
  EXPECT_FALSE(state.done(2));
  EXPECT_EQ(state.valid_bytes(), good.size());
  ASSERT_EQ(warnings.messages.size(), 1U);
  EXPECT_EQ(warnings.messages[0], path +
                                      ":3: warning: ignoring the unparsable last line (a write "
                                      "cut short when the run was killed?)");

  OutputWriter writer(path, state);
  auto response = swarm::Response::ok("answer 2", 0);
  response.attempts = 1;
  writer.write(make_output_line(record_with_id(2), response, "http://a:1", 0));
  writer.close();
  EXPECT_EQ(read_file(path), good + line_for(2, true) + "\n");
}

TEST(Resume, TornLineFollowedOnlyByBlankLinesIsStillTheLastLine) {
  TempDir dir;
  const auto path = dir.file("out.jsonl");
  write_file(path, line_for(0, true) + "\n{\"index\": 1, \"succ\n\n");
  Warnings warnings;
  const auto state = load_resume(path, 2, {}, warnings.handler());
  EXPECT_TRUE(state.torn_tail());
  EXPECT_EQ(warnings.messages.size(), 1U);
}

TEST(Resume, NulGarbageTailFromACrashedNodeIsTorn) {
  TempDir dir;
  const auto path = dir.file("out.jsonl");
  write_file(path, line_for(0, true) + "\n" + std::string(64, '\0'));
  Warnings warnings;
  const auto state = load_resume(path, 2, {}, warnings.handler());
  EXPECT_TRUE(state.torn_tail());
  EXPECT_TRUE(state.done(0));
}

TEST(Resume, ValidLastLineWithoutNewlineGetsOneBeforeAppending) {
  TempDir dir;
  const auto path = dir.file("out.jsonl");
  write_file(path, line_for(0, true));  // killed right before the '\n'
  const auto state = load_resume(path, 2);
  EXPECT_FALSE(state.torn_tail());
  EXPECT_TRUE(state.needs_newline());
  EXPECT_TRUE(state.done(0));
  OutputWriter writer(path, state);
  auto response = swarm::Response::ok("answer 1", 0);
  response.attempts = 1;
  writer.write(make_output_line(record_with_id(1), response, "http://a:1", 0));
  writer.close();
  EXPECT_EQ(read_file(path), line_for(0, true) + "\n" + line_for(1, true) + "\n");
}

TEST(Resume, UnparsableLineInTheMiddleIsAnError) {
  TempDir dir;
  const auto path = dir.file("out.jsonl");
  write_file(path, line_for(0, true) + "\n{garbage\n" + line_for(1, true) + "\n");
  EXPECT_EQ(error_of<InputError>([&] { load_resume(path, 3); }),
            path + ":2: invalid JSON (not an aswarm output line)");
  EXPECT_EQ(error_of<InputError>([&] { compact(path, 3); }),
            path + ":2: invalid JSON (not an aswarm output line)");
}

TEST(Resume, LinesThatAreNotOutputLinesAreErrorsEvenLast) {
  TempDir dir;
  const auto path = dir.file("out.jsonl");
  write_file(path, line_for(0, true) + "\n\"just a prompt\"\n");
  EXPECT_EQ(error_of<InputError>([&] { load_resume(path, 3); }),
            path + ":2: not an aswarm output line (expected a JSON object)");
  write_file(path, "{\"prompt\": \"x\"}\n");
  EXPECT_EQ(error_of<InputError>([&] { load_resume(path, 3); }),
            path + ":1: not an aswarm output line (no integer \"index\")");
  write_file(path, "{\"index\": -1, \"success\": true}\n");
  EXPECT_EQ(error_of<InputError>([&] { load_resume(path, 3); }),
            path + ":1: not an aswarm output line (no integer \"index\")");
  write_file(path, "{\"index\": 0}\n");
  EXPECT_EQ(error_of<InputError>([&] { load_resume(path, 3); }),
            path + ":1: not an aswarm output line (no boolean \"success\")");
}

TEST(Resume, OutputOfAnotherInputIsRejected) {
  TempDir dir;
  const auto path = dir.file("out.jsonl");
  write_file(path, line_for(0, true) + "\n" + line_for(5, true) + "\n");
  EXPECT_EQ(error_of<InputError>([&] { load_resume(path, 5); }),
            path +
                ":2: index 5 is out of range for an input of 5 requests (is this the output "
                "of another input?)");
  // Same size, other ids.
  std::vector<std::uint64_t> other(6);
  for (std::size_t i = 0; i < other.size(); ++i)
    other[i] = key_fingerprint(false, static_cast<int>(i), "");
  EXPECT_EQ(error_of<InputError>([&] { load_resume(path, 6, other); }),
            path +
                ":1: id \"q0\" does not match input request 0 (is this the output of another "
                "input?)");
  // An input without ids against an output with ids, and the other way round.
  EXPECT_EQ(error_of<InputError>([&] { load_resume(path, 6, std::vector<std::uint64_t>(6, 0)); }),
            path +
                ":1: id \"q0\" does not match input request 0 (is this the output of another "
                "input?)");
  auto batch = make_output_line(
      InputRecord{.index = 0, .batch = true, .custom_id = "r0", .url = "/v1/completions"},
      swarm::Response::ok("x"), "", 0);
  write_file(path, format_output_line(batch) + "\n");
  EXPECT_EQ(error_of<InputError>([&] { load_resume(path, 6, fingerprints_for(6)); }),
            path +
                ":1: custom_id \"r0\" does not match input request 0 (is this the output of "
                "another input?)");
  const std::vector<std::uint64_t> batch_input{key_fingerprint(true, nullptr, "r0")};
  EXPECT_TRUE(load_resume(path, 1, batch_input).done(0));
}

TEST(Resume, FingerprintsComeFromTheInputReader) {
  TempDir dir;
  const auto input = dir.file("in.jsonl");
  const auto output = dir.file("out.jsonl");
  write_file(input, "{\"id\": \"q0\", \"prompt\": \"a\"}\n{\"id\": \"q1\", \"prompt\": \"b\"}\n");
  InputReader reader(input);
  reader.validate();
  write_file(output, line_for(1, true) + "\n");
  EXPECT_TRUE(load_resume(output, reader.count(), reader.key_fingerprints()).done(1));
  write_file(input, "{\"id\": \"x0\", \"prompt\": \"a\"}\n{\"id\": \"x1\", \"prompt\": \"b\"}\n");
  InputReader other(input);
  other.validate();
  EXPECT_THROW(load_resume(output, other.count(), other.key_fingerprints()), InputError);
}

TEST(Resume, StdoutCannotBeResumed) {
  EXPECT_THROW(load_resume("-", 3), std::runtime_error);
  EXPECT_THROW(OutputWriter("-", ResumeState(3)), std::runtime_error);
}

TEST(Resume, WriterCreatesTheFileWhenNothingWasWritten) {
  TempDir dir;
  const auto path = dir.file("out.jsonl");
  const auto state = load_resume(path, 1);
  OutputWriter writer(path, state);
  auto response = swarm::Response::ok("answer 0", 0);
  response.attempts = 1;
  writer.write(make_output_line(record_with_id(0), response, "http://a:1", 0));
  writer.close();
  EXPECT_EQ(read_file(path), line_for(0, true) + "\n");
}

// The whole story: a run killed mid-line, a resumed run that redoes the missing and failed
// indices (and is itself killed once), then compaction.
TEST(Resume, KilledRunResumedTwiceThenCompactedHasOneLinePerIndexInOrder) {
  TempDir dir;
  const auto path = dir.file("out.jsonl");
  constexpr std::size_t kCount = 10;
  const auto fingerprints = fingerprints_for(kCount);
  // Run 1: indices 0..5 written (3 failed), killed while writing 6.
  std::string run1;
  for (std::size_t i = 0; i < 6; ++i) run1 += line_for(i, i != 3, "first") + "\n";
  write_file(path, run1 + line_for(6, true, "first").substr(0, 40));

  // Run 2: redoes 3 (fails again) and 6, 7; killed while writing 8.
  Warnings warnings;
  auto state = load_resume(path, kCount, fingerprints, warnings.handler());
  std::vector<std::size_t> todo;
  for (std::size_t i = 0; i < kCount; ++i) {
    if (!state.done(i)) todo.push_back(i);
  }
  EXPECT_EQ(todo, (std::vector<std::size_t>{3, 6, 7, 8, 9}));
  {
    OutputWriter writer(path, state);
    for (std::size_t i : {3, 6, 7}) {
      auto response = i == 3 ? swarm::Response::failure("boom second", 0)
                             : swarm::Response::ok("second " + std::to_string(i), 0);
      response.attempts = 1;
      writer.write(make_output_line(record_with_id(i), response, "http://a:1", 0));
    }
    writer.flush();
  }
  {
    std::FILE* raw = std::fopen(path.c_str(), "a");
    std::fputs(line_for(8, true, "second").substr(0, 10).c_str(), raw);
    std::fclose(raw);
  }

  // Run 3: finishes 3 (now succeeds), 8, 9.
  state = load_resume(path, kCount, fingerprints, warnings.handler());
  EXPECT_EQ(warnings.messages.size(), 2U);
  todo.clear();
  for (std::size_t i = 0; i < kCount; ++i) {
    if (!state.done(i)) todo.push_back(i);
  }
  EXPECT_EQ(todo, (std::vector<std::size_t>{3, 8, 9}));
  {
    OutputWriter writer(path, state);
    for (std::size_t i : {3, 8, 9}) {
      auto response = swarm::Response::ok("third " + std::to_string(i), 0);
      response.attempts = 1;
      writer.write(make_output_line(record_with_id(i), response, "http://a:1", 0));
    }
    writer.close();
  }
  // Every line is intact before compaction: load_resume() sees no torn tail.
  EXPECT_FALSE(load_resume(path, kCount, fingerprints).torn_tail());

  const auto result = compact(path, kCount);
  EXPECT_TRUE(result.rewritten);
  EXPECT_EQ(result.lines_read, 12U);  // 6 + 3 + 3; torn tails were cut
  EXPECT_EQ(result.lines_written, kCount);
  EXPECT_EQ(result.missing, 0U);
  const auto lines = read_lines(path);
  ASSERT_EQ(lines.size(), kCount);
  for (std::size_t i = 0; i < kCount; ++i) {
    const json line = json::parse(lines[i]);
    EXPECT_EQ(line["index"], i);
    EXPECT_EQ(line["success"], true) << i;
  }
  EXPECT_EQ(lines[0], line_for(0, true, "first"));
  EXPECT_EQ(lines[3], line_for(3, true, "third"));
  EXPECT_EQ(lines[6], line_for(6, true, "second"));
  EXPECT_EQ(lines[9], line_for(9, true, "third"));
  // Compacted and in order: a second compaction is a no-op.
  EXPECT_FALSE(compact(path, kCount).rewritten);
}

TEST(Compact, LastSuccessWinsElseLastFailure) {
  TempDir dir;
  const auto path = dir.file("out.jsonl");
  write_file(path, line_for(2, true, "older") + "\n" + line_for(1, false, "one") + "\n" +
                       line_for(0, false, "first") + "\n" + line_for(2, true, "newer") + "\n" +
                       line_for(2, false, "after") + "\n" + line_for(0, false, "second") + "\n");
  const auto result = compact(path, 4);
  EXPECT_TRUE(result.rewritten);
  EXPECT_EQ(result.missing, 1U);  // index 3 never ran
  EXPECT_EQ(read_file(path), line_for(0, false, "second") + "\n" + line_for(1, false, "one") +
                                 "\n" + line_for(2, true, "newer") + "\n");
}

TEST(Compact, InOrderFileIsLeftUntouched) {
  TempDir dir;
  const auto path = dir.file("out.jsonl");
  const std::string content = line_for(0, true) + "\n" + line_for(1, false) + "\n";
  write_file(path, content);
  struct stat before {};
  ASSERT_EQ(::stat(path.c_str(), &before), 0);
  const auto result = compact(path, 3);
  EXPECT_FALSE(result.rewritten);
  EXPECT_EQ(result.missing, 1U);
  struct stat after {};
  ASSERT_EQ(::stat(path.c_str(), &after), 0);
  EXPECT_EQ(before.st_ino, after.st_ino);  // not replaced
  EXPECT_EQ(read_file(path), content);
}

TEST(Compact, BlankLinesAndMissingFinalNewlineAreCleanedUp) {
  TempDir dir;
  const auto path = dir.file("out.jsonl");
  write_file(path, line_for(0, true) + "\n\n" + line_for(1, true));
  EXPECT_TRUE(compact(path, 2).rewritten);
  EXPECT_EQ(read_file(path), line_for(0, true) + "\n" + line_for(1, true) + "\n");
}

TEST(Compact, DropsTornTailWithWarning) {
  TempDir dir;
  const auto path = dir.file("out.jsonl");
  write_file(path, line_for(0, true) + "\n" + line_for(1, true).substr(0, 9));
  Warnings warnings;
  EXPECT_TRUE(compact(path, 2, {.on_warning = warnings.handler()}).rewritten);
  EXPECT_EQ(warnings.messages.size(), 1U);
  EXPECT_EQ(read_file(path), line_for(0, true) + "\n");
}

TEST(Compact, FailureBeforeRenameLeavesTheOriginalAndNoTempFile) {
  TempDir dir;
  const auto path = dir.file("out.jsonl");
  const std::string content = line_for(1, true) + "\n" + line_for(0, true) + "\n";
  write_file(path, content);
  std::string temp_seen;
  const CompactOptions options{.before_rename = [&] {
    for (const auto& name : dir.entries()) {
      if (name != "out.jsonl") temp_seen = name;
    }
    // The temp file is complete when the rename would happen.
    EXPECT_EQ(read_file(dir.file(temp_seen)), line_for(0, true) + "\n" + line_for(1, true) + "\n");
    throw std::runtime_error("simulated crash");
  }};
  EXPECT_EQ(error_of<std::runtime_error>([&] { compact(path, 2, options); }), "simulated crash");
  EXPECT_EQ(temp_seen.rfind(".out.jsonl.tmp-", 0), 0U) << temp_seen;
  EXPECT_EQ(read_file(path), content);
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"out.jsonl"});
}

TEST(Compact, SuccessLeavesNoTempFileAndKeepsPermissions) {
  TempDir dir;
  const auto path = dir.file("out.jsonl");
  write_file(path, line_for(1, true) + "\n" + line_for(0, true) + "\n");
  ASSERT_EQ(::chmod(path.c_str(), 0640), 0);
  EXPECT_TRUE(compact(path, 2).rewritten);
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"out.jsonl"});
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640U);
  EXPECT_EQ(read_file(path), line_for(0, true) + "\n" + line_for(1, true) + "\n");
}

TEST(Compact, RejectsIndicesOutOfRangeAndMissingFile) {
  TempDir dir;
  const auto path = dir.file("out.jsonl");
  write_file(path, line_for(3, true) + "\n");
  EXPECT_THROW(compact(path, 2), InputError);
  EXPECT_EQ(read_file(path), line_for(3, true) + "\n");
  EXPECT_THROW(compact(dir.file("missing.jsonl"), 2), std::runtime_error);
}

}  // namespace
}  // namespace swarm::cli
