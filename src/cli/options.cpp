#include "options.hpp"

#include <cmath>
#include <fstream>
#include <span>
#include <sstream>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "config_file.hpp"
#include "io/input_error.hpp"
#include "open_swarm.hpp"
#include "patterns.hpp"
#include "select.hpp"
#include "swarm/aggregators.hpp"
#include "swarm/json_limits.hpp"
#include "flags/number_flag.hpp"
#include "swarm/version.hpp"

namespace swarm::cli {
namespace {

/// CLI11's check that a value is one of `names` (its error message lists them in this order).
CLI::IsMember one_of(std::span<const std::string_view> names) {
  return CLI::IsMember(std::vector<std::string>(names.begin(), names.end()));
}

// Bounds of the numeric flags: far above any real use, low enough that no conversion (curl's
// millisecond longs, chrono durations, buffer sizes) can overflow.
constexpr std::size_t kMaxInFlight = 1'000'000;
constexpr double kMaxTimeout = 7 * 86400.0;   // a week per attempt
constexpr double kMaxGiveUp = 30 * 86400.0;   // a month without a healthy agent

}  // namespace

void add_options(CLI::App& app, Options& o) {
  app.set_version_flag("--version", fmt::format("aswarm-mpi {}", kVersion));
  std::vector<std::string_view> patterns;
  for (const auto& p : pattern_drivers()) patterns.push_back(p.name);
  app.add_option("--pattern", o.pattern, "Communication pattern")->check(one_of(patterns));
  app.add_option("--hostfile", o.hostfile,
                 "Agent endpoints, one per line: host[:port] [key=value ...] "
                 "(also host<TAB>port, [ipv6]:port, http(s)://host:port); default: "
                 "$AURORA_SWARM_HOSTFILE, as in the seed")
      ->type_name("FILE")
      ->envname("AURORA_SWARM_HOSTFILE");
  app.add_option("--prompt", o.prompt,
                 "Prompt text (broadcast), or a template with {item} applied to each input "
                 "(scatter-gather)");
  app.add_option("--prompt-file", o.prompt_file, "Read the prompt text from FILE")
      ->type_name("FILE")
      ->excludes("--prompt");
  app.add_option("--input", o.input,
                 "JSONL requests (scatter-gather) or items (pipeline): \"prompt\", "
                 "{\"id\",\"prompt\"} or OpenAI batch lines; - for stdin")
      ->type_name("FILE|-");
  app.add_option("--output", o.output, "JSONL results, one line per prompt or agent")
      ->type_name("FILE|-")
      ->capture_default_str();
  app.add_option("--reduce-prompt", o.reduce_prompt,
                 "Broadcast: then ask agent 0 this template with {responses}");
  app.add_option("--fanin", o.fanin, "tree-reduce: answers summarised per supervisor call")
      ->check(flags::in_range<std::size_t>(2, 100000))
      ->capture_default_str();
  app.add_option("--max-tokens-contingency", o.max_tokens_contingency,
                 "tree-reduce: supervisors get max_tokens = the leaves' --max-tokens x their "
                 "group's members + this (the seed's tree_reduce_coli.py rule; default: the "
                 "aggregation cap)")
      ->check(flags::in_range<std::int64_t>(0, 100'000'000));
  app.add_option("--max-response-chars", o.max_response_chars,
                 "tree-reduce: a leaf answer longer than N characters goes up as its first N "
                 "and \"...\" (0: no cap)")
      ->check(flags::in_range<std::size_t>(0, std::size_t{1} << 30))
      ->capture_default_str();
  app.add_option("--max-reduce-input-chars", o.max_reduce_input_chars,
                 "tree-reduce: a group's joined answers longer than N characters are cut to "
                 "N - 60 and a truncation note (0: no cap)")
      ->check(flags::in_range<std::size_t>(0, std::size_t{1} << 30))
      ->capture_default_str();
  app.add_option("--levels-output", o.levels_output,
                 "tree-reduce: write every level's supervisor answers here, one JSON line each "
                 "(level, group, text, agent, endpoint), as the levels finish")
      ->type_name("FILE");
  app.add_option("--items", o.items,
                 "tree-reduce: JSONL items (same formats as --input); leaf prompt i is --prompt "
                 "with {item} replaced by item i")
      ->type_name("FILE");
  app.add_option("--config", o.config,
                 "blackboard: sections, prompt templates, view, initial entries, convergence "
                 "rules (see jobs/local/board.json); pipeline: stages, agents, filters, "
                 "transforms, dependencies (see jobs/local/pipeline.json)")
      ->type_name("FILE");
  app.add_option("--max-rounds", o.max_rounds, "blackboard: rounds cap (default: the config's)")
      ->check(flags::positive(1'000'000));
  app.add_option("--aggregate", o.aggregate.names,
                 "Print aggregates of the answers, one JSON line each, in the order given "
                 "(e.g. majority,concat)")
      ->delimiter(',')
      ->check(one_of(aggregate_names()));
  app.add_option("--separator", o.aggregate.separator,
                 "--aggregate concat: the text between answers (default a newline)");
  app.add_option("--score", o.aggregate.score,
                 "--aggregate best-of/top-k: how an answer scores (higher wins): length (its "
                 "characters), json:KEY (the number at KEY of its JSON object), regex:PATTERN "
                 "(the number in PATTERN's first group, RE2 syntax); an answer without a score "
                 "ranks last")
      ->type_name("length|json:KEY|regex:PATTERN");
  app.add_option("--top-k", o.aggregate.top_k, "--aggregate top-k: how many answers")
      ->check(flags::positive<std::size_t>(kMaxInFlight))
      ->capture_default_str();
  app.add_option("--select-tag", o.select.tag,
                 "Run on the agents whose hostfile tag KEY has VALUE (every pattern)")
      ->type_name("KEY=VALUE");
  app.add_option("--exclude-agents", o.select.exclude, "Leave these agents out (0-based, of "
                 "the --select-tag selection)")
      ->delimiter(',')
      ->type_name("I,J,...");
  app.add_option("--select-agents", o.select.agents,
                 "Run on these agents only, numbered 0.. in this order (after --exclude-agents)")
      ->delimiter(',')
      ->type_name("I,J,...");
  app.add_option("--slice", o.select.slice,
                 "Run on agents START..STOP-1 of the selection so far (Python's [start:stop]; "
                 "either may be empty)")
      ->type_name("START:STOP");
  app.add_option("--sample", o.select.sample,
                 "Run on N agents drawn at random (with --seed) from the selection so far")
      ->check(flags::positive<std::size_t>(kMaxInFlight));
  app.add_option("--seed", o.seed,
                 "Seed of --sample's draw and of the retry jitter; uncertainty: sample j of every "
                 "question is asked with \"seed\": SEED + j")
      ->capture_default_str();
  app.add_option("--reducer-agent", o.reducer_agent,
                 "Broadcast --reduce-prompt: the agent that reduces (default 0)")
      ->capture_default_str();
  app.add_option("--workers", o.workers,
                 "fan-out-fan-in: how many agents (the first N) answer --prompt (default all)")
      ->check(flags::positive<std::size_t>(kMaxInFlight));
  app.add_option("--input-format", o.input_format,
                 "--input and --items: jsonl, or text (every non-blank line, stripped, is one "
                 "prompt or item: plain text, CSV or TSV rows)")
      ->check(CLI::IsMember({"jsonl", "text"}))
      ->capture_default_str();
  app.add_option("--protocol", o.protocol, "Wire protocol")
      ->check(one_of(protocol_names()))
      ->capture_default_str();
  app.add_option("--model", o.model, "Model name (default: the first one /v1/models lists)");
  app.add_option("--max-tokens", o.max_tokens,
                 "max_tokens cap (default 512 or AURORA_SWARM_MAX_TOKENS; sized to the "
                 "context as the Python seed does)")
      ->check(flags::positive<std::int64_t>(100'000'000));
  app.add_option("--system", o.system, "System prompt (chat)");
  app.add_option("--temperature", o.temperature, "Sampling temperature")
      ->check(flags::in_range(0.0, 2.0));
  app.add_option("--param", o.params,
                 "Request field KEY=JSON added to every request, repeatable, e.g. seed=7, "
                 "'stop=[\"\\n\"]', 'response_format={\"type\":\"json_object\"}' (a bare word "
                 "is a string); input values win")
      ->type_name("KEY=JSON");
  app.add_option("--extra-body", o.extra_body,
                 "Request fields added to every request: a JSON object, or a FILE holding one "
                 "(--param wins for its keys; input values win)")
      ->type_name("FILE|JSON");
  app.add_option("--concurrency", o.concurrency, "In-flight requests per rank")
      ->check(flags::positive<std::size_t>(kMaxInFlight))
      ->capture_default_str();
  app.add_option("--per-agent-concurrency", o.per_agent_concurrency,
                 "In-flight requests per agent (0 = unlimited; vLLM queues)")
      ->check(flags::in_range<std::size_t>(0, kMaxInFlight))
      ->capture_default_str();
  app.add_option("--timeout", o.timeout, "Seconds per request attempt")
      ->check(flags::positive(kMaxTimeout))
      ->capture_default_str();
  app.add_flag("--stream", o.stream,
               "Scatter-gather: stream answers (server-sent events) and measure time to first "
               "token and inter-token latency (batch lines stream when they say \"stream\": true)");
  app.add_option("--idle-timeout", o.idle_timeout,
                 "Seconds a streamed answer may go without a byte (first token included)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--reply-budget-mib", o.reply_budget_mib,
                 "MiB of replies one rank holds in flight; when full, transfers wait (paused, "
                 "never failed) and one may exceed it")
      ->check(flags::positive<std::size_t>(std::size_t{1} << 20))
      ->capture_default_str();
  app.add_option("--retries", o.retries,
                 "Retries of transient failures (connect, timeout, 429, 502-504)")
      ->check(flags::in_range(0, 1000))
      ->capture_default_str();
  app.add_option("--batch-size", o.batch_size,
                 "Scatter-gather: prompts per /v1/completions list request (1 = no batching)")
      ->check(flags::in_range<std::size_t>(1, 1024))
      ->capture_default_str();
  app.add_option("--window", o.window,
                 "Scatter-gather: prompts per scatter/gather round; pipeline: items read, "
                 "streamed and written per round")
      ->check(flags::positive<std::size_t>(std::size_t{1} << 26))
      ->capture_default_str();
  app.add_option("--schedule", o.schedule,
                 "Scatter-gather and tree-reduce --items leaves: dynamic (default: each prompt "
                 "to the healthy agent with room, so slow or dead agents and ranks get fewer) or "
                 "static (prompt i -> agent i mod N, the seed's rule; the default with "
                 "--batch-size > 1)")
      ->check(CLI::IsMember({"static", "dynamic"}));
  app.add_flag("--no-failover", o.no_failover,
               "Keep each prompt on the agent it was given (default: a prompt whose agent "
               "fails or is cooling moves to another healthy agent of its rank; in dynamic "
               "mode also to other ranks)");
  app.add_flag("--hedge", o.hedge,
               "When nothing is queued, send a request running past --hedge-quantile of recent "
               "answer times once more to an idle agent; the first answer wins, the other "
               "transfer is cancelled (needs failover)");
  app.add_option("--hedge-quantile", o.hedge_quantile,
                 "With --hedge: the quantile of the last 1,024 answer times a request must "
                 "outrun to be hedged")
      ->check(CLI::Range(0.5, 0.999))
      ->capture_default_str();
  app.add_option("--give-up-after", o.give_up_after,
                 "Seconds a prompt waits while no agent it may use is healthy, then fails "
                 "(also --min-healthy's limit)")
      ->check(flags::positive(kMaxGiveUp))
      ->capture_default_str();
  app.add_option("--min-healthy", o.min_healthy,
                 "Probe /health first; start once N endpoints (or P% of the hostfile) answer. "
                 "The others join when they come up. Too few in --give-up-after: exit 4")
      ->type_name("N|P%")
      ->check([](const std::string& v) {
        try {
          (void)parse_min_healthy(v);
        } catch (const std::invalid_argument& e) {
          return std::string(e.what());
        }
        return std::string{};
      });
  app.add_flag("--resume", o.resume,
               "Skip prompts (items) that already succeeded in --output; redo failed or missing "
               "ones");
  app.add_option("--progress", o.progress,
                 "Progress on stderr: auto (a live line at a terminal, also through mpiexec; "
                 "else a log line every --progress-interval), always (the live line), never")
      ->check(CLI::IsMember({"auto", "always", "never"}))
      ->capture_default_str();
  app.add_option("--progress-interval", o.progress_interval,
                 "Seconds between progress log lines when stderr is no terminal")
      ->check(flags::positive(86400.0))
      ->capture_default_str();
  app.add_option("--summary", o.summary, "Write run totals and latency percentiles as JSON")
      ->type_name("FILE");
  app.add_option("--report", o.report,
                 "Write the run report: one self-contained HTML page (latency histogram and "
                 "CDF, throughput over time, TTFT, per-endpoint heat map, failures by kind)")
      ->type_name("FILE.html");
  app.add_option("--report-from", o.report_from,
                 "Redraw --report from a saved --summary file instead of running (no hostfile)")
      ->type_name("SUMMARY.json");
  app.add_option("--log-level", o.log_level, "Diagnostics on stderr")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}))
      ->capture_default_str();
  app.add_option("--max-line-bytes", o.max_line_bytes,
                 "Longest line of --input/--items (a longer one is an error naming its line)")
      ->check(flags::positive<std::size_t>(std::size_t{1} << 31))
      ->capture_default_str();
  app.add_option("--embed-tag", o.embed_tag,
                 "embed, uncertainty: the embedding agents' hostfile tag (the others answer "
                 "uncertainty's questions)")
      ->type_name("KEY=VALUE")
      ->capture_default_str();
  app.add_option("--embed-model", o.embed_model,
                 "embed, uncertainty: \"model\" of the embedding requests (default: the one "
                 "/v1/models lists)");
  app.add_option("--samples", o.samples, "uncertainty: answers sampled per question")
      ->check(flags::in_range<std::size_t>(1, 1024))
      ->capture_default_str();
  app.add_option("--similarity-threshold", o.similarity_threshold,
                 "uncertainty: answers whose embeddings' cosine similarity is at least this "
                 "cluster together (average linkage)")
      ->check(flags::in_range(-1.0, 1.0))
      ->capture_default_str();
  app.add_option("--kle-kernel", o.kle_kernel, "uncertainty: kernel of the kernel language entropy")
      ->check(CLI::IsMember({"cosine", "rbf"}))
      ->capture_default_str();
  app.add_flag("--dry-run", o.dry_run,
               "Validate the hostfile and print how its endpoints are sharded; send nothing");
  app.footer(
      "Examples:\n"
      "  mpiexec -n 4 aswarm-mpi --pattern broadcast --hostfile agents.txt "
      "--prompt 'Name a prime' --aggregate majority\n"
      "  mpiexec -n 64 aswarm-mpi --pattern blackboard --hostfile agents.txt "
      "--config board.json --output board-log.jsonl\n"
      "  mpiexec -n 64 aswarm-mpi --pattern scatter-gather --hostfile agents.txt "
      "--input requests.jsonl --output results.jsonl --resume\n"
      "  mpiexec -n 8 aswarm-mpi --pattern pipeline --hostfile agents.txt "
      "--config pipeline.json --input items.jsonl --output items-out.jsonl\n"
      "Environment: AURORA_SWARM_HOSTFILE (when --hostfile is not given),\n"
      "  AURORA_SWARM_MAX_TOKENS, AURORA_SWARM_MAX_TOKENS_AGGREGATION,\n"
      "  AURORA_SWARM_MODEL_MAX_CONTEXT, AURORA_SWARM_TIMEOUT_PER_SEQUENCE, ASWARM_API_KEY\n"
      "  (or OPENAI_API_KEY). Flags take precedence.\n"
      "Exit status: 0 all succeeded, 3 some requests failed (results written), 2 usage or input\n"
      "  error, 4 too few healthy endpoints (--min-healthy), 1 MPI or internal error.");
}

