#include "io/resume.hpp"

#include <unistd.h>

#include <cerrno>
#include <limits>
#include <optional>
#include <stdexcept>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "io/file_handles.hpp"
#include "io/input_record.hpp"
#include "swarm/json_limits.hpp"

namespace swarm::cli {
namespace {

using nlohmann::json;

constexpr std::string_view kForeignHint = "(is this the output of another input?)";

struct ParsedLine {
  std::size_t line_no = 0;
  std::size_t index = 0;
  bool success = false;
};

struct ScanResult {
  std::size_t lines = 0;
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
                      std::size_t expected_count, std::span<const std::uint64_t> fingerprints) {
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
  return parsed;
}

// One pass over an output file. `on_line(ParsedLine, offset, length)` sees every valid line.
// An unparsable line is fatal unless nothing but blank lines follows it: that is the torn write
// of a killed run (stdio may split a line across write() calls), which is dropped with a warning.
template <typename OnLine>
ScanResult scan_output(std::FILE* file, const std::string& path, std::size_t expected_count,
                       std::span<const std::uint64_t> fingerprints,
                       const WarningHandler& on_warning, OnLine&& on_line) {
  if (!fingerprints.empty() && fingerprints.size() != expected_count) {
    throw std::logic_error("load_resume: key_fingerprints must have one entry per input");
  }
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
    const ParsedLine parsed = check_line(line, path, line_no, expected_count, fingerprints);
    ++result.lines;
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
                        const WarningHandler& on_warning) {
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
      scan_output(file.get(), path, expected_count, key_fingerprints, on_warning,
                  [&](const ParsedLine& line, std::uint64_t, std::size_t) {
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
  state.torn_tail_ = scan.torn;
  state.valid_bytes_ = scan.valid_bytes;
  state.needs_newline_ = scan.needs_newline;
  return state;
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
      scan_output(file.get(), path, expected_count, {}, options.on_warning,
                  [&](const ParsedLine& line, std::uint64_t offset, std::size_t length) {
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
