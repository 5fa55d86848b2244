// --pattern scatter-gather: the input's prompt i goes to agent i mod N, window by window, and
// the results are written in input order, flushed per window. With --resume, prompts that
// already succeeded in --output are skipped (a redone prompt goes to the same agent as before),
// new lines are appended, and the file is compacted to one line per input at the end.

#include <chrono>
#include <deque>
#include <filesystem>
#include <memory>
#include <optional>

#include <fmt/format.h>

#include "drivers.hpp"
#include "io/exit_codes.hpp"
#include "io/input.hpp"
#include "io/input_error.hpp"
#include "io/output.hpp"
#include "io/progress.hpp"
#include "io/resume.hpp"
#include "io/summary.hpp"
#include "swarm/mpi/scatter_gather.hpp"
#include "swarm/mpi/swarm.hpp"
#include "swarm/template.hpp"

namespace swarm::cli {

int run_scatter_gather(const Options& options, const PoolOptions& pool, mpi::Communicator comm) {
  // Root-only preparation; any problem stops every rank with the same message.
  std::unique_ptr<InputReader> reader;
  std::optional<ResumeState> resume;
  std::unique_ptr<OutputWriter> writer;
  std::string item_template;
  on_root_or_fail_everywhere(comm, [&] {
    item_template = prompt_text(options);
    reader = std::make_unique<InputReader>(options.input);
    reader->validate();  // every line checked before anything is sent
    std::error_code ec;
    if (!options.resume && options.output != "-" &&
        std::filesystem::file_size(options.output, ec) > 0 && !ec) {
      // Hours of results must not vanish because a rerun forgot --resume.
      throw InputError(options.output, 0,
                       "holds results of an earlier run; pass --resume to continue it, or "
                       "remove the file to start over");
    }
    if (options.resume) {
      resume = load_resume(options.output, reader->count(), reader->key_fingerprints());
      writer = std::make_unique<OutputWriter>(options.output, *resume);
    } else {
      writer = std::make_unique<OutputWriter>(options.output);
    }
  });
  auto swarm = mpi::Swarm::from_hostfile(comm, options.hostfile, pool);

  const bool root = comm.is_root();
  const std::size_t total = root ? reader->count() : 0;
  const std::size_t skipped = resume ? resume->done_count() : 0;
  std::optional<Progress> progress;
  RunSummary summary;
  Aggregator aggregate(options.aggregate);
  if (root) progress.emplace(total - skipped, *parse_progress_mode(options.progress));
  std::size_t done = 0;
  std::size_t ok = 0;
  std::size_t failed = 0;
  // Records of the windows read but not yet written, oldest first: the pattern reads one
  // window ahead of the one it hands back.
  std::deque<std::vector<InputRecord>> window_records;

  const auto next = [&](std::size_t max) {
    std::vector<mpi::Work> work;
    std::vector<InputRecord> kept;
    while (work.empty()) {
      auto records = reader->next(max);
      if (records.empty()) break;
      for (auto& record : records) {
        if (resume && resume->done(record.index)) continue;
        std::string prompt = item_template.empty()
                                 ? record.prompt
                                 : fill_template(item_template, {{"item", record.prompt}});
        work.push_back(mpi::Work{record.index, std::move(prompt), record.max_tokens});
        kept.push_back(std::move(record));
      }
    }
    if (!work.empty()) window_records.push_back(std::move(kept));
    return work;
  };
  const auto sink = [&](std::vector<std::uint64_t>&&, std::vector<Response>&& results) {
    const auto records = std::move(window_records.front());
    window_records.pop_front();
    for (std::size_t k = 0; k < results.size(); ++k) {
      const auto agent = results[k].agent_index;
      const std::string url =
          agent >= 0 ? swarm.endpoint(static_cast<std::size_t>(agent)).url() : std::string{};
      (results[k].success ? ok : failed) += 1;
      summary.add(results[k], url);
      aggregate.add(results[k]);
      writer->write(make_output_line(records[k], std::move(results[k]), url, agent));
    }
    writer->flush();  // a job killed at walltime keeps every finished window
    done += results.size();
    progress->update(done, ok, failed);
  };
  const auto started = std::chrono::steady_clock::now();
  mpi::scatter_gather_windows(swarm, next, sink, options.window, {}, options.batch_size);
  const auto wall = std::chrono::steady_clock::now() - started;

  const auto per_rank = gather_rank_stats(comm, swarm.mpi_stats().seconds,
                                          std::chrono::duration<double>(wall).count());
  if (!root) return kExitOk;
  progress->finish();
  writer->close();
  if (options.resume) compact(options.output, total);
  summary.set_wall_time(wall);
  summary.set_extra("pattern", "scatter-gather");
  summary.set_extra("inputs", total);
  summary.set_extra("skipped_already_done", skipped);
  summary.set_extra("ranks", comm.size());
  summary.set_extra("agents", swarm.size());
  summary.set_extra("per_rank", per_rank);
  if (!options.summary.empty()) summary.write(options.summary);
  aggregate.print();
  return failed == 0 ? kExitOk : kExitSomeFailed;
}

}  // namespace swarm::cli