void validate(const Options& o) {
  if (!o.report_from.empty()) {
    if (o.report.empty()) {
      throw CLI::ValidationError("--report-from SUMMARY.json needs --report FILE.html");
    }
    return;  // nothing is run: no hostfile, no pattern
  }
  if (o.hostfile.empty()) throw CLI::RequiredError("--hostfile (or AURORA_SWARM_HOSTFILE)");
  if (o.dry_run) return;
  if (o.pattern.empty()) throw CLI::RequiredError("--pattern");
  if (const PatternDriver* driver = find_pattern(o.pattern); driver && driver->validate) {
    driver->validate(o);
  }
  if (o.resume && (o.output.empty() || o.output == "-")) {
    throw CLI::ValidationError("--resume needs --output FILE (the results of the earlier run)");
  }
  if (o.schedule == "dynamic" && o.batch_size > 1 && o.pattern != "embed" &&
      o.pattern != "uncertainty") {
    throw CLI::ValidationError(
        "--schedule dynamic sends one prompt per request: drop --batch-size or use --schedule "
        "static");
  }
  try {
    if (!o.aggregate.score.empty()) (void)score_function(o.aggregate.score);
    if (!o.select.slice.empty()) (void)parse_slice(o.select.slice, 0);
  } catch (const std::invalid_argument& e) {
    throw CLI::ValidationError(e.what());
  }
  for (const std::string& name : o.aggregate.names) {
    const NamedAggregate* a = find_aggregate(name);
    if (a != nullptr && a->needs_score && o.aggregate.score.empty()) {
      throw CLI::ValidationError("--aggregate " + name +
                                 " needs --score length|json:KEY|regex:PATTERN");
    }
  }
  if (!o.select.tag.empty() && o.select.tag.find('=') == std::string::npos) {
    throw CLI::ValidationError("--select-tag " + o.select.tag + ": expected KEY=VALUE");
  }
  if (o.input_format != "jsonl" && o.pattern != "pipeline" && o.pattern != "tree-reduce" &&
      o.pattern != "scatter-gather") {
    throw CLI::ValidationError(
        "--input-format applies to --input (scatter-gather, pipeline) and --items (tree-reduce)");
  }
  if (o.pattern != "tree-reduce" &&
      (o.max_tokens_contingency || o.max_response_chars > 0 || o.max_reduce_input_chars > 0 ||
       !o.levels_output.empty())) {
    throw CLI::ValidationError(
        "--max-tokens-contingency, --max-response-chars, --max-reduce-input-chars and "
        "--levels-output apply to --pattern tree-reduce");
  }
  if (o.hedge && o.no_failover) {
    throw CLI::ValidationError(
        "--hedge sends a second copy to another agent, which --no-failover forbids: drop one");
  }
  if (o.stream && (o.pattern != "scatter-gather" || o.batch_size > 1 || o.protocol == "generate")) {
    throw CLI::ValidationError(
        "--stream applies to --pattern scatter-gather with one prompt per request and --protocol "
        "chat or completions");
  }
  // embed and uncertainty batch /v1/embeddings requests, whatever the chat protocol.
  if (o.batch_size > 1 && o.protocol != "completions" && o.pattern != "embed" &&
      o.pattern != "uncertainty") {
    throw CLI::ValidationError(
        "--batch-size > 1 sends /v1/completions list requests: add --protocol completions");
  }
}

