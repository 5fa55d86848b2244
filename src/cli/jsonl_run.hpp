#pragma once
// What the drivers that read an input JSONL and write one result line per input
// (scatter-gather, pipeline --input) prepare on the root before anything is sent.

#include <chrono>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "io/input.hpp"
#include "io/output.hpp"
#include "io/output_lock.hpp"
#include "io/progress.hpp"
#include "io/resume.hpp"
#include "io/summary.hpp"
#include "options.hpp"

namespace swarm::cli {

struct JsonlRun {
  std::unique_ptr<OutputLock> lock;     ///< Held for the run (none for stdout).
  std::unique_ptr<InputReader> reader;  ///< Validated: every line checked.
  std::optional<ResumeState> resume;    ///< With --resume: what --output (+ journal) holds.
  std::unique_ptr<OutputWriter> writer;

  /// compact()'s options for the end of a resumed run (the input's record hashes).
  [[nodiscard]] CompactOptions compact_options() const;
};

/// Root only. Opens and validates `input`, locks --output (output_lock.hpp), refuses to
/// overwrite a non-empty --output or a journal without --resume (hours of results must not
/// vanish because a rerun forgot the flag), and opens the writer (with --resume: appending,
/// after folding in the journal a killed run left). Throws InputError / std::runtime_error
/// naming the file.
JsonlRun open_jsonl_run(const Options& options, const std::string& input);

/// Root only, after the last window: ends the progress line, closes the output and, with
/// --resume, compacts it into input order; the summary gets the wall time and the "inputs" and
/// "skipped_already_done" counts. The driver adds its own fields, then calls finish_run().
void close_jsonl_run(JsonlRun& io, Progress& progress, RunSummary& summary,
                     const Options& options, std::size_t total, std::size_t skipped,
                     std::chrono::steady_clock::duration wall);

}  // namespace swarm::cli
