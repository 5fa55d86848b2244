// --pattern tree-reduce: leaf answers (every agent answers --prompt, or one leaf per --items
// record with {item} filled) are summarised with --reduce-prompt in groups of --fanin, level
// after level as the seed does, whatever the rank count (swarm/mpi/tree_reduce.hpp). The final
// answer goes to stdout, or with --output FILE to one JSON line:
//   {"success", "text", "error", "agent", "endpoint", "leaves_covered",
//    "levels": [{"level", "inputs", "calls", "ok", "failed", "blank"}]}
// --summary gets the same per-level counts, and the usual request counts, tokens and latencies
// of every request this run made (each rank's, gathered without their texts at the end).

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <span>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "drivers.hpp"
#include "open_swarm.hpp"
#include "io/exit_codes.hpp"
#include "io/input.hpp"
#include "io/output_lock.hpp"
#include "io/record_hash.hpp"
#include "io/summary.hpp"
#include "requests.hpp"
#include "swarm/mpi/gather.hpp"
#include "swarm/mpi/strings.hpp"
#include "tree_checkpoint.hpp"
#include "swarm/mpi/swarm.hpp"
#include "swarm/mpi/tree_reduce.hpp"
#include "swarm/template.hpp"

namespace swarm::cli {
namespace {

/// Flag combinations are the same on every rank, so every rank throws alike.
void check_flags(const Options& o) {
  if (o.prompt.empty() && o.prompt_file.empty()) {
    throw UsageError("--pattern tree-reduce needs --prompt or --prompt-file");
  }
  if (o.reduce_prompt.empty()) {
    throw UsageError("--pattern tree-reduce needs --reduce-prompt (a template with {responses})");
  }
  const auto names = template_placeholders(o.reduce_prompt);
  if (std::find(names.begin(), names.end(), "responses") == names.end()) {
    throw UsageError("--reduce-prompt must contain {responses} (the answers to summarise)");
  }
  if (!o.input.empty()) {
    throw UsageError("--input applies to --pattern scatter-gather; tree-reduce reads --items FILE");
  }
  if (o.batch_size > 1) throw UsageError("--batch-size applies to --pattern scatter-gather");
}

/// What RunSummary::add reads of `r`, without the texts (they stay on their rank).
Response summary_copy(const Response& r) {
  Response copy = r;
  copy.text.clear();
  copy.reasoning.clear();
  copy.body.clear();
  if (copy.error.size() > RunSummary::kReasonLength) copy.error.resize(RunSummary::kReasonLength);
  return copy;
}

nlohmann::json levels_json(const mpi::TreeReduceResult& result) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& l : result.levels) {
    out.push_back({{"level", l.level},
                   {"inputs", l.inputs},
                   {"calls", l.calls},
                   {"ok", l.ok},
                   {"failed", l.failed},
                   {"blank", l.blank}});
  }
  return out;
}

}  // namespace

