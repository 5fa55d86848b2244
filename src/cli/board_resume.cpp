#include "board_resume.hpp"

#include <cerrno>
#include <cstdio>
#include <stdexcept>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "io/file_handles.hpp"
#include "io/input_error.hpp"
#include "swarm/json_limits.hpp"

namespace swarm::cli {

BoardCheckpoint load_board_log(const std::string& path, const std::vector<std::string>& sections,
                               const std::vector<bool>& stepped, const std::string& config_hash) {
  BoardCheckpoint out;
  std::FILE* raw = std::fopen(path.c_str(), "re");
  if (raw == nullptr) {
    if (errno == ENOENT) return out;
    throw std::runtime_error(detail::errno_message("cannot open", path));
  }
  detail::File file(raw, /*owned=*/true);
  detail::LineReader lines(file.get());
  // The log is written step by step: (round 1, first stepped section), ..., (round 1, last),
  // (round 2, first), ... Reading stops at the first line that breaks that order.
  std::size_t next_section = 0;
  while (next_section < sections.size() && !stepped[next_section]) ++next_section;
  if (next_section == sections.size()) return out;  // no section has agents: nothing ever ran
  int round = 1;
  std::vector<mpi::BoardEntry> pending;  // the round being read
  std::uint64_t pending_failed = 0;
  std::string_view text;
  std::size_t line_no = 0;
  while (lines.next(text, path)) {
    ++line_no;
    JsonFault fault = JsonFault::none;
    const auto line = parse_json_limited(text, fault);
    if (fault == JsonFault::too_deep) throw InputError(path, line_no, json_depth_reason());
    if (line.is_discarded() || !line.is_object()) break;  // a torn last line
    const auto hash = line.find("config_hash");
    if (hash == line.end() || !hash->is_string()) {
      throw InputError(path, line_no, "not a blackboard log line (no \"config_hash\")");
    }
    if (*hash != config_hash) {
      throw InputError(path, line_no,
                       "was written with another --config; remove it to start over");
    }
    if (line.value("round", -1) != round || line.value("section", "") != sections[next_section]) {
      break;
    }
    const auto responses = line.find("responses");
    if (responses == line.end() || !responses->is_array()) {
      throw InputError(path, line_no, "not a blackboard log line (no \"responses\")");
    }
    for (const auto& r : *responses) {
      if (!r.value("success", false)) {
        ++pending_failed;
        continue;
      }
      const auto agent = r.find("agent");
      const auto answer = r.find("text");
      if (agent == r.end() || !agent->is_number_integer() || answer == r.end() ||
          !answer->is_string()) {
        throw InputError(path, line_no, "not a blackboard log line (an answer without agent/text)");
      }
      pending.push_back(mpi::BoardEntry{answer->get<std::string>(),
                                        static_cast<std::uint32_t>(next_section),
                                        static_cast<std::uint32_t>(round), agent->get<std::int64_t>(),
                                        0});
    }
    do {
      ++next_section;
    } while (next_section < sections.size() && !stepped[next_section]);
    if (next_section == sections.size()) {  // the round is complete
      out.entries.insert(out.entries.end(), std::make_move_iterator(pending.begin()),
                         std::make_move_iterator(pending.end()));
      pending.clear();
      out.failed += pending_failed;
      pending_failed = 0;
      out.rounds = round++;
      out.valid_bytes = lines.end_offset();
      out.needs_newline = !lines.had_newline();
      next_section = 0;
      while (!stepped[next_section]) ++next_section;
    }
  }
  return out;
}

}  // namespace swarm::cli
