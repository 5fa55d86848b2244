#pragma once
// What the drivers that read an input JSONL and write one result line per input
// (scatter-gather, pipeline --input) prepare on the root before anything is sent.

#include <memory>
#include <optional>
#include <span>
#include <string>

#include "io/input.hpp"
#include "io/output.hpp"
#include "io/output_lock.hpp"
#include "io/resume.hpp"
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

}  // namespace swarm::cli
