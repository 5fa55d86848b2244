#include "io/resume.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <limits>
#include <optional>
#include <stdexcept>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "io/file_handles.hpp"
#include "io/input_record.hpp"
#include "io/record_hash.hpp"
#include "swarm/json_limits.hpp"

namespace swarm::cli {
namespace {

using nlohmann::json;

constexpr std::string_view kForeignHint = "(is this the output of another input?)";

struct ParsedLine {
  std::size_t line_no = 0;
  std::size_t index = 0;
  bool success = false;
  bool stale = false;     // its input_hash is not its record's: the prompt changed since
  bool unhashed = false;  // no input_hash: nothing to compare
};

struct ScanResult {
  std::size_t lines = 0;
  std::size_t stale = 0;     // lines answering an earlier version of their record
  std::size_t unhashed = 0;  // lines without input_hash (written before aswarm stored it)
  bool torn = false;
  bool in_order = true;  // every index once, ascending from 0, nothing else in the file
  std::uint64_t valid_bytes = 0;
  bool needs_newline = false;
};

bool is_blank(std::string_view text) {
  return text.find_first_not_of(" \t\r\n\f\v") == std::string_view::npos;
}

std::string describe_key(const json& line) {
  if (auto it = line.find("custom_id"); it != line.end()) return "custom_id " + it->dump();
  if (auto it = line.find("id"); it != line.end() && !it->is_null()) return "id " + it->dump();
  return "missing id";
}

std::uint64_t line_fingerprint(const json& line) {
  if (auto it = line.find("custom_id"); it != line.end()) {
    // A non-string custom_id cannot match any input: give it a key no input produces.
    return it->is_string() ? detail::fingerprint_of_key(
                                 detail::record_key(true, nullptr, it->get<std::string>()))
                           : detail::fingerprint_of_key("x:" + it->dump());
  }
  if (auto it = line.find("id"); it != line.end()) return key_fingerprint(false, *it, {});
  return 0;
}

// Checks one parsed line of an output file; throws InputError naming it.
ParsedLine check_line(const json& line, const std::string& path, std::size_t line_no,
                      std::size_t expected_count, const InputChecks& checks) {
  const auto fingerprints = checks.keys;
  if (!line.is_object()) {
    throw InputError(path, line_no, "not an aswarm output line (expected a JSON object)");
  }
  // Batch output lines keep aswarm's own fields under "aswarm" (output.hpp).
  const auto own = line.find("aswarm");
  const nlohmann::json& meta = own != line.end() && own->is_object() ? *own : line;
  auto index = meta.find("index");
  if (index == meta.end() || !index->is_number_unsigned()) {
    throw InputError(path, line_no, "not an aswarm output line (no integer \"index\")");
  }
  auto success = meta.find("success");
  if (success == meta.end() || !success->is_boolean()) {
    throw InputError(path, line_no, "not an aswarm output line (no boolean \"success\")");
  }
  const auto value = index->get<std::uint64_t>();
  if (value >= expected_count) {
    throw InputError(path, line_no,
                     fmt::format("index {} is out of range for an input of {} requests {}", value,
                                 expected_count, kForeignHint));
  }
  ParsedLine parsed{line_no, static_cast<std::size_t>(value), success->get<bool>()};
  if (!fingerprints.empty() && line_fingerprint(line) != fingerprints[parsed.index]) {
    throw InputError(path, line_no,
                     fmt::format("{} does not match input request {} {}", describe_key(line),
                                 parsed.index, kForeignHint));
  }
  if (!checks.hashes.empty()) {
    const auto hash = meta.find("input_hash");
    if (hash == meta.end()) {
      parsed.unhashed = true;
    } else {
      const auto stored = hash->is_string()
                              ? parse_record_hash(hash->get_ref<const std::string&>())
                              : std::nullopt;
      if (!stored) {
        throw InputError(path, line_no,
                         "not an aswarm output line (\"input_hash\" is not 16 hex digits)");
      }
      parsed.stale = *stored != checks.hashes[parsed.index];
    }
  }
  return parsed;
}

// One pass over an output file. `on_line(ParsedLine, offset, length)` sees every valid line.
// An unparsable line is fatal unless nothing but blank lines follows it: that is the torn write
// of a killed run (stdio may split a line across write() calls), which is dropped with a warning.
template <typename OnLine>
ScanResult scan_output(std::FILE* file, const std::string& path, std::size_t expected_count,
                       const InputChecks& checks, const WarningHandler& on_warning,
                       bool warn_stale, OnLine&& on_line) {
  if ((!checks.keys.empty() && checks.keys.size() != expected_count) ||
      (!checks.hashes.empty() && checks.hashes.size() != expected_count)) {
    throw std::logic_error("load_resume: input checks must have one entry per input");
  }
  std::size_t first_stale_line = 0;
  std::size_t first_stale_index = 0;
  ScanResult result;
  detail::LineReader lines(file);
  std::string_view text;
  std::size_t line_no = 0;
  std::size_t next_in_order = 0;
  std::optional<std::size_t> unparsable_line;
  while (lines.next(text, path)) {
    ++line_no;
    if (is_blank(text)) {
      result.in_order = false;
      continue;
    }
    if (unparsable_line) {
      throw InputError(path, *unparsable_line, "invalid JSON (not an aswarm output line)");
    }
    JsonFault fault = JsonFault::none;
    json line = parse_json_limited(text, fault);
    if (line.is_discarded()) {
      unparsable_line = line_no;
      continue;
    }
    const ParsedLine parsed = check_line(line, path, line_no, expected_count, checks);
    ++result.lines;
    result.unhashed += parsed.unhashed ? 1 : 0;
    if (parsed.stale) {
      if (result.stale++ == 0) {
        first_stale_line = line_no;
        first_stale_index = parsed.index;
      }
      result.in_order = false;  // compaction drops it
    }
    if (parsed.index == next_in_order) {
      ++next_in_order;
    } else {
      result.in_order = false;
    }
    result.valid_bytes = lines.end_offset();
    result.needs_newline = !lines.had_newline();
    on_line(parsed, lines.line_offset(), text.size());
  }
  if (unparsable_line) {
    detail::emit_warning(on_warning,
                         fmt::format("{}:{}: warning: ignoring the unparsable last line (a write "
                                     "cut short when the run was killed?)",
                                     path, *unparsable_line));
    result.torn = true;
    result.in_order = false;
  }
  if (result.needs_newline) result.in_order = false;
  // A few edited prompts are redone; most lines answering other prompts means another input
  // with the same ids or line count (a rerun of the same job would otherwise keep its answers).
  const std::size_t hashed = result.lines - result.unhashed;
  if (result.stale > 0 && 2 * result.stale > hashed) {
    throw InputError(path, first_stale_line,
                     fmt::format("answers another prompt than input request {} ({} of {} lines "
                                 "do) {}",
                                 first_stale_index, result.stale, hashed, kForeignHint));
  }
  if (!warn_stale) return result;  // compaction: load_resume() said it already
  if (result.stale > 0) {
    detail::emit_warning(
        on_warning, fmt::format("{}:{}: warning: {} lines answer an earlier version of their "
                                "input request (the input was edited); they are sent again",
                                path, first_stale_line, result.stale));
  }
  if (result.unhashed > 0) {
    detail::emit_warning(
        on_warning, fmt::format("{}: warning: {} lines carry no \"input_hash\" (written by an "
                                "older aswarm); resume trusts that their prompts did not change",
                                path, result.unhashed));
  }
  return result;
}

// pread() all of [offset, offset + length) into `out`.
void read_at(int fd, std::uint64_t offset, std::size_t length, std::string& out,
             const std::string& path) {
  out.resize(length);
  std::size_t done = 0;
  while (done < length) {
    const ssize_t n =
        ::pread(fd, out.data() + done, length - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw std::runtime_error(detail::errno_message("cannot read", path));
    if (n == 0) throw std::runtime_error(fmt::format("'{}' shrank while being compacted", path));
    done += static_cast<std::size_t>(n);
  }
}

}  // namespace

ResumeState load_resume(const std::string& path, std::size_t expected_count,
                        std::span<const std::uint64_t> key_fingerprints,
                        const WarningHandler& on_warning,
                        std::span<const std::uint64_t> input_hashes) {
  if (path == "-") throw std::runtime_error("cannot resume a run whose output is stdout ('-')");
  ResumeState state(expected_count);
  std::FILE* raw = std::fopen(path.c_str(), "re");
  if (raw == nullptr) {
    if (errno == ENOENT) return state;  // nothing written yet: a fresh run
    throw std::runtime_error(detail::errno_message("cannot open", path));
  }
  detail::File file(raw, /*owned=*/true);
  state.exists_ = true;
  const ScanResult scan =
      scan_output(file.get(), path, expected_count, InputChecks{key_fingerprints, input_hashes},
                  on_warning, /*warn_stale=*/true, [&](const ParsedLine& line, std::uint64_t, std::size_t) {
                    if (line.stale) return;  // answers an old prompt: redo
                    auto& status = state.status_[line.index];
                    if (line.success) {
                      status = ResumeState::kOk;
                    } else if (status == ResumeState::kNone) {
                      status = ResumeState::kFailed;
                    }
                  });
  for (const auto status : state.status_) {
    if (status == ResumeState::kOk) ++state.done_count_;
    if (status == ResumeState::kFailed) ++state.failed_count_;
  }
  state.line_count_ = scan.lines;
  state.stale_count_ = scan.stale;
  state.torn_tail_ = scan.torn;
  state.valid_bytes_ = scan.valid_bytes;
  state.needs_newline_ = scan.needs_newline;
  return state;
}

void ResumeState::merge(const ResumeState& other) {
  if (other.status_.size() != status_.size()) {
    throw std::logic_error("ResumeState::merge: states of different inputs");
  }
  done_count_ = failed_count_ = 0;
  for (std::size_t i = 0; i < status_.size(); ++i) {
    status_[i] = std::max(status_[i], other.status_[i]);  // kOk > kFailed > kNone
    if (status_[i] == kOk) ++done_count_;
    if (status_[i] == kFailed) ++failed_count_;
  }
  line_count_ += other.line_count_;
  stale_count_ += other.stale_count_;
  exists_ = exists_ || other.exists_;
}

CompactResult compact(const std::string& path, std::size_t expected_count,
                      const CompactOptions& options) {
  // 16 bytes per index: where its chosen line is, never the line itself.
  struct Slot {
    std::uint64_t offset = 0;
    std::uint32_t length = 0;
    std::uint8_t state = 0;  // 0 none, 1 failed, 2 ok
  };
  detail::File file = detail::File::open(path, "r");
  std::vector<Slot> slots(expected_count);
  const ScanResult scan =
      scan_output(file.get(), path, expected_count, InputChecks{{}, options.input_hashes},
                  options.on_warning, /*warn_stale=*/false,
                  [&](const ParsedLine& line, std::uint64_t offset, std::size_t length) {
                    if (line.stale) return;  // answers an old version of its prompt: dropped
                    if (length > std::numeric_limits<std::uint32_t>::max()) {
                      throw InputError(path, line.line_no, "line longer than 4 GiB");
                    }
                    Slot& slot = slots[line.index];
                    // The last success wins; a failure only replaces another failure (a retry's
                    // newer error is the more useful one).
                    if (line.success || slot.state != 2) {
                      slot = Slot{offset, static_cast<std::uint32_t>(length),
                                  static_cast<std::uint8_t>(line.success ? 2 : 1)};
                    }
                  });

  CompactResult result;
  result.lines_read = scan.lines;
  for (const Slot& slot : slots) {
    if (slot.state == 0) {
      ++result.missing;
    } else {
      ++result.lines_written;
    }
  }
  if (scan.in_order) return result;  // already one line per index, in order

  detail::AtomicFile out(path);
  const int fd = ::fileno(file.get());
  std::string buffer;
  for (const Slot& slot : slots) {
    if (slot.state == 0) continue;
    read_at(fd, slot.offset, slot.length, buffer, path);
    buffer += '\n';
    out.write(buffer);
  }
  out.commit(options.before_rename);
  result.rewritten = true;
  return result;
}

}  // namespace swarm::cli
