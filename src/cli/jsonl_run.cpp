#include "jsonl_run.hpp"

#include <filesystem>

#include "io/input_error.hpp"
#include "io/journal.hpp"

namespace swarm::cli {

CompactOptions JsonlRun::compact_options() const {
  CompactOptions out;
  if (reader) out.input_hashes = reader->input_hashes();
  return out;
}

JsonlRun open_jsonl_run(const Options& options, const std::string& input) {
  JsonlRun run;
  run.reader = std::make_unique<InputReader>(input);
  run.reader->set_max_line_bytes(options.max_line_bytes);
  run.reader->set_plain_text(options.input_format == "text");
  run.reader->validate();
  run.lock = lock_output(options.output);  // before anything reads or writes the output
  std::error_code ec;
  const bool journal = options.output != "-" && !journal_segments(options.output).empty();
  if (!options.resume && options.output != "-" &&
      ((std::filesystem::file_size(options.output, ec) > 0 && !ec) || journal)) {
    throw InputError(options.output, 0,
                     journal ? "has a journal of an earlier, interrupted run beside it; pass "
                               "--resume to continue it, or remove it and its .journal-* files "
                               "to start over"
                             : "holds results of an earlier run; pass --resume to continue it, or "
                               "remove the file to start over");
  }
  if (options.resume) {
    const InputChecks checks{run.reader->key_fingerprints(), run.reader->input_hashes()};
    run.resume = load_resume(options.output, run.reader->count(), checks.keys, {}, checks.hashes);
    run.writer = std::make_unique<OutputWriter>(options.output, *run.resume);
    fold_journal(options.output, *run.writer, *run.resume, checks);
  } else {
    run.writer = std::make_unique<OutputWriter>(options.output);
  }
  return run;
}

void close_jsonl_run(JsonlRun& io, Progress& progress, RunSummary& summary,
                     const Options& options, std::size_t total, std::size_t skipped,
                     std::chrono::steady_clock::duration wall) {
  progress.finish();
  io.writer->close();
  if (options.resume) compact(options.output, total, io.compact_options());
  summary.set_wall_time(wall);
  summary.set_extra("inputs", total);
  summary.set_extra("skipped_already_done", skipped);
}

}  // namespace swarm::cli
