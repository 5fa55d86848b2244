#pragma once
// aswarm-mpi's flags. Names are fixed by the issue so job scripts and docs agree.

#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "swarm/pool_options.hpp"

namespace swarm::cli {

struct Options {
  std::string pattern;
  std::string hostfile;
  std::string prompt;
  std::string prompt_file;
  std::string input;
  std::string output = "-";
  std::string reduce_prompt;
  std::size_t fanin = 50;  ///< tree-reduce: answers per supervisor call.
  std::string items;       ///< tree-reduce: JSONL items, one leaf prompt each ({item}).
  std::string config;      ///< blackboard: the board configuration (JSON).
  int max_rounds = 0;      ///< blackboard: rounds cap; 0 = the config's max_rounds.
  std::string aggregate;
  std::string protocol = "chat";
  std::string model;
  std::optional<std::int64_t> max_tokens;
  std::string system;
  std::optional<double> temperature;
  std::vector<std::string> params;  ///< --param KEY=JSON, repeatable: request fields.
  std::string extra_body;           ///< --extra-body FILE|JSON: an object of request fields.
  std::size_t concurrency = 512;
  std::size_t per_agent_concurrency = 0;
  double timeout = 300.0;
  bool stream = false;         ///< --stream: server-sent events, TTFT and inter-token times.
  double idle_timeout = 60.0;  ///< --idle-timeout: seconds without a byte of a stream.
  int retries = 3;
  std::size_t batch_size = 1;
  std::size_t window = 65536;
  /// scatter-gather: "static" (i mod N) or "dynamic"; empty: dynamic, static with batching.
  std::string schedule;
  bool no_failover = false;     ///< Keep each prompt on the agent it was first given.
  double give_up_after = 600;   ///< Seconds without a healthy agent before prompts fail.
  std::string min_healthy;      ///< Start gate: "N" or "P%" endpoints answering /health.
  bool hedge = false;           ///< Second copies of tail requests on idle agents.
  double hedge_quantile = 0.95;  ///< Of recent attempt times, past which a request is hedged.
  bool resume = false;
  std::string progress = "auto";
  std::string summary;
  std::string report;       ///< --report FILE.html: the run report (io/report.hpp).
  std::string report_from;  ///< --report-from SUMMARY.json: redraw --report from a summary.
  std::string log_level = "info";
  /// Longest --input/--items line (bytes); InputReader::kDefaultMaxLineBytes (8 MiB).
  std::size_t max_line_bytes = std::size_t{8} << 20;
  bool dry_run = false;
};

/// Whether the run must account its answers in a RunSummary (--summary or --report).
[[nodiscard]] inline bool wants_summary(const Options& o) {
  return !o.summary.empty() || !o.report.empty();
}

/// Registers every flag on `app`.
void add_options(CLI::App& app, Options& options);

/// Checks combinations CLI11 cannot (e.g. --resume needs --output FILE), the pattern's own
/// rules (PatternDriver::validate) among them; throws CLI::ValidationError with a message
/// naming the flags.
void validate(const Options& options);

/// The pool settings: AURORA_SWARM_* and API-key variables first, then the flags.
PoolOptions pool_options(const Options& options);

/// --schedule as it applies: the flag, else "dynamic", or "static" with --batch-size > 1 (list
/// requests go to fixed agents).
std::string effective_schedule(const Options& options);

/// The request fields of --extra-body then --param (a --param wins for its key), as one JSON
/// object, or null when neither is given. Throws std::invalid_argument naming the flag and the
/// problem (not JSON, not an object, KEY=JSON malformed, unreadable file).
nlohmann::json extra_body(const Options& options);

/// The prompt text of --prompt or --prompt-file (read on the caller's rank), "" if neither.
std::string prompt_text(const Options& options);

}  // namespace swarm::cli
