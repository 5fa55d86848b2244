#include "io/input.hpp"

#include <stdexcept>

#include <fmt/format.h>

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

void InputReader::check_unique(const InputRecord& record, std::size_t line_no) {
  std::string key = detail::record_key(record.batch, record.id, record.custom_id);
  fingerprints_.push_back(detail::fingerprint_of_key(key));
  if (key.empty()) return;
  auto [it, inserted] = first_line_of_key_.try_emplace(std::move(key), line_no);
  if (!inserted) {
    // The key's text after the "c:"/"i:" tag is the id as JSON (custom_ids are quoted here).
    const std::string shown =
        record.batch ? nlohmann::json(record.custom_id).dump() : it->first.substr(2);
    throw InputError(name_, line_no,
                     fmt::format("duplicate {} {} (first on line {})",
                                 record.batch ? "custom_id" : "id", shown, it->second));
  }
}

std::size_t InputReader::validate() {
  if (validated_) throw std::logic_error("InputReader::validate() called twice");
  std::FILE* source = source_.get();
  const bool spool = !detail::is_regular(source);
  if (spool) spool_ = detail::make_spool_file();

  detail::LineReader lines(source);
  std::string_view text;
  std::string reason;
  InputRecord record;
  std::size_t line_no = 0;
  while (lines.next(text, name_)) {
    ++line_no;
    if (spool) {
      const bool ok = std::fwrite(text.data(), 1, text.size(), spool_.get()) == text.size() &&
                      std::fputc('\n', spool_.get()) != EOF;
      if (!ok) throw std::runtime_error(detail::errno_message("cannot spool", name_));
    }
    const LineKind kind = parse_input_line(strip_bom(text, line_no), record, reason);
    if (kind == LineKind::blank) continue;
    if (kind == LineKind::invalid) throw InputError(name_, line_no, reason);
    check_kind(kind, line_no);
    check_unique(record, line_no);
    ++count_;
  }
  first_line_of_key_ = {};  // ids are only needed for the duplicate check

  if (spool) {
    if (std::fflush(spool_.get()) != 0) {
      throw std::runtime_error(detail::errno_message("cannot spool", name_));
    }
    data_ = spool_.get();
  } else {
    data_ = source;
  }
  std::rewind(data_);
  reader_ = std::make_unique<detail::LineReader>(data_);
  validated_ = true;
  return count_;
}

std::vector<InputRecord> InputReader::next(std::size_t max_records) {
  if (!validated_) throw std::logic_error("InputReader::next() called before validate()");
  std::vector<InputRecord> records;
  std::string_view text;
  std::string reason;
  InputRecord record;
  while (records.size() < max_records && reader_->next(text, name_)) {
    ++line_no_;
    const LineKind kind = parse_input_line(strip_bom(text, line_no_), record, reason);
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
