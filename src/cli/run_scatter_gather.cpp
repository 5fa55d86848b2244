// --pattern scatter-gather: the input's prompt i goes to agent i mod N, window by window, and
// the results are written in input order, flushed per window. With --resume, prompts that
// already succeeded in --output are skipped (a redone prompt goes to the same agent as before),
// new lines are appended, and the file is compacted to one line per input at the end.

#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include <fmt/format.h>

#include "drivers.hpp"
#include "open_swarm.hpp"
#include "io/exit_codes.hpp"
#include "io/input.hpp"
#include "io/journal.hpp"
#include "io/output.hpp"
#include "io/progress.hpp"
#include "io/record_hash.hpp"
#include "io/resume.hpp"
#include "io/summary.hpp"
#include "jsonl_run.hpp"
#include "requests.hpp"
#include "swarm/mpi/scatter_gather.hpp"
#include "swarm/mpi/swarm.hpp"
#include "swarm/template.hpp"

namespace swarm::cli {
namespace {

// Input records read at a time while a window is assembled.
constexpr std::size_t kReadChunk = 4096;

// Each window allocates and frees a few buffers of megabytes. glibc serves such sizes with
// mmap, but raises its mmap threshold to the size of any larger mmapped block freed, so after
// the first window they come from the heap, where they fragment it: peak RSS then grows with
// the number of windows (measured, 2 ranks, default window, rank 0: 88 MiB at a million prompts
// vs 70 at 100,000; pinned: 70 vs 63, and rank 1 49 -> 43 at a million). Pinning the threshold
// at glibc's default keeps them mmapped and returned on free. The setting is process-wide,
// which the aswarm-mpi process may choose; the swarm::mpi library leaves the allocator alone.
// malloc_trim() after each window instead saved under 2 MiB.
void pin_mmap_threshold() {
#ifdef __GLIBC__
  mallopt(M_MMAP_THRESHOLD, 128 * 1024);
#endif
}

// The record of input `index` among the windows read and not yet written (each window's
// records ascend by index); null if its window was written.
const RecordIdentity* find_record(const std::deque<std::vector<RecordIdentity>>& windows,
                                  std::uint64_t index) {
  for (const auto& w : windows) {
    if (w.empty() || index < w.front().index || index > w.back().index) continue;
    const auto it = std::lower_bound(
        w.begin(), w.end(), index,
        [](const RecordIdentity& r, std::uint64_t i) { return r.index < i; });
    return it != w.end() && it->index == index ? &*it : nullptr;
  }
  return nullptr;
}

// The journal segment of input `index`: its window's first index.
std::uint64_t window_key(const std::deque<std::vector<RecordIdentity>>& windows,
                         std::uint64_t index) {
  for (const auto& w : windows) {
    if (!w.empty() && index >= w.front().index && index <= w.back().index) return w.front().index;
  }
  return 0;
}

}  // namespace

void validate_scatter_gather(const Options& o) {
  if (o.input.empty()) throw CLI::ValidationError("--pattern scatter-gather needs --input FILE|-");
  if (!o.reduce_prompt.empty()) {
    throw CLI::ValidationError("--reduce-prompt applies to --pattern broadcast");
  }
}

int run_scatter_gather(const Options& options, const PoolOptions& pool, mpi::Communicator comm) {
  pin_mmap_threshold();
  // Root-only preparation; any problem stops every rank with the same message.
  JsonlRun io;
  std::string item_template;
  on_root_or_fail_everywhere(comm, [&] {
    item_template = prompt_text(options);
    io = open_jsonl_run(options, options.input);
    check_request_input(options, *io.reader, item_template);
  });
  const CallOptions call = request_call(comm, io.reader.get(), options.stream);
  auto& reader = io.reader;
  auto& resume = io.resume;
  auto& writer = io.writer;
  auto swarm = open_swarm(options, pool, comm);

  const bool root = comm.is_root();
  const std::size_t total = root ? reader->count() : 0;
  const std::size_t skipped = resume ? resume->done_count() : 0;
  std::optional<Progress> progress;
  RunSummary summary;
  Aggregator aggregate(options.aggregate);
  if (root) progress.emplace(total - skipped, *parse_progress_mode(options.progress), stderr,
                             Progress::Clock{}, progress_interval(options));
  std::size_t done = 0;
  std::size_t ok = 0;
  std::size_t failed = 0;
  std::uint64_t tokens = 0;
  const bool dynamic = effective_schedule(options) == "dynamic";
  // What the output needs of the records of the windows read but not yet written, oldest
  // first: the pattern reads ahead while earlier windows are still in flight.
  std::deque<std::vector<RecordIdentity>> window_records;
  std::size_t records_read = 0;

  const auto next = [&](std::size_t max) {
    std::vector<mpi::Work> work;
    std::vector<RecordIdentity> kept;
    const std::size_t expected = std::min(max, total - records_read);
    work.reserve(expected);
    kept.reserve(expected);
    // Whole InputRecords are the biggest thing rank 0 would hold, so they are read in small
    // chunks and reduced at once to the request and the record's identity.
    while (work.size() < max) {
      auto records = reader->next(std::min(max - work.size(), kReadChunk));
      if (records.empty()) break;
      records_read += records.size();
      for (auto& record : records) {
        if (resume && resume->done(record.index)) continue;
        const std::uint64_t hash = record_hash(record);  // before make_work moves the prompt
        work.push_back(make_work(record, item_template, options, call.prompts_are_requests));
        kept.push_back(RecordIdentity::of(std::move(record), hash));
      }
    }
    if (!work.empty()) window_records.push_back(std::move(kept));
    return work;
  };
  // Dynamic schedule: answers are journaled as they arrive (journal.hpp), so a kill loses
  // about a second of them, not up to two windows.
  std::optional<Journal> journal;
  if (root && options.output != "-") journal.emplace(options.output);
  const auto url_of = [&](std::int64_t agent) {
    return agent >= 0 ? swarm.endpoint(static_cast<std::size_t>(agent)).url() : std::string{};
  };
  // The journaled lines of the windows not yet written, by input index: the output line of a
  // journaled answer is the same bytes, so the sink writes them instead of formatting the answer
  // a second time (formatting was an eighth of aswarm-mpi's CPU per request, bench/README).
  // Bounded like the answers themselves: at most the windows in flight.
  std::unordered_map<std::uint64_t, std::string> journaled;
  const auto answered = [&](std::vector<std::uint64_t>&& indices,
                            std::vector<Response>&& results) {
    for (std::size_t k = 0; k < indices.size(); ++k) {
      const RecordIdentity* record = find_record(window_records, indices[k]);
      if (record == nullptr) continue;  // its window is written already
      const auto agent = results[k].agent_index;
      std::string line =
          format_output_line(make_output_line(*record, std::move(results[k]), url_of(agent), agent));
      line += '\n';
      journal->append(window_key(window_records, indices[k]), line);
      journaled.insert_or_assign(indices[k], std::move(line));
    }
    journal->sync();
  };
  const auto sink = [&](std::vector<std::uint64_t>&& indices, std::vector<Response>&& results) {
    auto records = std::move(window_records.front());
    window_records.pop_front();
    const std::uint64_t key = records.empty() ? 0 : records.front().index;
    for (std::size_t k = 0; k < results.size(); ++k) {
      const auto agent = results[k].agent_index;
      const std::string url =
          agent >= 0 ? swarm.endpoint(static_cast<std::size_t>(agent)).url() : std::string{};
      (results[k].success ? ok : failed) += 1;
      tokens += static_cast<std::uint64_t>(std::max<std::int64_t>(results[k].usage.completion_tokens, 0));
      summary.add(results[k], url);
      aggregate.add(results[k]);
      const auto line = journaled.empty() ? journaled.end() : journaled.find(indices[k]);
      if (line != journaled.end()) {
        writer->write_lines(line->second);
        journaled.erase(line);
      } else {
        writer->write(make_output_line(std::move(records[k]), std::move(results[k]), url, agent));
      }
    }
    writer->flush();  // a job killed at walltime keeps every finished window
    if (journal) journal->retire(key);  // only after the window is durable in the output
    done += results.size();
    // Dynamic mode counts answers as they reach the root instead (live, below); this sink runs
    // on the I/O thread, which must not draw at the same time.
    if (!dynamic) progress->update(done, ok, failed, tokens);
  };
  // Every answer as it reaches the root, on the root's MPI thread: the live line moves as
  // answers complete on any rank, not once per window, at no MPI cost (they travel anyway).
  std::size_t live_ok = 0;
  std::size_t live_failed = 0;
  std::uint64_t live_tokens = 0;
  const auto on_answer = [&](const Response& r) {
    (r.success ? live_ok : live_failed) += 1;
    live_tokens += static_cast<std::uint64_t>(std::max<std::int64_t>(r.usage.completion_tokens, 0));
    progress->update(live_ok + live_failed, live_ok, live_failed, live_tokens);
  };
  const auto started = std::chrono::steady_clock::now();
  if (dynamic) {
    mpi::scatter_gather_dynamic(swarm, next, sink, options.window, call,
                                journal ? mpi::WindowSink(answered) : mpi::WindowSink{},
                                root ? mpi::AnswerFn(on_answer) : mpi::AnswerFn{});
  } else {
    mpi::scatter_gather_windows(swarm, next, sink, options.window, call, options.batch_size);
  }
  const auto wall = std::chrono::steady_clock::now() - started;

  const double wall_seconds = std::chrono::duration<double>(wall).count();
  if (!root) {
    finish_run(summary, swarm, wall_seconds, options);
    return kExitOk;
  }
  progress->finish();
  writer->close();
  if (options.resume) compact(options.output, total, io.compact_options());
  summary.set_wall_time(wall);
  summary.set_extra("inputs", total);
  summary.set_extra("skipped_already_done", skipped);
  summary.set_extra("schedule", effective_schedule(options));
  finish_run(summary, swarm, wall_seconds, options);
  aggregate.print();
  return failed == 0 ? kExitOk : kExitSomeFailed;
}

}  // namespace swarm::cli