PoolOptions pool_options(const Options& o) {
  PoolOptions p = PoolOptions::from_environment();
  p.protocol = protocol_from_string(o.protocol);
  if (!o.model.empty()) p.model = o.model;
  if (o.max_tokens) p.max_tokens = *o.max_tokens;
  p.system_prompt = o.system;
  p.temperature = o.temperature;
  p.extra_body = extra_body(o);
  p.concurrency = o.concurrency;
  p.per_agent_concurrency = o.per_agent_concurrency;
  p.timeout = Seconds(o.timeout);
  p.idle_timeout = Seconds(o.idle_timeout);
  p.reply_budget_bytes = o.reply_budget_mib << 20;
  p.retries = o.retries;
  p.failover = !o.no_failover;
  p.give_up_after = Seconds(o.give_up_after);
  p.hedge_quantile = o.hedge ? o.hedge_quantile : 0.0;
  if (o.seed != 0) p.seed = o.seed;
  p.validate();
  return p;
}

std::chrono::milliseconds progress_interval(const Options& o) {
  return std::chrono::milliseconds(std::llround(o.progress_interval * 1e3));
}

std::string effective_schedule(const Options& o) {
  if (!o.schedule.empty()) return o.schedule;
  return o.batch_size > 1 ? "static" : "dynamic";
}

