// --pattern pipeline: stages from --config (pipeline_config.hpp), each stage's output feeding
// the stages that depend on it.
//
// Without --input the pipeline runs once on one input (--prompt / --prompt-file, else the
// config's "input"): stdout gets every stage's output, --output FILE one JSON line per stage
// with its prompt and every answer.
//
// With --input items.jsonl every item flows through the stages on its own (streaming: item k can
// be in stage 2 while item k+1 is in stage 1). Items are read --window at a time; --output gets
// one line per item in input order, flushed per window, and --resume skips items that already
// succeeded, exactly as scatter-gather does.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "drivers.hpp"
#include "open_swarm.hpp"
#include "io/exit_codes.hpp"
#include "io/file_handles.hpp"
#include "io/output_lock.hpp"
#include "io/progress.hpp"
#include "io/record_hash.hpp"
#include "io/summary.hpp"
#include "jsonl_run.hpp"
#include "pipeline_config.hpp"
#include "requests.hpp"
#include "swarm/mpi/pipeline.hpp"
#include "swarm/mpi/strings.hpp"
#include "swarm/mpi/swarm.hpp"

namespace swarm::cli {
namespace {

using nlohmann::json;

PipelineConfig load_config(const Options& options, mpi::Communicator comm) {
  // Every rank reads the (small) config itself: all need the stages. Whatever fails on one
  // rank fails on all (a node that cannot read the file would otherwise leave the rest waiting).
  std::optional<PipelineConfig> config;
  on_every_rank_or_fail_everywhere(comm, [&] { config = PipelineConfig::load(options.config); });
  return std::move(*config);
}

// Before anything is sent: every stage has agents, as many as it asks for (the library runs a
// stage on what there is and fails it per item; from the command line that is a config error).
// Every rank computes the same plan from the same hostfile, so every rank throws alike.
void check_stage_agents(const PipelineConfig& config, const mpi::Swarm& swarm,
                        const std::string& path) {
  const auto agents = mpi::stage_agents(swarm, config.stages, config.reuse_agents);
  for (std::size_t i = 0; i < config.stages.size(); ++i) {
    const auto& st = config.stages[i];
    const std::string which =
        st.tag_key.empty() ? fmt::format("the hostfile has {} agents", swarm.size())
                           : fmt::format("tag {}={} matches {} agents", st.tag_key, st.tag_value,
                                         swarm.agents_with_tag(st.tag_key, st.tag_value).size());
    if (agents[i].empty()) {
      throw UsageError(InputError(path, 0,
                                  fmt::format("stage '{}' has no agents ({}{})", st.name, which,
                                              st.tag_key.empty() && !config.reuse_agents
                                                  ? ", all taken by the stages before it"
                                                  : ""))
                           .what());
    }
    if (st.n_agents > agents[i].size()) {
      throw UsageError(InputError(path, 0,
                                  fmt::format("stage '{}' asks for {} agents but gets {} ({}{})",
                                              st.name, st.n_agents, agents[i].size(), which,
                                              st.tag_key.empty() && !config.reuse_agents
                                                  ? ", some taken by the stages before it"
                                                  : ""))
                           .what());
    }
  }
}

std::string endpoint_of(const mpi::Swarm& swarm, const Response& r) {
  return r.agent_index >= 0 ? swarm.endpoint(static_cast<std::size_t>(r.agent_index)).url()
                            : std::string{};
}

/// A stage's record in the logs, with every answer (each also counted in the summary).
json stage_json(const mpi::Swarm& swarm, const mpi::StageResult& s, RunSummary& summary,
                std::size_t& failed_requests) {
  json answers = json::array();
  for (const auto& r : s.responses) {
    const auto url = endpoint_of(swarm, r);
    summary.add(r, url);
    if (!r.success) ++failed_requests;
    answers.push_back(answer_json(r, url));
  }
  return {{"stage", s.name},
          {"wave", s.wave},
          {"ran", s.ran},
          {"success", s.success},
          {"agents", s.responses.size()},
          {"kept", s.kept},
          {"output", s.output},
          {"error", s.error.empty() ? json(nullptr) : json(s.error)},
          {"prompt", s.prompt},
          {"responses", std::move(answers)}};
}

int run_once(const Options& options, const PipelineConfig& config, mpi::Swarm& swarm,
             mpi::Communicator comm) {
  std::string initial;
  std::unique_ptr<OutputLock> lock;
  detail::File log;
  on_root_or_fail_everywhere(comm, [&] {
    initial = prompt_text(options);
    if (initial.empty() && config.input) initial = *config.input;
    if (initial.empty()) {
      throw UsageError(
          "--pattern pipeline needs its input: --input FILE (one item per line), --prompt, "
          "--prompt-file, or \"input\" in " +
          options.config);
    }
    if (!options.output.empty() && options.output != "-") {
      lock = lock_output(options.output);  // one run per output file
      log = detail::File::open(options.output, "w");
    }
  });
  const auto started = std::chrono::steady_clock::now();
  const auto result =
      mpi::run_pipeline(swarm, config.stages, initial, config.reuse_agents, CallOptions{});
  const auto wall = std::chrono::steady_clock::now() - started;
  const double wall_seconds = std::chrono::duration<double>(wall).count();
  RunSummary summary;
  if (!comm.is_root()) {
    finish_run(summary, swarm, wall_seconds, options);
    return kExitOk;
  }

  std::size_t failed_requests = 0;
  fmt::print("== pipeline: {} stage{} in {} wave{}, {} ({:.2f} s)\n", result.stages.size(),
             result.stages.size() == 1 ? "" : "s", result.waves, result.waves == 1 ? "" : "s",
             result.success ? "succeeded" : "FAILED", result.seconds);
  for (const auto& s : result.stages) {
    const auto line = stage_json(swarm, s, summary, failed_requests);
    if (log) append_json_line(log.get(), line, options.output);
    if (!s.ran) {
      fmt::print("## {} (not run)\n", s.name);
    } else if (!s.success) {
      fmt::print("## {} (wave {}, failed)\n{}\n", s.name, s.wave + 1, s.error);
    } else {
      fmt::print("## {} (wave {}, {} of {} answers kept)\n{}\n", s.name, s.wave + 1, s.kept,
                 s.responses.size(), s.output);
    }
  }
  std::fflush(stdout);
  log.close();
  summary.set_wall_time(wall);
  summary.set_extra("success", result.success);
  if (!result.success) summary.set_extra("pipeline_error", result.error);
  summary.set_extra("stages", result.stages.size());
  summary.set_extra("waves", result.waves);
  finish_run(summary, swarm, wall_seconds, options);
  return result.success && failed_requests == 0 ? kExitOk : kExitSomeFailed;
}

int run_items(const Options& options, const PipelineConfig& config, mpi::Swarm& swarm,
              mpi::Communicator comm, JsonlRun& io) {
  const bool root = comm.is_root();
  const std::size_t total = root ? io.reader->count() : 0;
  const std::size_t skipped = io.resume ? io.resume->done_count() : 0;
  std::optional<Progress> progress;
  if (root) progress.emplace(total - skipped, *parse_progress_mode(options.progress), stderr,
                             Progress::Clock{}, progress_interval(options));
  RunSummary summary;
  std::size_t done = 0;
  std::size_t items_ok = 0;
  std::size_t items_failed = 0;
  std::size_t failed_requests = 0;

  const auto started = std::chrono::steady_clock::now();
  for (;;) {
    // The root reads the next window (skipping items already done) and tells every rank whether
    // there is one: run_pipeline_items is collective.
    std::vector<RecordIdentity> records;  // what the output needs; prompts move into items
    std::vector<std::string> items;
    while (root && items.empty()) {
      auto batch = io.reader->next(options.window);
      if (batch.empty()) break;
      for (auto& rec : batch) {
        if (io.resume && io.resume->done(rec.index)) continue;
        const std::uint64_t hash = record_hash(rec);  // before the prompt moves into the items
        items.push_back(std::move(rec.prompt));
        records.push_back(RecordIdentity::of(std::move(rec), hash));
      }
    }
    std::string more = items.empty() ? "" : "1";
    mpi::broadcast_string(more, comm);
    if (more.empty()) break;

    // Progress per finished item: a window can hold hours of work.
    const auto on_item = [&](std::size_t, const mpi::ItemResult& item) {
      (item.success ? items_ok : items_failed) += 1;
      progress->update(++done, items_ok, items_failed);
    };
    const auto result = mpi::run_pipeline_items(
        swarm, config.stages, items, {.reuse_agents = config.reuse_agents, .on_item = on_item});
    if (!root) continue;
    for (std::size_t k = 0; k < records.size(); ++k) {
      const auto& item = result.items[k];
      const auto& rec = records[k];
      json line = {{"index", rec.index}};
      if (rec.batch) {
        line["custom_id"] = rec.batch->custom_id;
      } else if (!rec.id.is_null()) {
        line["id"] = rec.id;
      }
      line["success"] = item.success;
      line["output"] = item.output;
      line["error"] = item.success ? json(nullptr) : json(item.error);
      json stages = json::array();
      for (const auto& s : item.stages) {
        if (s.ran) stages.push_back(stage_json(swarm, s, summary, failed_requests));
      }
      line["stages"] = std::move(stages);
      line["input_hash"] = format_record_hash(rec.input_hash);  // what --resume checks
      io.writer->write(line);
    }
    io.writer->flush();  // a job killed at walltime keeps every finished window
  }
  const auto wall = std::chrono::steady_clock::now() - started;
  const double wall_seconds = std::chrono::duration<double>(wall).count();
  if (!root) {
    finish_run(summary, swarm, wall_seconds, options);
    return kExitOk;
  }
  close_jsonl_run(io, *progress, summary, options, total, skipped, wall);
  summary.set_extra("items_ok", items_ok);
  summary.set_extra("items_failed", items_failed);
  summary.set_extra("stages", config.stages.size());
  finish_run(summary, swarm, wall_seconds, options);
  return items_failed == 0 && failed_requests == 0 ? kExitOk : kExitSomeFailed;
}

}  // namespace

void validate_pipeline(const Options& o) {
  if (o.config.empty()) throw CLI::ValidationError("--pattern pipeline needs --config FILE");
  if (!o.input.empty() && (!o.prompt.empty() || !o.prompt_file.empty())) {
    throw CLI::ValidationError(
        "--pattern pipeline: --input gives one input per item; --prompt/--prompt-file give "
        "the single input of a one-off run; pass one of them");
  }
  if (o.resume && o.input.empty()) {
    throw CLI::ValidationError("--resume applies to --pattern pipeline with --input");
  }
  if (!o.aggregate.empty()) {
    throw CLI::ValidationError(
        "--aggregate does not apply to --pattern pipeline: each stage's \"transform\" in "
        "--config aggregates its answers");
  }
}

int run_pipeline(const Options& options, const PoolOptions& pool, mpi::Communicator comm) {
  const PipelineConfig config = load_config(options, comm);
  // The stages' agents are checked before the input is read and the output opened, so a bad
  // config leaves no output file behind.
  auto swarm = open_swarm(options, pool, comm);
  check_stage_agents(config, swarm, options.config);
  JsonlRun io;
  if (!options.input.empty()) {
    on_root_or_fail_everywhere(comm, [&] {
      io = open_jsonl_run(options, options.input);
      check_text_items(*io.reader);
    });
  }
  if (options.input.empty()) return run_once(options, config, swarm, comm);
  return run_items(options, config, swarm, comm, io);
}

}  // namespace swarm::cli
