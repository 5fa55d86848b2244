// --pattern blackboard: agents tagged role=<section> write to that section, round after round,
// each section's prompt built from the board as it stands (board_config.hpp). Prints the final
// board; --output gets one JSON line per round and section with the prompt and every answer;
// --summary adds rounds run and why the run stopped.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "board_config.hpp"
#include "board_resume.hpp"
#include "drivers.hpp"
#include "open_swarm.hpp"
#include "io/exit_codes.hpp"
#include "io/file_handles.hpp"
#include "io/input_error.hpp"
#include "io/output_lock.hpp"
#include "io/record_hash.hpp"
#include "io/summary.hpp"
#include "swarm/mpi/blackboard.hpp"
#include "swarm/mpi/swarm.hpp"

namespace swarm::cli {
namespace {

void print_board(const mpi::BoardState& board, std::FILE* out) {
  for (const auto& section : board.sections()) {
    const auto texts = board.texts(section);
    fmt::print(out, "## {} ({})\n", section, texts.size());
    for (const auto& e : board.entries()) {
      if (board.sections()[e.section] != section) continue;
      if (e.agent < 0) {
        fmt::print(out, "[initial] {}\n", e.text);
      } else {
        fmt::print(out, "[round {} agent {}] {}\n", e.round, e.agent, e.text);
      }
    }
  }
}

std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in && !in.eof()) throw InputError(path, 0, "cannot read");
  return text;
}

// The log cut after its last complete round, opened for appending.
detail::File open_log_at(const std::string& path, const BoardCheckpoint& checkpoint) {
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) {
    std::filesystem::resize_file(path, checkpoint.valid_bytes, ec);
    if (ec) throw std::runtime_error(fmt::format("cannot cut '{}': {}", path, ec.message()));
  }
  detail::File log = detail::File::open(path, "a");
  if (checkpoint.needs_newline &&
      (std::fputc('\n', log.get()) == EOF || std::fflush(log.get()) != 0)) {
    throw std::runtime_error(detail::errno_message("cannot write", path));
  }
  return log;
}

}  // namespace

void validate_blackboard(const Options& o) {
  if (o.config.empty()) throw CLI::ValidationError("--pattern blackboard needs --config FILE");
}

int run_blackboard(const Options& options, const PoolOptions& pool, mpi::Communicator comm) {
  // Every rank reads the (small) config itself: all need the prompts. A failure on any rank
  // fails every rank with its message.
  std::optional<BoardConfig> config;
  on_every_rank_or_fail_everywhere(comm, [&] { config = BoardConfig::load(options.config); });
  const int max_rounds = options.max_rounds > 0 ? options.max_rounds : config->max_rounds;

  detail::File log;
  std::unique_ptr<OutputLock> lock;  // one run per output file
  std::string config_hash;           // every log line names its config (board_resume.hpp)
  on_root_or_fail_everywhere(comm, [&] {
    config_hash = format_record_hash(text_hash(read_text_file(options.config)));
    lock = lock_output(options.output);
    if (lock && !options.resume) log = detail::File::open(options.output, "w");
  });
  auto swarm = open_swarm(options, pool, comm);
  // --resume: the log's complete rounds are put back on the board, the rest is cut off.
  BoardCheckpoint checkpoint;
  on_root_or_fail_everywhere(comm, [&] {
    if (!lock || !options.resume) return;
    std::vector<bool> stepped;
    for (const auto& s : config->section_names()) {
      stepped.push_back(!swarm.agents_with_tag("role", s).empty());
    }
    checkpoint = load_board_log(options.output, config->section_names(), stepped, config_hash);
    log = open_log_at(options.output, checkpoint);
  });

  const auto started = std::chrono::steady_clock::now();
  RunSummary summary;
  std::string reason;
  mpi::Blackboard board(swarm, config->section_names(),
                        [&](const std::string& section, const mpi::BoardState& state) {
                          return config->prompt(section, state);
                        });
  board.seed(config->initial);
  if (options.resume) board.restore(checkpoint.entries, checkpoint.rounds, checkpoint.failed);
  const int restored = board.round();
  mpi::StepFn on_step = [&](mpi::BoardStep&& step) {
    nlohmann::json answers = nlohmann::json::array();
    for (const auto& r : step.responses) {
      const auto url = swarm.endpoint(static_cast<std::size_t>(r.agent_index)).url();
      summary.add(r, url);
      answers.push_back(answer_json(r, url));
    }
    if (log) {
      append_json_line(log.get(),
                       {{"round", step.round},
                        {"section", step.section},
                        {"prompt", step.prompt},
                        {"responses", std::move(answers)},
                        {"config_hash", config_hash}},
                       options.output);
    }
  };
  const auto final_board = board.run(
      std::max(0, max_rounds - restored),
      [&](const mpi::BoardState& state) {
        auto why = config->converged(state);
        if (why) reason = *why;
        return why.has_value();
      },
      on_step);
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (!comm.is_root()) {
    finish_run(summary, swarm, wall, options);
    return kExitOk;
  }

  log.close();
  const bool converged = board.stop_reason() == mpi::StopReason::converged;
  fmt::print("== blackboard: {} round{}, {} ({})\n", board.round(), board.round() == 1 ? "" : "s",
             converged ? "converged" : "max rounds reached",
             converged ? reason : fmt::format("--max-rounds {}", max_rounds));
  print_board(final_board, stdout);
  std::fflush(stdout);

  summary.set_wall_time(std::chrono::steady_clock::now() - started);
  summary.set_extra("rounds", board.round());
  summary.set_extra("stop_reason", converged ? "converged" : "max_rounds");
  if (converged) summary.set_extra("stop_rule", reason);
  summary.set_extra("board", final_board.snapshot());
  summary.set_extra("window_bytes_per_rank", board.capacity());
  finish_run(summary, swarm, wall, options);
  return board.answers_failed() == 0 ? kExitOk : kExitSomeFailed;
}

}  // namespace swarm::cli
