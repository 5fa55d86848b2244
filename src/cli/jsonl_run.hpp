#pragma once
// What the drivers that read an input JSONL and write one result line per input
// (scatter-gather, pipeline --input) prepare on the root before anything is sent.

#include <memory>
#include <optional>
#include <string>

#include "io/input.hpp"
#include "io/output.hpp"
#include "io/resume.hpp"
#include "options.hpp"

namespace swarm::cli {

struct JsonlRun {
  std::unique_ptr<InputReader> reader;  ///< Validated: every line checked.
  std::optional<ResumeState> resume;    ///< With --resume: what --output already holds.
  std::unique_ptr<OutputWriter> writer;
};

/// Root only. Opens and validates `input`, refuses to overwrite a non-empty --output without
/// --resume (hours of results must not vanish because a rerun forgot the flag), and opens the
/// writer (appending with --resume). Throws InputError / std::runtime_error naming the file.
JsonlRun open_jsonl_run(const Options& options, const std::string& input);

}  // namespace swarm::cli
