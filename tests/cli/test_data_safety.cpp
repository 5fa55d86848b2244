// Input fingerprints in output lines (what --resume checks), the journal of answers that
// arrived before their window was written, and the output lock.

#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "io/input.hpp"
#include "io/journal.hpp"
#include "io/output.hpp"
#include "io/output_lock.hpp"
#include "io/record_hash.hpp"
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

InputRecord record(std::size_t index, const std::string& prompt) {
  InputRecord r;
  r.index = index;
  r.id = "q" + std::to_string(index);
  r.prompt = prompt;
  return r;
}

std::string line_for(const InputRecord& r, bool success) {
  auto response = success ? swarm::Response::ok("answer " + r.prompt, 0)
                          : swarm::Response::failure("boom " + r.prompt, 0);
  response.attempts = 1;
  return format_output_line(make_output_line(r, response, "http://a:1", 0));
}

// The input of `prompts`, as InputReader::validate() sees it, with its checks.
struct Input {
  std::vector<InputRecord> records;
  std::vector<std::uint64_t> keys;
  std::vector<std::uint64_t> hashes;
  explicit Input(const std::vector<std::string>& prompts) {
    for (std::size_t i = 0; i < prompts.size(); ++i) {
      records.push_back(record(i, prompts[i]));
      keys.push_back(key_fingerprint(false, records.back().id, ""));
      hashes.push_back(record_hash(records.back()));
    }
  }
  [[nodiscard]] InputChecks checks() const { return {keys, hashes}; }
};

struct Warnings {
  std::vector<std::string> messages;
  WarningHandler handler() {
    return [this](const std::string& m) { messages.push_back(m); };
  }
};

TEST(RecordHash, CanonicalFormIgnoresSpacingAndKeyOrderButNotEdits) {
  TempDir dir;
  const auto path = dir.file("in.jsonl");
  write_file(path,
             "{\"id\": \"a\", \"prompt\": \"x\", \"params\": {\"top_p\": 0.5, \"seed\": 1}}\n");
  InputReader first(path);
  first.validate();
  const auto h0 = first.input_hashes()[0];
  write_file(path, "{\"params\":{\"seed\":1,\"top_p\":0.5},\"prompt\":\"x\",\"id\":\"a\"}\n");
  InputReader same(path);
  same.validate();
  EXPECT_EQ(same.input_hashes()[0], h0);
  write_file(path, "{\"id\": \"a\", \"prompt\": \"x!\", \"params\": {\"top_p\": 0.5, \"seed\": 1}}\n");
  InputReader edited(path);
  edited.validate();
  EXPECT_NE(edited.input_hashes()[0], h0);
  write_file(path, "{\"id\": \"a\", \"prompt\": \"x\", \"params\": {\"top_p\": 0.5, \"seed\": 2}}\n");
  InputReader params(path);
  params.validate();
  EXPECT_NE(params.input_hashes()[0], h0);
  // The hash is what the output line stores, as 16 hex digits.
  EXPECT_EQ(parse_record_hash(format_record_hash(h0)), h0);
  EXPECT_EQ(parse_record_hash("12345"), std::nullopt);
  EXPECT_EQ(parse_record_hash("000000000000000g"), std::nullopt);
}

TEST(RecordHash, EveryOutputLineCarriesIt) {
  const auto r = record(0, "hello");
  const auto plain = json::parse(line_for(r, true));
  EXPECT_EQ(plain["input_hash"], format_record_hash(record_hash(r)));
  InputRecord batch{.index = 0, .batch = true, .custom_id = "c0", .url = "/v1/completions",
                    .body = json{{"prompt", "hi"}}};
  const auto line = json::parse(
      format_output_line(make_output_line(batch, swarm::Response::ok("x"), "", 0)));
  EXPECT_EQ(line["aswarm"]["input_hash"], format_record_hash(record_hash(batch)));
}

