#include "jsonl_run.hpp"

#include <filesystem>

#include "io/input_error.hpp"

namespace swarm::cli {

JsonlRun open_jsonl_run(const Options& options, const std::string& input) {
  JsonlRun run;
  run.reader = std::make_unique<InputReader>(input);
  run.reader->set_max_line_bytes(options.max_line_bytes);
  run.reader->validate();
  std::error_code ec;
  if (!options.resume && options.output != "-" &&
      std::filesystem::file_size(options.output, ec) > 0 && !ec) {
    throw InputError(options.output, 0,
                     "holds results of an earlier run; pass --resume to continue it, or "
                     "remove the file to start over");
  }
  if (options.resume) {
    run.resume = load_resume(options.output, run.reader->count(), run.reader->key_fingerprints());
    run.writer = std::make_unique<OutputWriter>(options.output, *run.resume);
  } else {
    run.writer = std::make_unique<OutputWriter>(options.output);
  }
  return run;
}

}  // namespace swarm::cli
