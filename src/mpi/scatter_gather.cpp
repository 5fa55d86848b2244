#include "swarm/mpi/scatter_gather.hpp"

#include <chrono>
#include <deque>
#include <future>
#include <optional>
#include <stdexcept>
#include <thread>
#include <utility>

#include "byte_transfer.hpp"
#include "local_runner.hpp"
#include "private_comm.hpp"
#include "progress.hpp"
#include "serial_worker.hpp"
#include "swarm/mpi/swarm.hpp"
#include "swarm/template.hpp"
#include "wire.hpp"

namespace swarm::mpi {
namespace {

using namespace std::chrono_literals;

// The first window is this fraction of the window: the other ranks get work once the root has
// read a few thousand lines, not a whole window, and the next window is read while it runs.
constexpr std::size_t kFirstWindowDivisor = 8;

/// Root: one window, read and packed for the scatter, plus what is needed to put the gathered
/// answers back in read order.
struct Outgoing {
  bool end = false;                              // the input is exhausted; nothing else is set
  std::vector<std::uint64_t> indices;            // input index of each prompt, in read order
  std::vector<std::vector<std::size_t>> origin;  // per rank: read position of each bucket item
  std::vector<char> bytes;                       // every rank's bucket, end to end
  std::vector<std::size_t> sizes;                // bytes per rank
};

/// Root: what a scattered window needs until its answers are gathered.
struct Pending {
  std::vector<std::uint64_t> indices;
  std::vector<std::vector<std::size_t>> origin;
};

Outgoing prepare(const Swarm& swarm, int ranks, std::vector<Work> work) {
  Outgoing out;
  if (work.empty()) {
    out.end = true;
    return out;
  }
  const auto n = static_cast<std::uint64_t>(swarm.size());
  std::vector<std::vector<Work>> buckets(static_cast<std::size_t>(ranks));
  out.origin.resize(buckets.size());
  out.indices.reserve(work.size());
  for (std::size_t k = 0; k < work.size(); ++k) {
    const auto r = static_cast<std::size_t>(swarm.owner_of(agent_for(work[k].index, n)));
    out.indices.push_back(work[k].index);
    buckets[r].push_back(std::move(work[k]));
    out.origin[r].push_back(k);
  }
  work = {};
  out.bytes = detail::pack_buckets(buckets, out.sizes);
  return out;
}

/// Root: rank r's gathered bytes answer its bucket; each Response lands at its read position.
std::vector<Response> unpack_answers(const std::vector<char>& bytes,
                                     const std::vector<std::int64_t>& sizes,
                                     const Pending& window) {
  std::vector<Response> results(window.indices.size());
  std::size_t offset = 0;
  for (std::size_t r = 0; r < sizes.size(); ++r) {
    const auto size = static_cast<std::size_t>(sizes[r]);
    detail::ByteReader in(bytes.data() + offset, size);
    offset += size;
    while (!in.done()) {
      const auto pos = in.get<std::uint64_t>();
      if (pos >= window.origin[r].size())
        throw std::logic_error("scatter_gather: bad gathered position");
      detail::get(in, results[window.origin[r][pos]]);
    }
  }
  return results;
}

}  // namespace

// Every rank runs the same loop; each window w goes through
//   scatter (root -> ranks) -> this rank's requests -> gather (ranks -> root) -> done (root),
// with the steps of different windows overlapping: a rank receives window w+1 while its
// requests of window w are in flight and starts it the moment they drain, and it hands window
// w's answers back with a non-blocking gather while window w+1 runs. So a rank waits in MPI only
// when it has nothing left to send. Scatters and gathers each have a communicator of their own
// and one transfer in flight, which keeps the non-blocking collectives in the same order on
// every rank. Each rank holds at most two windows of work (the one draining and the next).
void scatter_gather_windows(Swarm& swarm, const WindowSource& next, const WindowSink& done,
                            std::size_t window, CallOptions call, std::size_t batch_size) {
  if (swarm.size() == 0) throw std::logic_error("scatter_gather over an empty swarm");
  if (window == 0) throw std::invalid_argument("scatter_gather: window must be positive");
  const Communicator comm = swarm.communicator();
  const bool root = comm.is_root();
  const int ranks = comm.size();
  detail::Progress progress(swarm);
  const detail::PrivateComm scatter_comm(comm.mpi_communicator());
  const detail::PrivateComm gather_comm(comm.mpi_communicator());

  detail::LocalRunner runner(swarm, call, batch_size);
  std::deque<detail::ByteWriter> answers;  // per runner batch: its Responses, packed as they come
  std::deque<std::vector<char>> unsent;    // finished batches waiting for the gather
  std::optional<detail::ByteScatter> scatter;
  std::optional<detail::ByteGather> gather;
  bool ended = false;  // the end mark arrived: no window follows

  // Root only. The reader, the bucketing and the decoding and writing of answers run on the
  // helper thread, so no rank waits in MPI while the root does file I/O.
  std::deque<Pending> scattered;           // windows out, answers not yet gathered
  std::deque<std::future<void>> sinks;     // done() calls queued or running
  std::future<Outgoing> reading;           // the next window, being read
  std::optional<detail::SerialWorker> io;  // last: its tasks use the variables above
  const auto read = [&](std::size_t max) {
    return io->submit([&swarm, &next, ranks, max] { return prepare(swarm, ranks, next(max)); });
  };
  if (root) {
    io.emplace();
    reading = read(std::max<std::size_t>(1, window / kFirstWindowDivisor));
  }

  for (;;) {
    bool moved = false;  // something happened this round: do not sleep

    // Scatter: the next window, once this rank is down to one window of work.
    if (!scatter && !ended && runner.batches() <= 1) {
      if (!root) {
        scatter.emplace(scatter_comm.get(), progress);
      } else if (detail::ready(reading)) {
        Outgoing out = reading.get();
        if (!out.end) {
          scattered.push_back(Pending{std::move(out.indices), std::move(out.origin)});
          reading = read(window);
        }
        scatter.emplace(scatter_comm.get(), progress, std::move(out.bytes), out.sizes, out.end);
      }
    }
    if (scatter && scatter->test()) {
      if (scatter->end()) {
        ended = true;
      } else {
        auto& packed = answers.emplace_back();
        const auto& got = scatter->received();
        runner.add(detail::decode_all<Work>(got.data(), got.size()),
                   [&packed](std::size_t pos, Response&& r) {
                     packed.put<std::uint64_t>(pos);
                     detail::put(packed, r);
                   });
      }
      scatter.reset();
      moved = true;
    }

    // Gather: finished windows, oldest first.
    while (runner.front_done()) {
      runner.pop_front();
      unsent.push_back(std::move(answers.front().bytes()));
      answers.pop_front();
    }
    if (!gather && !unsent.empty()) {
      gather.emplace(gather_comm.get(), progress, std::move(unsent.front()));
      unsent.pop_front();
    }
    if (gather && gather->test()) {
      if (root) {
        sinks.push_back(
            io->submit([&done, window = std::move(scattered.front()),
                        bytes = std::move(gather->received()), sizes = gather->sizes()]() mutable {
              auto results = unpack_answers(bytes, sizes, window);
              bytes = {};
              done(std::move(window.indices), std::move(results));
            }));
        scattered.pop_front();
      }
      gather.reset();
      moved = true;
    }
    // The caller's I/O errors surface here, as soon as they happen.
    while (!sinks.empty() && detail::ready(sinks.front())) {
      sinks.front().get();
      sinks.pop_front();
    }

    if (ended && runner.batches() == 0 && unsent.empty() && !gather) break;

    if (runner.batches() > 0) {
      runner.step(scatter || gather || reading.valid() ? detail::kPollWithMpi
                                                       : detail::kPollHttpOnly);
    } else if (!moved) {
      // Nothing of this rank's own in flight: wait for a transfer (or, on the root, the reader).
      progress.idle(scatter || gather);
      continue;
    }
    progress.moved();
  }
  for (auto& sink : sinks) sink.get();
}

std::vector<Response> scatter_gather(Swarm& swarm, std::span<const std::string> prompts,
                                     CallOptions call, std::size_t window) {
  std::vector<Response> out;
  std::size_t next_index = 0;
  scatter_gather_windows(
      swarm,
      [&](std::size_t max) {
        std::vector<Work> w;
        for (; next_index < prompts.size() && w.size() < max; ++next_index) {
          w.push_back(Work{next_index, prompts[next_index], std::nullopt});
        }
        return w;
      },
      [&](std::vector<std::uint64_t>&&, std::vector<Response>&& results) {
        for (auto& r : results) out.push_back(std::move(r));
      },
      window, call);
  return out;
}

std::vector<Response> map_gather(Swarm& swarm, std::span<const std::string> items,
                                 std::string_view prompt_template, CallOptions call,
                                 std::size_t window) {
  std::vector<std::string> prompts;
  if (swarm.communicator().is_root()) {
    prompts.reserve(items.size());
    for (const auto& item : items)
      prompts.push_back(fill_template(prompt_template, {{"item", item}}));
  }
  return scatter_gather(swarm, prompts, call, window);
}

}  // namespace swarm::mpi