nlohmann::json extra_body(const Options& o) {
  using nlohmann::json;
  json out = nullptr;
  if (!o.extra_body.empty()) {
    std::string text = o.extra_body;
    const auto start = text.find_first_not_of(" \t\r\n");
    if (start == std::string::npos || text[start] != '{') {
      if (!std::ifstream(o.extra_body, std::ios::binary)) {
        throw std::invalid_argument(fmt::format(
            "--extra-body: '{}' is neither a JSON object nor a readable file", o.extra_body));
      }
      text = read_small_file(o.extra_body, "--extra-body file");
    }
    JsonFault fault = JsonFault::none;
    out = parse_json_limited(text, fault);
    if (out.is_discarded() || !out.is_object()) {
      throw std::invalid_argument(
          fmt::format("--extra-body: '{}' does not hold a JSON object", o.extra_body));
    }
  }
  for (const std::string& param : o.params) {
    const auto eq = param.find('=');
    if (eq == 0 || eq == std::string::npos) {
      throw std::invalid_argument(fmt::format("--param '{}': expected KEY=JSON", param));
    }
    const std::string value = param.substr(eq + 1);
    JsonFault fault = JsonFault::none;
    json parsed = parse_json_limited(value, fault);
    // A bare word (--param reasoning_effort=low) is meant as a string; anything that starts
    // like JSON must be JSON, so a typo in an object is an error, not a string.
    if (parsed.is_discarded()) {
      const auto first = value.find_first_not_of(" \t");
      const bool jsonish =
          first != std::string::npos &&
          std::string_view("{[\"-0123456789").find(value[first]) != std::string::npos;
      if (jsonish || value.empty()) {
        throw std::invalid_argument(
            fmt::format("--param '{}': the value is not valid JSON", param));
      }
      parsed = value;
    }
    if (out.is_null()) out = json::object();
    out[param.substr(0, eq)] = std::move(parsed);
  }
  return out;
}

std::string prompt_text(const Options& o) {
  if (!o.prompt.empty()) return o.prompt;
  if (o.prompt_file.empty()) return {};
  return read_small_file(o.prompt_file, "prompt file");
}

}  // namespace swarm::cli
