#include "io/output.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <string_view>
#include <stdexcept>

#include <fmt/format.h>

#include "io/record_hash.hpp"
#include "io/resume.hpp"
#include "swarm/json_limits.hpp"
#include "swarm/json_text.hpp"

namespace swarm::cli {
namespace {

// ordered_json keeps "index" first, so `head out.jsonl` reads naturally.
using ojson = nlohmann::ordered_json;

ojson usage_json(const swarm::Usage& usage) {
  ojson u{{"prompt_tokens", usage.prompt_tokens},
          {"completion_tokens", usage.completion_tokens},
          {"total_tokens", usage.total_tokens}};
  // Only when reported, so lines of non-reasoning models keep their shape.
  if (usage.reasoning_tokens != 0) u["reasoning_tokens"] = usage.reasoning_tokens;
  return u;
}

ojson or_null(const std::string& text) {
  return text.empty() ? ojson(nullptr) : ojson(text);
}

double latency_ms(const swarm::Response& r) {
  // Microsecond resolution is plenty and keeps lines short.
  return std::round(r.latency.count() * 1e6) / 1e3;
}

// The OpenAI / vllm run-batch output line (BatchRequestOutput): "id", "custom_id",
// "response": {"status_code", "request_id", "body"} whenever an HTTP reply came back (body: the
// server's JSON as received, null if it was not JSON), else null; "error": null on success,
// else {"code": the failure kind, "message"}. aswarm's own fields go under "aswarm".
ojson batch_line(const OutputLine& line) {
  const auto& r = line.response;
  ojson out;
  out["id"] = fmt::format("aswarm-{}", line.index);
  out["custom_id"] = line.custom_id;
  if (r.http_status != 0) {
    JsonFault fault = JsonFault::none;
    ojson body = parse_json_limited<ojson>(r.body, fault);
    if (body.is_discarded()) body = nullptr;
    out["response"] =
        ojson{{"status_code", r.http_status},
              {"request_id",
               r.response_id.empty() ? fmt::format("aswarm-{}", line.index) : r.response_id},
              {"body", std::move(body)}};
  } else {
    out["response"] = nullptr;
  }
  out["error"] = r.success
                     ? ojson(nullptr)
                     : ojson{{"code", std::string(swarm::to_string(r.kind))}, {"message", r.error}};
  out["aswarm"] = ojson{{"index", line.index},
                        {"success", r.success},
                        {"agent", line.agent},
                        {"endpoint", line.endpoint},
                        {"http_status", r.http_status},
                        {"latency_ms", latency_ms(r)},
                        {"attempts", r.attempts},
                        {"text", r.text},
                        {"reasoning", or_null(r.reasoning)},
                        {"finish_reason", or_null(r.finish_reason)},
                        {"usage", usage_json(r.usage)}};
  if (line.input_hash != 0) out["aswarm"]["input_hash"] = format_record_hash(line.input_hash);
  return out;
}

/// A plain output line, appended field by field: the bytes ordered_json's dump() gives for the
/// same fields in the same order, without building the object (which cost aswarm-mpi 7 us of
/// its 82 us CPU per answer against nginx, bench/engine_floor.sh). Strings go through
/// append_json_string (json_text.hpp); the id and every double through nlohmann, so number
/// formatting is its own.
class LineWriter {
 public:
  LineWriter() { out_.reserve(256); }
  void key(std::string_view name) {
    out_ += out_.empty() ? "{\"" : ",\"";
    out_ += name;  // the keys are ASCII literals
    out_ += "\":";
  }
  void string(std::string_view s) { swarm::append_json_string(out_, s); }
  void string_or_null(const std::string& s) { s.empty() ? null() : string(s); }
  template <typename Int>
  void integer(Int v) {
    fmt::format_to(std::back_inserter(out_), "{}", v);
  }
  void number(double v) { out_ += ojson(v).dump(); }
  void boolean(bool b) { out_ += b ? "true" : "false"; }
  void null() { out_ += "null"; }
  void json(const nlohmann::json& v) {
    out_ += v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  /// usage_json()'s object (integers only).
  void usage(const swarm::Usage& u) {
    fmt::format_to(std::back_inserter(out_),
                   "{{\"prompt_tokens\":{},\"completion_tokens\":{},\"total_tokens\":{}",
                   u.prompt_tokens, u.completion_tokens, u.total_tokens);
    if (u.reasoning_tokens != 0) {
      fmt::format_to(std::back_inserter(out_), ",\"reasoning_tokens\":{}", u.reasoning_tokens);
    }
    out_ += '}';
  }
  std::string finish() {
    out_ += '}';
    return std::move(out_);
  }

 private:
  std::string out_;
};

std::string plain_line(const OutputLine& line) {
  const auto& r = line.response;
  LineWriter w;
  w.key("index");
  w.integer(line.index);
  if (!line.id.is_null()) {
    w.key("id");
    w.json(line.id);
  }
  w.key("agent");
  w.integer(line.agent);
  w.key("endpoint");
  w.string(line.endpoint);
  w.key("success");
  w.boolean(r.success);
  w.key("text");
  w.string(r.text);
  w.key("error");
  r.success ? w.null() : w.string(r.error);
  w.key("http_status");
  w.integer(r.http_status);
  w.key("latency_ms");
  w.number(latency_ms(r));
  w.key("attempts");
  w.integer(r.attempts);
  w.key("usage");
  w.usage(r.usage);
  w.key("finish_reason");
  w.string_or_null(r.finish_reason);
  w.key("reasoning");
  w.string_or_null(r.reasoning);
  w.key("response_id");
  w.string_or_null(r.response_id);
  w.key("model");
  w.string_or_null(r.model);
  if (line.input_hash != 0) {
    w.key("input_hash");
    w.string(format_record_hash(line.input_hash));
  }
  return w.finish();
}

}  // namespace

OutputLine make_output_line(const InputRecord& record, swarm::Response response,
                            std::string endpoint, std::int64_t agent) {
  OutputLine line;
  line.index = record.index;
  line.id = record.id;
  line.batch = record.batch;
  line.custom_id = record.custom_id;
  line.url = record.url;
  line.model = record.model;
  line.agent = agent;
  line.endpoint = std::move(endpoint);
  line.input_hash = record_hash(record);
  line.response = std::move(response);
  return line;
}

RecordIdentity RecordIdentity::of(InputRecord&& record, std::uint64_t input_hash) {
  RecordIdentity identity{
      .index = record.index, .id = std::move(record.id), .batch = nullptr, .input_hash = input_hash};
  if (record.batch) {
    identity.batch = std::make_unique<Batch>(Batch{.custom_id = std::move(record.custom_id),
                                                   .url = std::move(record.url),
                                                   .model = std::move(record.model)});
  }
  return identity;
}

OutputLine make_output_line(RecordIdentity&& record, swarm::Response response, std::string endpoint,
                            std::int64_t agent) {
  OutputLine line;
  line.index = record.index;
  line.id = std::move(record.id);
  if (record.batch) {
    line.batch = true;
    line.custom_id = std::move(record.batch->custom_id);
    line.url = std::move(record.batch->url);
    line.model = std::move(record.batch->model);
  }
  line.agent = agent;
  line.endpoint = std::move(endpoint);
  line.input_hash = record.input_hash;
  line.response = std::move(response);
  return line;
}

OutputLine make_output_line(const RecordIdentity& record, swarm::Response response,
                            std::string endpoint, std::int64_t agent) {
  RecordIdentity copy{.index = record.index, .id = record.id, .batch = nullptr,
                      .input_hash = record.input_hash};
  if (record.batch) copy.batch = std::make_unique<RecordIdentity::Batch>(*record.batch);
  return make_output_line(std::move(copy), std::move(response), std::move(endpoint), agent);
}

std::string format_output_line(const OutputLine& line) {
  if (!line.batch) return plain_line(line);
  // Model output is not guaranteed to be valid UTF-8: replace bad bytes instead of throwing.
  return batch_line(line).dump(-1, ' ', false, ojson::error_handler_t::replace);
}

OutputWriter::OutputWriter(const std::string& path) : path_(path) {
  if (path == "-") {
    file_ = detail::File(stdout, /*owned=*/false);
  } else {
    file_ = detail::File::open(path, "w");
  }
  regular_ = detail::is_regular(file_.get());
}

OutputWriter::OutputWriter(const std::string& path, const ResumeState& resume) : path_(path) {
  if (path == "-") throw std::runtime_error("cannot resume a run whose output is stdout ('-')");
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error(detail::errno_message("cannot open", path));
  struct stat st {};
  const bool sized = ::fstat(fd, &st) == 0;
  const auto size = sized ? static_cast<std::uint64_t>(st.st_size) : 0;
  std::string problem;
  if (!sized) {
    problem = detail::errno_message("cannot stat", path);
  } else if (size < resume.valid_bytes()) {
    problem = fmt::format("'{}' shrank since it was read for resuming", path);
  } else if (size > resume.valid_bytes() &&
             ::ftruncate(fd, static_cast<off_t>(resume.valid_bytes())) != 0) {
    // Cut the torn last line: appending after it would glue two lines into one bad line.
    problem = detail::errno_message("cannot truncate the torn last line of", path);
  }
  std::FILE* file = problem.empty() ? ::fdopen(fd, "a") : nullptr;
  if (file == nullptr) {
    if (problem.empty()) problem = detail::errno_message("cannot open", path);
    ::close(fd);
    throw std::runtime_error(problem);
  }
  file_ = detail::File(file, /*owned=*/true);
  regular_ = detail::is_regular(file);
  if (resume.needs_newline()) write_raw("\n");
}

OutputWriter::~OutputWriter() = default;

void OutputWriter::write_raw(std::string_view bytes) {
  if (!file_) throw std::logic_error("OutputWriter used after close()");
  if (std::fwrite(bytes.data(), 1, bytes.size(), file_.get()) != bytes.size()) {
    throw std::runtime_error(detail::errno_message("cannot write", path_));
  }
}

void OutputWriter::write(const OutputLine& line) {
  std::string text = format_output_line(line);
  text += '\n';  // one fwrite per line: a kill can tear at most the line being written
  write_raw(text);
  ++lines_written_;
}

void OutputWriter::write(const nlohmann::json& line) {
  std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  text += '\n';
  write_raw(text);
  ++lines_written_;
}

void OutputWriter::write_lines(std::string_view bytes) {
  write_raw(bytes);
  lines_written_ += static_cast<std::size_t>(std::count(bytes.begin(), bytes.end(), '\n'));
}

void OutputWriter::flush() {
  if (!file_) return;
  if (std::fflush(file_.get()) != 0) {
    throw std::runtime_error(detail::errno_message("cannot write", path_));
  }
  // fsync only regular files: on pipes and terminals it fails with EINVAL and means nothing.
  if (regular_ && ::fsync(::fileno(file_.get())) != 0) {
    throw std::runtime_error(detail::errno_message("cannot sync", path_));
  }
}

void OutputWriter::close() {
  flush();
  if (!file_.close()) throw std::runtime_error(detail::errno_message("cannot close", path_));
}

}  // namespace swarm::cli