int run_tree_reduce(const Options& options, const PoolOptions& pool, mpi::Communicator comm) {
  check_flags(options);
  std::string prompt;
  std::vector<std::string> items;
  std::unique_ptr<std::ofstream> file;
  std::unique_ptr<std::ofstream> levels_file;
  std::unique_ptr<OutputLock> lock;
  const bool with_items = !options.items.empty();
  on_root_or_fail_everywhere(comm, [&] {
    prompt = prompt_text(options);
    if (with_items) {
      InputReader reader(options.items);
      reader.set_max_line_bytes(options.max_line_bytes);
      reader.set_plain_text(options.input_format == "text");  // --input-format text
      const auto count = reader.validate();  // every line checked before anything is sent
      if (count == 0) throw InputError(options.items, 0, "holds no items");
      check_text_items(reader);
      for (auto& record : reader.next(count)) items.push_back(std::move(record.prompt));
    }
    if (!options.levels_output.empty()) {
      // Appended on --resume: the levels a killed run finished are there already (a level it
      // was running when killed is redone, so its lines can appear twice; the later wins).
      levels_file = std::make_unique<std::ofstream>(
          options.levels_output,
          std::ios::binary | (options.resume ? std::ios::app : std::ios::trunc));
      if (!*levels_file) {
        throw InputError(options.levels_output, 0, "cannot open --levels-output for writing");
      }
    }
    if (options.output != "-") {
      lock = lock_output(options.output);  // one run per output file
      file = std::make_unique<std::ofstream>(options.output, std::ios::binary | std::ios::trunc);
      if (!*file) throw InputError(options.output, 0, "cannot open output file for writing");
    }
  });
  auto swarm = open_swarm(options, pool, comm);
  // With --output FILE, each rank checkpoints its local phase (tree_checkpoint.hpp).
  std::optional<TreeCheckpointFile> checkpoint;
  if (options.output != "-") {
    std::string key;
    if (comm.is_root()) {
      // Everything that changes a prompt: a checkpoint of other settings is no checkpoint.
      std::string what = fmt::format(
          "{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n", prompt, options.reduce_prompt, options.fanin,
          comm.size(), options.max_tokens_contingency.value_or(-1), pool.max_tokens,
          options.max_response_chars, options.max_reduce_input_chars);
      for (const auto& item : items) what += item + '\n';
      key = format_record_hash(text_hash(what));
    }
    mpi::broadcast_string(key, comm);
    for (const auto a : swarm.local_agents()) key += ' ' + swarm.endpoint(a).url();
    key = format_record_hash(text_hash(key));
    checkpoint.emplace(fmt::format("{}.tree-{}-of-{}", options.output, comm.rank(), comm.size()),
                       std::move(key), options.resume);
  }

  const auto started = std::chrono::steady_clock::now();
  std::optional<std::span<const std::string>> leaf_items;
  if (with_items) leaf_items = std::span<const std::string>(items);
  const mpi::Schedule schedule = effective_schedule(options) == "dynamic"
                                     ? mpi::Schedule::dynamic
                                     : mpi::Schedule::fixed;
  // --summary/--report: each rank keeps what the summary needs of its agents' answers (not their texts)
  // and the root gathers it at the end, the only time answers' data reaches the root.
  std::vector<Response> accounted;
  mpi::AnswerObserver observe;
  if (wants_summary(options)) observe = [&accounted](const Response& r) {
    accounted.push_back(summary_copy(r));
  };
  mpi::TreeReduceOptions tree{.fanin = options.fanin,
                              .items = leaf_items,
                              .max_response_chars = options.max_response_chars,
                              .max_reduce_input_chars = options.max_reduce_input_chars,
                              .checkpoint = checkpoint ? checkpoint->hooks()
                                                       : mpi::ReduceCheckpoint{},
                              .schedule = schedule,
                              .observe = observe};
  if (options.max_tokens_contingency) {
    // The seed's rule: the leaves' cap (--max-tokens, else the default or environment) per member.
    tree.group_budget = mpi::GroupBudget{pool.max_tokens, *options.max_tokens_contingency};
  }
  if (levels_file) {
    tree.on_level_output = [&](int level, std::uint64_t group, const Response& r) {
      const auto agent = r.agent_index;
      const nlohmann::json line = {
          {"level", level},
          {"group", group},
          {"text", r.text},
          {"agent", agent},
          {"endpoint",
           agent >= 0 ? swarm.endpoint(static_cast<std::size_t>(agent)).url() : std::string{}}};
      // Flushed per line: a few per level (one per group), and a kill keeps finished levels.
      *levels_file << line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n'
                   << std::flush;
    };
  }
  const auto result = mpi::tree_reduce(swarm, prompt, options.reduce_prompt, tree);
  if (levels_file) {
    levels_file->close();
    if (!*levels_file) throw std::runtime_error(options.levels_output + ": write failed");
  }
  const auto wall = std::chrono::steady_clock::now() - started;
  const double wall_seconds = std::chrono::duration<double>(wall).count();
  RunSummary summary;
  if (wants_summary(options)) {
    for (const auto& r : mpi::gather_responses(swarm, accounted)) {
      summary.add(r, r.agent_index >= 0
                         ? swarm.endpoint(static_cast<std::size_t>(r.agent_index)).url()
                         : std::string{});
    }
  }
  if (!comm.is_root()) {
    finish_run(summary, swarm, wall_seconds, options);
    if (checkpoint) checkpoint->remove();
    return kExitOk;
  }

  const Response& final_answer = result.response;
  const auto agent = final_answer.agent_index;
  const std::string endpoint =
      agent >= 0 ? swarm.endpoint(static_cast<std::size_t>(agent)).url() : std::string{};

  if (file) {
    const nlohmann::json line = {
        {"success", final_answer.success},
        {"text", final_answer.text},
        {"error",
         final_answer.success ? nlohmann::json(nullptr) : nlohmann::json(final_answer.error)},
        {"agent", agent},
        {"endpoint", endpoint},
        {"leaves_covered", result.leaves_covered},
        {"levels", levels_json(result)}};
    *file << line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
    file->close();
    if (!*file) throw std::runtime_error(options.output + ": write failed");
  } else if (final_answer.success) {
    std::fwrite(final_answer.text.data(), 1, final_answer.text.size(), stdout);
    std::fputc('\n', stdout);
  }
  if (!final_answer.success) {
    std::fprintf(stderr, "aswarm-mpi: tree-reduce failed: %s\n", final_answer.error.c_str());
  }

  summary.set_wall_time(wall);
  summary.set_extra("fanin", options.fanin);
  summary.set_extra("items", items.size());
  if (with_items) summary.set_extra("schedule", effective_schedule(options));
  summary.set_extra("levels", levels_json(result));
  summary.set_extra("leaves_covered", result.leaves_covered);
  summary.set_extra("final", {{"success", final_answer.success},
                              {"agent", agent},
                              {"endpoint", endpoint},
                              {"error", final_answer.error}});
  const auto& root_mpi = swarm.mpi_stats();
  summary.set_extra("root_mpi", {{"seconds", root_mpi.seconds},
                                 {"bytes_sent", root_mpi.bytes_sent},
                                 {"bytes_received", root_mpi.bytes_received}});
  finish_run(summary, swarm, wall_seconds, options);
  if (checkpoint) checkpoint->remove();  // the result is written

  Aggregator aggregate(options.aggregate);  // of the final answer: the root holds nothing else
  aggregate.add(final_answer);
  aggregate.print();
  std::uint64_t failed = 0;
  for (const auto& l : result.levels) failed += l.failed;
  return final_answer.success && failed == 0 ? kExitOk : kExitSomeFailed;
}

}  // namespace swarm::cli
