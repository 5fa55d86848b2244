#pragma once
// aswarm-mpi's flags. Names are fixed by the issue so job scripts and docs agree.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "swarm/pool_options.hpp"

namespace swarm::cli {

/// --aggregate and the flags that parametrise it.
struct AggregateFlags {
  std::vector<std::string> names;  ///< --aggregate NAME[,NAME...]: printed in this order.
  std::string separator = "\n";    ///< --separator: concat's joiner (the seed's default).
  std::string score;               ///< --score length | json:KEY | regex:PATTERN (best-of, top-k)
  std::size_t top_k = 3;           ///< --top-k K
  [[nodiscard]] bool empty() const noexcept { return names.empty(); }
};

/// The sub-pool a run uses (every pattern): applied in this order to the hostfile's agents.
struct SelectFlags {
  std::string tag;                   ///< --select-tag KEY=VALUE (Swarm::by_tag)
  std::vector<std::size_t> exclude;  ///< --exclude-agents I,J,...: dropped
  std::vector<std::size_t> agents;   ///< --select-agents I,J,...: kept, in this order
  std::string slice;                 ///< --slice START:STOP (Python's [start:stop])
  std::optional<std::size_t> sample; ///< --sample N, drawn with --seed
  [[nodiscard]] bool any() const noexcept {
    return !tag.empty() || !exclude.empty() || !agents.empty() || !slice.empty() || sample;
  }
};

struct Options {
  std::string pattern;
  std::string hostfile;
  std::string prompt;
  std::string prompt_file;
  std::string input;
  std::string output = "-";
  std::string reduce_prompt;
  std::size_t fanin = 50;  ///< tree-reduce: answers per supervisor call.
  /// tree-reduce --max-tokens-contingency: supervisors get max_tokens = the leaves' max_tokens
  /// x group members + this (tree_reduce_coli.py's rule); unset: the aggregation cap.
  std::optional<std::int64_t> max_tokens_contingency;
  std::size_t max_response_chars = 0;      ///< tree-reduce --max-response-chars (0: no cap)
  std::size_t max_reduce_input_chars = 0;  ///< tree-reduce --max-reduce-input-chars (0: no cap)
  std::string levels_output;  ///< tree-reduce --levels-output FILE: every level's kept answers
  std::string items;       ///< tree-reduce: JSONL items, one leaf prompt each ({item}).
  std::string config;      ///< blackboard: the board configuration (JSON).
  int max_rounds = 0;      ///< blackboard: rounds cap; 0 = the config's max_rounds.
  AggregateFlags aggregate;
  SelectFlags select;
  /// --seed: --sample's draw, the retry jitter (when non-zero) and, for uncertainty, sample j of
  /// a question asks "seed": seed + j.
  std::uint64_t seed = 0;
  std::size_t reducer_agent = 0;     ///< --reducer-agent: who answers --reduce-prompt.
  std::optional<std::size_t> workers;  ///< fan-out-fan-in: --workers N (default: all agents).
  std::string input_format = "jsonl";  ///< --input-format jsonl|text (--input, --items)
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
  /// --reply-budget-mib: reply bytes one rank holds in flight (PoolOptions::reply_budget_bytes).
  std::size_t reply_budget_mib = 1024;
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
  /// --progress-interval: seconds between progress log lines (no terminal).
  double progress_interval = 30.0;
  std::string summary;
  std::string report;       ///< --report FILE.html: the run report (io/report.hpp).
  std::string report_from;  ///< --report-from SUMMARY.json: redraw --report from a summary.
  std::string log_level = "info";
  /// Longest --input/--items line (bytes); InputReader::kDefaultMaxLineBytes (8 MiB).
  std::size_t max_line_bytes = std::size_t{8} << 20;
  bool dry_run = false;
  // --pattern embed and --pattern uncertainty (run_embed.cpp, run_uncertainty.cpp).
  std::string embed_tag = "role=embed";  ///< KEY=VALUE of the embedding agents.
  std::string embed_model;               ///< Embedding requests' "model" (default: the pool's).
  std::size_t samples = 8;               ///< uncertainty: answers sampled per question.
  double similarity_threshold = 0.9;     ///< uncertainty: cosine similarity that merges.
  std::string kle_kernel = "cosine";     ///< uncertainty: cosine or rbf.
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

/// --progress-interval as a duration.
std::chrono::milliseconds progress_interval(const Options& options);

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
