// --pattern embed: one vector per input line, in input order. The texts go in /v1/embeddings
// list requests of --batch-size to the --embed-tag agents (mpi::embed_windows: the dynamic
// farm), each window's lines are written and fsynced as it completes, and --resume skips the
// lines that already succeeded and compacts the file to one line per input at the end.
//
// Output line: {"index", "id" (when the input has one), "success", "embedding": [...] or null,
// "error", "agent", "endpoint", "attempts", "latency_ms" (of the request that carried the
// text), "input_hash"}.

#include <chrono>
#include <deque>
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "agent_views.hpp"
#include "drivers.hpp"
#include "io/exit_codes.hpp"
#include "io/progress.hpp"
#include "io/record_hash.hpp"
#include "io/summary.hpp"
#include "jsonl_run.hpp"
#include "open_swarm.hpp"
#include "requests.hpp"
#include "swarm/mpi/embed.hpp"
#include "swarm/mpi/swarm.hpp"

namespace swarm::cli {
namespace {

constexpr std::size_t kReadChunk = 4096;

nlohmann::json embedding_line(const RecordIdentity& record, Embedding&& e,
                                      const std::string& endpoint) {
  const Response& r = e.response;
  nlohmann::json line;
  line["index"] = record.index;
  if (!record.id.is_null()) line["id"] = record.id;
  line["success"] = r.success;
  line["embedding"] = r.success ? nlohmann::json(std::move(e.vector)) : nullptr;
  line["error"] = r.success ? nullptr : nlohmann::json(r.error);
  line["agent"] = r.agent_index;
  line["endpoint"] = endpoint;
  line["attempts"] = r.attempts;
  line["latency_ms"] = std::chrono::duration<double, std::milli>(r.latency).count();
  line["input_hash"] = format_record_hash(record.input_hash);
  return line;
}

}  // namespace

void validate_embed(const Options& o) {
  if (o.input.empty()) throw CLI::ValidationError("--pattern embed needs --input FILE|-");
  if (!o.prompt.empty() || !o.prompt_file.empty()) {
    throw CLI::ValidationError("--pattern embed embeds the input lines as written: drop --prompt");
  }
}

int run_embed(const Options& options, const PoolOptions& pool, mpi::Communicator comm) {
  JsonlRun io;
  on_root_or_fail_everywhere(comm, [&] {
    io = open_jsonl_run(options, options.input);
    check_text_items(*io.reader);
  });
  auto swarm = open_swarm(options, pool, comm);
  mpi::Swarm embedders = embed_agents(swarm, options);

  const bool root = comm.is_root();
  const std::size_t total = root ? io.reader->count() : 0;
  const std::size_t skipped = io.resume ? io.resume->done_count() : 0;
  std::optional<Progress> progress;
  if (root) progress.emplace(total - skipped, *parse_progress_mode(options.progress), stderr,
                             Progress::Clock{}, progress_interval(options));
  RunSummary summary;
  std::size_t ok = 0;
  std::size_t failed = 0;
  // The identities of the lines of each window read and not yet written, oldest first.
  std::deque<std::vector<RecordIdentity>> windows;

  const mpi::TextSource next = [&](std::size_t max) {
    std::vector<std::string> texts;
    std::vector<RecordIdentity> kept;
    while (texts.size() < max) {
      auto records = io.reader->next(std::min(max - texts.size(), kReadChunk));
      if (records.empty()) break;
      for (auto& record : records) {
        if (io.resume && io.resume->done(record.index)) continue;
        const std::uint64_t hash = record_hash(record);
        texts.push_back(std::move(record.prompt));
        kept.push_back(RecordIdentity::of(std::move(record), hash));
      }
    }
    if (!texts.empty()) windows.push_back(std::move(kept));
    return texts;
  };
  const mpi::EmbeddingSink done = [&](std::uint64_t, std::vector<Embedding>&& results) {
    const auto records = std::move(windows.front());
    windows.pop_front();
    for (std::size_t k = 0; k < results.size(); ++k) {
      const auto agent = results[k].response.agent_index;
      const std::string url =
          agent >= 0 ? embedders.endpoint(static_cast<std::size_t>(agent)).url() : std::string{};
      (results[k].response.success ? ok : failed) += 1;
      summary.add(results[k].response, url);
      io.writer->write(embedding_line(records[k], std::move(results[k]), url));
    }
    io.writer->flush();  // a job killed at walltime keeps every finished window
    progress->update(ok + failed, ok, failed);
  };
  mpi::EmbedOptions embed;
  embed.batch_size = options.batch_size;
  embed.window = options.window;
  embed.model = options.embed_model;
  const auto started = std::chrono::steady_clock::now();
  mpi::embed_windows(embedders, next, done, embed);
  const auto wall = std::chrono::steady_clock::now() - started;
  const double wall_seconds = std::chrono::duration<double>(wall).count();
  if (!root) {
    finish_run(summary, swarm, wall_seconds, options);
    return kExitOk;
  }
  close_jsonl_run(io, *progress, summary, options, total, skipped, wall);
  summary.set_extra("embeddings_per_second",
                    wall_seconds > 0 ? static_cast<double>(ok) / wall_seconds : 0.0);
  finish_run(summary, swarm, wall_seconds, options);
  return failed == 0 ? kExitOk : kExitSomeFailed;
}

}  // namespace swarm::cli