TEST(ResumeFingerprint, EditedPromptIsSentAgainWithAWarning) {
  TempDir dir;
  const auto path = dir.file("out.jsonl");
  const Input old_input({"a", "b", "c", "d"});
  std::string text;
  for (const auto& r : old_input.records) text += line_for(r, true) + "\n";
  write_file(path, text);
  const Input edited({"a", "b", "C", "d"});  // same ids, prompt 2 edited
  Warnings warnings;
  const auto state = load_resume(path, 4, edited.keys, warnings.handler(), edited.hashes);
  EXPECT_TRUE(state.done(0));
  EXPECT_TRUE(state.done(1));
  EXPECT_FALSE(state.done(2));
  EXPECT_TRUE(state.done(3));
  EXPECT_EQ(state.stale_count(), 1U);
  ASSERT_EQ(warnings.messages.size(), 1U);
  EXPECT_EQ(warnings.messages[0], path +
                                      ":3: warning: 1 lines answer an earlier version of their "
                                      "input request (the input was edited); they are sent again");
  // Unchanged input: everything done, nothing said.
  Warnings none;
  EXPECT_EQ(load_resume(path, 4, old_input.keys, none.handler(), old_input.hashes).done_count(),
            4U);
  EXPECT_TRUE(none.messages.empty());
}

TEST(ResumeFingerprint, OutputOfAnotherInputWithTheSameIdsIsRefused) {
  TempDir dir;
  const auto path = dir.file("out.jsonl");
  const Input old_input({"a", "b", "c"});
  std::string text;
  for (const auto& r : old_input.records) text += line_for(r, true) + "\n";
  write_file(path, text);
  const Input other({"x", "y", "c"});  // ids q0..q2 again, prompts of another data set
  EXPECT_EQ(error_of<InputError>([&] { load_resume(path, 3, other.keys, {}, other.hashes); }),
            path +
                ":1: answers another prompt than input request 0 (2 of 3 lines do) (is this the "
                "output of another input?)");
  // Plain prompts without ids: the same check.
  EXPECT_THROW(load_resume(path, 3, {}, {}, other.hashes), InputError);
}

TEST(ResumeFingerprint, LinesOfAnOlderAswarmAreTrustedWithOneWarning) {
  TempDir dir;
  const auto path = dir.file("out.jsonl");
  const Input input({"a", "b"});
  std::string text;
  for (const auto& r : input.records) {
    auto line = json::parse(line_for(r, true));
    line.erase("input_hash");
    text += line.dump() + "\n";
  }
  write_file(path, text);
  Warnings warnings;
  EXPECT_EQ(load_resume(path, 2, input.keys, warnings.handler(), input.hashes).done_count(), 2U);
  ASSERT_EQ(warnings.messages.size(), 1U);
  EXPECT_EQ(warnings.messages[0],
            path + ": warning: 2 lines carry no \"input_hash\" (written by an older aswarm); "
                   "resume trusts that their prompts did not change");
  write_file(path, "{\"index\": 0, \"success\": true, \"input_hash\": 7}\n");
  EXPECT_EQ(error_of<InputError>([&] { load_resume(path, 2, {}, {}, input.hashes); }),
            path + ":1: not an aswarm output line (\"input_hash\" is not 16 hex digits)");
}

TEST(ResumeFingerprint, CompactionDropsTheStaleAnswerEvenWhenTheRedoFailed) {
  TempDir dir;
  const auto path = dir.file("out.jsonl");
  const Input old_input({"a", "b", "c"});
  const Input edited({"a", "B", "c"});
  // The old run answered everything; the resumed run redid index 1 and failed.
  write_file(path, line_for(old_input.records[0], true) + "\n" +
                       line_for(old_input.records[1], true) + "\n" +
                       line_for(old_input.records[2], true) + "\n" +
                       line_for(edited.records[1], false) + "\n");
  const auto result = compact(path, 3, {.input_hashes = edited.hashes});
  EXPECT_TRUE(result.rewritten);
  const auto lines = read_lines(path);
  ASSERT_EQ(lines.size(), 3U);
  EXPECT_EQ(lines[1], line_for(edited.records[1], false));
}

