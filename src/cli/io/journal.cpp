#include "io/journal.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <stdexcept>
#include <utility>

#include <fmt/format.h>

#include "io/output.hpp"

namespace swarm::cli {
namespace {

std::string segment_prefix(const std::string& output) {
  return std::filesystem::path(output).filename().string() + ".journal-";
}

void sync_directory_of(const std::string& path) {
  const auto parent = std::filesystem::path(path).parent_path();
  const int dir =
      ::open(parent.empty() ? "." : parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
}

}  // namespace

std::string journal_segment(const std::string& output, std::uint64_t window) {
  return fmt::format("{}.journal-{}", output, window);
}

void Journal::append(std::uint64_t window, std::string_view line) {
  auto it = segments_.find(window);
  if (it == segments_.end()) {
    // "a": a segment of this window left by a killed run was folded and removed at start, so
    // the file is new; appending is still the safe mode.
    it = segments_.emplace(window, detail::File::open(journal_segment(output_, window), "a")).first;
  }
  if (std::fwrite(line.data(), 1, line.size(), it->second.get()) != line.size()) {
    throw std::runtime_error(
        detail::errno_message("cannot write", journal_segment(output_, window)));
  }
  if (std::find(dirty_.begin(), dirty_.end(), window) == dirty_.end()) dirty_.push_back(window);
}

void Journal::sync() {
  for (const auto window : dirty_) {
    const auto it = segments_.find(window);
    if (it == segments_.end()) continue;
    if (std::fflush(it->second.get()) != 0 || ::fsync(::fileno(it->second.get())) != 0) {
      throw std::runtime_error(
          detail::errno_message("cannot sync", journal_segment(output_, window)));
    }
  }
  dirty_.clear();
}

void Journal::retire(std::uint64_t window) {
  const auto it = segments_.find(window);
  if (it == segments_.end()) return;
  it->second.close();
  segments_.erase(it);
  std::erase(dirty_, window);
  ::unlink(journal_segment(output_, window).c_str());
}

std::vector<std::string> journal_segments(const std::string& output) {
  const std::filesystem::path target(output);
  const auto dir = target.parent_path().empty() ? std::filesystem::path(".") : target.parent_path();
  const std::string prefix = segment_prefix(output);
  std::vector<std::pair<std::uint64_t, std::string>> found;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (!name.starts_with(prefix)) continue;
    std::uint64_t window = 0;
    const char* first = name.data() + prefix.size();
    const char* last = name.data() + name.size();
    const auto [end, err] = std::from_chars(first, last, window);
    if (err != std::errc{} || end != last || first == last) continue;  // not ours
    found.emplace_back(window, journal_segment(output, window));
  }
  std::sort(found.begin(), found.end());
  std::vector<std::string> out;
  for (auto& f : found) out.push_back(std::move(f.second));
  return out;
}

void fold_journal(const std::string& output, OutputWriter& writer, ResumeState& state,
                  const InputChecks& checks, const WarningHandler& on_warning) {
  const auto segments = journal_segments(output);
  if (segments.empty()) return;
  // A segment holds up to a window of answers: copied in pieces, never held whole.
  constexpr std::size_t kPiece = 1 << 20;
  std::string bytes;
  for (const auto& segment : segments) {
    const ResumeState part =
        load_resume(segment, state.expected_count(), checks.keys, on_warning, checks.hashes);
    detail::File file = detail::File::open(segment, "r");
    for (std::uint64_t left = part.valid_bytes(); left > 0;) {
      bytes.resize(static_cast<std::size_t>(std::min<std::uint64_t>(left, kPiece)));
      if (std::fread(bytes.data(), 1, bytes.size(), file.get()) != bytes.size()) {
        throw std::runtime_error(detail::errno_message("cannot read", segment));
      }
      writer.write_lines(bytes);
      left -= bytes.size();
    }
    if (part.needs_newline()) writer.write_lines("\n");
    state.merge(part);
  }
  writer.flush();  // the folded lines are durable in the output before their segments go
  for (const auto& segment : segments) ::unlink(segment.c_str());
  sync_directory_of(output);
}

}  // namespace swarm::cli
