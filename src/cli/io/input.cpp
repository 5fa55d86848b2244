#include "io/input.hpp"

#include <sys/types.h>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <stdexcept>
#include <unordered_map>

#include <fmt/format.h>

#include "io/record_hash.hpp"

namespace swarm::cli {
namespace {

constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

}  // namespace

InputReader::InputReader(const std::string& path) {
  if (path == "-") {
    name_ = "<stdin>";
    source_ = detail::File(stdin, /*owned=*/false);
  } else {
    name_ = path;
    source_ = detail::File::open(path, "r");
  }
}

InputReader::InputReader(std::FILE* stream, std::string name)
    : name_(std::move(name)), source_(stream, /*owned=*/false) {}

InputReader::~InputReader() = default;

LineKind InputReader::parse(std::string_view text, InputRecord& out, std::string& reason) const {
  if (!plain_text_) return parse_input_line(text, out, reason);
  // --input-format text: the line, stripped as the seed's scripts strip it, is the prompt.
  constexpr std::string_view kSpace = " \t\r\n\f\v";
  const auto first = text.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return LineKind::blank;
  const auto last = text.find_last_not_of(kSpace);
  const std::size_t index = out.index;
  const std::size_t line = out.line;
  out = InputRecord{};
  out.index = index;
  out.line = line;
  out.prompt.assign(text.substr(first, last - first + 1));
  return LineKind::prompt;
}

std::string_view InputReader::strip_bom(std::string_view line, std::size_t line_no) const noexcept {
  // Editors on Windows put a BOM in front of UTF-8 files; JSON parsers reject it.
  if (line_no == 1 && line.starts_with(kUtf8Bom)) line.remove_prefix(kUtf8Bom.size());
  return line;
}

void InputReader::check_kind(LineKind kind, std::size_t line_no) {
  if (kind == LineKind::batch) {
    if (first_prompt_line_ != 0) {
      throw InputError(name_, line_no,
                       fmt::format("an OpenAI batch request cannot be mixed with plain prompts "
                                   "(first plain prompt on line {})",
                                   first_prompt_line_));
    }
    if (first_batch_line_ == 0) first_batch_line_ = line_no;
  } else {
    if (first_batch_line_ != 0) {
      throw InputError(name_, line_no,
                       fmt::format("a plain prompt cannot be mixed with OpenAI batch requests "
                                   "(first batch request on line {})",
                                   first_batch_line_));
    }
    if (first_prompt_line_ == 0) first_prompt_line_ = line_no;
  }
}

std::FILE* InputReader::readable_copy() {
  if (!spool_) return source_.get();
  if (std::fflush(spool_.get()) != 0) {
    throw std::runtime_error(detail::errno_message("cannot spool", name_));
  }
  return spool_.get();
}

template <typename Visit>
void InputReader::rescan(std::FILE* data, std::size_t last_line, Visit&& visit) {
  std::rewind(data);
  detail::LineReader lines(data, max_line_bytes_);
  std::string_view text;
  std::string reason;
  InputRecord record;
  std::size_t line_no = 0;
  while (line_no < last_line && lines.next(text, name_)) {
    ++line_no;
    const LineKind kind = parse(strip_bom(text, line_no), record, reason);
    if (kind == LineKind::blank) continue;
    if (kind == LineKind::invalid) {
      throw InputError(name_, line_no, reason + " (the file changed after it was validated)");
    }
    visit(record, line_no);
  }
}

void InputReader::throw_duplicate(const InputRecord& record, std::string_view key,
                                  std::size_t first_line, std::size_t line_no) const {
  // The key's text after the "c:"/"i:" tag is the id as JSON (custom_ids are quoted here).
  const std::string shown =
      record.batch ? nlohmann::json(record.custom_id).dump() : std::string(key.substr(2));
  throw InputError(name_, line_no,
                   fmt::format("duplicate {} {} (first on line {})",
                               record.batch ? "custom_id" : "id", shown, first_line));
}

void InputReader::check_duplicates(std::deque<std::uint64_t>& hashes, std::size_t last_line) {
  // Keep one copy of each hash that occurs more than once: only those ids can be duplicates.
  std::sort(hashes.begin(), hashes.end());
  auto kept = hashes.begin();
  for (auto run = hashes.begin(); run != hashes.end();) {
    const auto run_end = std::upper_bound(run, hashes.end(), *run);
    if (run_end - run > 1) *kept++ = *run;
    run = run_end;
  }
  hashes.erase(kept, hashes.end());
  if (hashes.empty()) return;

  // Re-read and compare the ids behind those hashes, in file order, so the error is the one a
  // per-line check would give: the first repeated id, at its second line.
  std::unordered_map<std::string, std::size_t> first_line_of_key;
  rescan(readable_copy(), last_line, [&](const InputRecord& record, std::size_t line_no) {
    std::string key = detail::record_key(record.batch, record.id, record.custom_id);
    if (key.empty() || !std::binary_search(hashes.begin(), hashes.end(), duplicate_hash_(key))) {
      return;
    }
    const auto [it, inserted] = first_line_of_key.try_emplace(std::move(key), line_no);
    if (!inserted) throw_duplicate(record, it->first, it->second, line_no);
  });
  // Only different ids with equal hashes: nothing to report.
}

std::size_t InputReader::validate() {
  if (validated_) throw std::logic_error("InputReader::validate() called twice");
  std::FILE* source = source_.get();
  const bool spool = !detail::is_regular(source);
  if (spool) spool_ = detail::make_spool_file();

  detail::LineReader lines(source, max_line_bytes_);
  std::string_view text;
  std::string reason;
  InputRecord record;
  // One hash per id: 8 MiB per million ids (a map of the ids took 68). A deque, not a vector:
  // it grows without a reallocation holding 1.5 times the hashes, and it is not one big mmap
  // whose free would raise glibc's mmap threshold for the rest of the run (see
  // run_scatter_gather.cpp for what that costs).
  std::deque<std::uint64_t> key_hashes;
  std::size_t line_no = 0;
  try {
    while (lines.next(text, name_)) {
      ++line_no;
      if (spool) {
        const bool ok = std::fwrite(text.data(), 1, text.size(), spool_.get()) == text.size() &&
                        std::fputc('\n', spool_.get()) != EOF;
        if (!ok) throw std::runtime_error(detail::errno_message("cannot spool", name_));
      }
      const LineKind kind = parse(strip_bom(text, line_no), record, reason);
      if (kind == LineKind::blank) continue;
      if (kind == LineKind::invalid) throw InputError(name_, line_no, reason);
      check_kind(kind, line_no);
      if (record.is_request()) {
        if (first_request_line_ == 0) first_request_line_ = line_no;
        if (!record.messages.is_null() && first_messages_line_ == 0) first_messages_line_ = line_no;
        if (record.prompt.empty() && first_textless_line_ == 0) first_textless_line_ = line_no;
      }
      const std::string key = detail::record_key(record.batch, record.id, record.custom_id);
      if (!key.empty()) key_hashes.push_back(duplicate_hash_(key));
      ++count_;
    }
  } catch (const InputError&) {
    // Duplicates are only found after the pass; one on an earlier line than this error must
    // still be the error reported.
    check_duplicates(key_hashes, line_no - 1);
    throw;
  }
  check_duplicates(key_hashes, line_no);
  // Freed before anything else is allocated, so the heap can give the pages back.
  std::deque<std::uint64_t>().swap(key_hashes);

  data_ = readable_copy();
  std::rewind(data_);
  reader_ = std::make_unique<detail::LineReader>(data_, max_line_bytes_);
  validated_ = true;
  return count_;
}

std::span<const std::uint64_t> InputReader::key_fingerprints() {
  if (!validated_) {
    throw std::logic_error("InputReader::key_fingerprints() called before validate()");
  }
  load_identities();
  return fingerprints_;
}

std::span<const std::uint64_t> InputReader::input_hashes() {
  if (!validated_) throw std::logic_error("InputReader::input_hashes() called before validate()");
  load_identities();
  return hashes_;
}

void InputReader::load_identities() {
  if (have_fingerprints_) return;
  // next() reads the same stream: come back to where it stands.
  const off_t position = ::ftello(data_);
  if (position < 0) throw std::runtime_error(detail::errno_message("cannot read", name_));
  fingerprints_.clear();
  fingerprints_.reserve(count_);
  hashes_.clear();
  hashes_.reserve(count_);
  rescan(data_, SIZE_MAX, [&](const InputRecord& record, std::size_t line_no) {
    if (fingerprints_.size() == count_) {
      throw InputError(name_, line_no, "the file changed after it was validated (more records)");
    }
    fingerprints_.push_back(key_fingerprint(record.batch, record.id, record.custom_id));
    hashes_.push_back(record_hash(record));
  });
  if (fingerprints_.size() != count_) {
    throw InputError(name_, 0, "the file changed after it was validated (fewer records)");
  }
  if (::fseeko(data_, position, SEEK_SET) != 0) {
    throw std::runtime_error(detail::errno_message("cannot read", name_));
  }
  have_fingerprints_ = true;
}

std::vector<InputRecord> InputReader::next(std::size_t max_records) {
  if (!validated_) throw std::logic_error("InputReader::next() called before validate()");
  std::vector<InputRecord> records;
  std::string_view text;
  std::string reason;
  InputRecord record;
  while (records.size() < max_records && reader_->next(text, name_)) {
    ++line_no_;
    const LineKind kind = parse(strip_bom(text, line_no_), record, reason);
    if (kind == LineKind::blank) continue;
    if (kind == LineKind::invalid || next_index_ >= count_) {
      throw InputError(name_, line_no_,
                       kind == LineKind::invalid
                           ? reason + " (the file changed after it was validated)"
                           : "the file changed after it was validated (more records)");
    }
    record.index = next_index_++;
    record.line = line_no_;
    records.push_back(std::move(record));
  }
  if (records.empty() && max_records > 0 && next_index_ != count_) {
    throw InputError(name_, 0, "the file changed after it was validated (fewer records)");
  }
  return records;
}

}  // namespace swarm::cli