TEST(Journal, SegmentsFollowTheirWindowsAndAreFoldedOnResume) {
  TempDir dir;
  const auto out = dir.file("out.jsonl");
  const Input input({"a", "b", "c", "d"});
  {
    Journal journal(out);
    journal.append(0, line_for(input.records[1], true) + "\n");
    journal.append(2, line_for(input.records[3], true) + "\n");
    journal.sync();
    EXPECT_EQ(journal_segments(out),
              (std::vector<std::string>{journal_segment(out, 0), journal_segment(out, 2)}));
    journal.retire(0);  // window 0 reached the output
    EXPECT_EQ(journal_segments(out), std::vector<std::string>{journal_segment(out, 2)});
    journal.append(2, line_for(input.records[2], false) + "\n");
    journal.sync();
    // Killed here: window 2's segment stays, with a torn line after its last sync.
  }
  {
    std::FILE* f = std::fopen(journal_segment(out, 2).c_str(), "a");
    std::fputs("{\"index\": 3, \"succ", f);
    std::fclose(f);
  }
  write_file(dir.file("out.jsonl.journal-x"), "not ours\n");
  write_file(out, line_for(input.records[0], true) + "\n" + line_for(input.records[1], true) + "\n");

  auto state = load_resume(out, 4, input.keys, {}, input.hashes);
  EXPECT_EQ(state.done_count(), 2U);
  Warnings warnings;
  {
    OutputWriter writer(out, state);
    fold_journal(out, writer, state, input.checks(), warnings.handler());
    writer.close();
  }
  EXPECT_TRUE(state.done(3));
  EXPECT_FALSE(state.done(2));  // failed: sent again
  EXPECT_EQ(state.failed_count(), 1U);
  EXPECT_TRUE(journal_segments(out).empty());
  EXPECT_TRUE(std::filesystem::exists(dir.file("out.jsonl.journal-x")));  // not a segment
  ASSERT_EQ(warnings.messages.size(), 1U);  // the torn line
  EXPECT_NE(warnings.messages[0].find("ignoring the unparsable last line"), std::string::npos);
  const auto lines = read_lines(out);
  ASSERT_EQ(lines.size(), 4U);
  EXPECT_EQ(lines[2], line_for(input.records[3], true));
  EXPECT_EQ(lines[3], line_for(input.records[2], false));
}

TEST(Journal, SegmentOfAnotherInputIsRefusedBeforeTheOutputChanges) {
  TempDir dir;
  const auto out = dir.file("out.jsonl");
  const Input input({"a", "b"});
  const Input other({"x", "y"});
  write_file(out, line_for(input.records[0], true) + "\n");
  write_file(journal_segment(out, 0), line_for(other.records[1], true) + "\n");
  auto state = load_resume(out, 2, input.keys, {}, input.hashes);
  OutputWriter writer(out, state);
  EXPECT_THROW(fold_journal(out, writer, state, input.checks()), InputError);
  writer.close();
  EXPECT_EQ(read_file(out), line_for(input.records[0], true) + "\n");
}

TEST(OutputLock, SecondRunIsRefusedNamingTheHolderAndTheLockGoesWithIt) {
  TempDir dir;
  const auto out = dir.file("out.jsonl");
  write_file(dir.file(".out.jsonl.tmp-Ab12Cd"), "a compaction killed mid-way");
  write_file(dir.file(".other.jsonl.tmp-Ab12Cd"), "another output's");
  std::string holder;
  {
    OutputLock lock(out);
    EXPECT_FALSE(std::filesystem::exists(dir.file(".out.jsonl.tmp-Ab12Cd")));
    EXPECT_TRUE(std::filesystem::exists(dir.file(".other.jsonl.tmp-Ab12Cd")));
    // flock(2) locks belong to the open file, so a second one conflicts even in this process.
    const auto error = error_of<InputError>([&] { OutputLock second(out); });
    EXPECT_EQ(error.find(out + ": is in use by another aswarm run (pid " +
                         std::to_string(::getpid()) + " on "),
              0U)
        << error;
    EXPECT_NE(error.find("lock file " + out + ".lock"), std::string::npos) << error;
  }
  EXPECT_FALSE(std::filesystem::exists(out + ".lock"));
  // A lock file left by a killed run is not held by anyone: taken over.
  write_file(out + ".lock", "pid 1 on gone\n");
  OutputLock again(out);
  EXPECT_EQ(read_file(out + ".lock").rfind("pid " + std::to_string(::getpid()) + " on ", 0), 0U);
}

}  // namespace
}  // namespace swarm::cli
