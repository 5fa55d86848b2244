#include "swarm/mpi/scatter_gather.hpp"

#include <chrono>
#include <deque>
#include <future>
#include <optional>
#include <stdexcept>
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

// Every rank runs the same loop; each window w goes through
//   scatter (root -> ranks) -> this rank's requests -> gather (ranks -> root) -> done (root),
// with the steps of different windows overlapping: a rank receives window w+1 while its
// requests of window w are in flight and starts it the moment they drain, and it hands window
// w's answers back with a non-blocking gather while window w+1 runs. So a rank waits in MPI only
// when it has nothing left to send. Scatters and gathers each have a communicator of their own
// and one transfer in flight, which keeps the non-blocking collectives in the same order on
// every rank. Each rank holds at most two windows of work (the one draining and the next).
class WindowLoop {
 public:
  WindowLoop(Swarm& swarm, const WindowSource& next, const WindowSink& done, std::size_t window,
             CallOptions call, std::size_t batch_size)
      : swarm_(swarm),
        next_(next),
        done_(done),
        window_(window),
        root_(swarm.communicator().is_root()),
        progress_(swarm),
        scatter_comm_(swarm.communicator().mpi_communicator()),
        gather_comm_(swarm.communicator().mpi_communicator()),
        runner_(swarm, call, batch_size) {
    if (root_) {
      io_.emplace();
      reading_ = read(std::max<std::size_t>(1, window_ / kFirstWindowDivisor));
    }
  }

  void run() {
    for (;;) {
      bool moved = scatter_step();  // something happened this round: do not sleep
      moved = gather_step() || moved;
      detail::collect_ready(sinks_);
      if (ended_ && runner_.batches() == 0 && unsent_.empty() && !gather_) break;
      if (runner_.batches() > 0) {
        runner_.step(scatter_ || gather_ || reading_.valid() ? detail::kPollWithMpi
                                                             : detail::kPollHttpOnly);
        progress_.moved();
      } else if (moved) {
        progress_.moved();
      } else {
        // Nothing of this rank's own in flight: wait for a transfer (or, on the root, the reader).
        progress_.idle(scatter_ || gather_);
      }
    }
    for (auto& sink : sinks_) sink.get();
  }

 private:
  std::future<Outgoing> read(std::size_t max) {
    return io_->submit(
        [this, max] { return prepare(swarm_, swarm_.communicator().size(), next_(max)); });
  }

  /// The next window, once this rank is down to one window of work.
  bool scatter_step() {
    if (!scatter_ && !ended_ && runner_.batches() <= 1) {
      if (!root_) {
        scatter_.emplace(scatter_comm_.get(), progress_);
      } else if (detail::ready(reading_)) {
        Outgoing out = reading_.get();
        if (!out.end) {
          scattered_.push_back(Pending{std::move(out.indices), std::move(out.origin)});
          reading_ = read(window_);
        }
        scatter_.emplace(scatter_comm_.get(), progress_, std::move(out.bytes), out.sizes, out.end);
      }
    }
    if (!scatter_ || !scatter_->test()) return false;
    if (scatter_->end()) {
      ended_ = true;
    } else {
      auto& packed = answers_.emplace_back();
      const auto& got = scatter_->received();
      runner_.add(detail::decode_all<Work>(got.data(), got.size()),
                  [&packed](std::size_t pos, Response&& r) {
                    packed.put<std::uint64_t>(pos);
                    detail::put(packed, r);
                  });
    }
    scatter_.reset();
    return true;
  }

  /// Finished windows go back to the root, oldest first; the root decodes and writes them on
  /// its I/O thread.
  bool gather_step() {
    while (runner_.front_done()) {
      runner_.pop_front();
      unsent_.push_back(std::move(answers_.front().bytes()));
      answers_.pop_front();
    }
    if (!gather_ && !unsent_.empty()) {
      gather_.emplace(gather_comm_.get(), progress_, std::move(unsent_.front()));
      unsent_.pop_front();
    }
    if (!gather_ || !gather_->test()) return false;
    if (root_) {
      sinks_.push_back(
          io_->submit([this, window = std::move(scattered_.front()),
                       bytes = std::move(gather_->received()), sizes = gather_->sizes()]() mutable {
            auto results = unpack_answers(bytes, sizes, window);
            bytes = {};
            done_(std::move(window.indices), std::move(results));
          }));
      scattered_.pop_front();
    }
    gather_.reset();
    return true;
  }

  Swarm& swarm_;
  const WindowSource& next_;
  const WindowSink& done_;
  std::size_t window_;
  bool root_;
  detail::Progress progress_;
  const detail::PrivateComm scatter_comm_;
  const detail::PrivateComm gather_comm_;
  detail::LocalRunner runner_;
  std::deque<detail::ByteWriter> answers_;  // per runner batch: its Responses, packed as they come
  std::deque<std::vector<char>> unsent_;    // finished batches waiting for the gather
  std::optional<detail::ByteScatter> scatter_;
  std::optional<detail::ByteGather> gather_;
  bool ended_ = false;  // the end mark arrived: no window follows

  // Root only. The reader, the bucketing and the decoding and writing of answers run on the
  // helper thread, so no rank waits in MPI while the root does file I/O.
  std::deque<Pending> scattered_;           // windows out, answers not yet gathered
  std::deque<std::future<void>> sinks_;     // done() calls queued or running
  std::future<Outgoing> reading_;           // the next window, being read
  std::optional<detail::SerialWorker> io_;  // last: its tasks use the members above
};

}  // namespace

void scatter_gather_windows(Swarm& swarm, const WindowSource& next, const WindowSink& done,
                            std::size_t window, CallOptions call, std::size_t batch_size) {
  if (swarm.size() == 0) throw std::logic_error("scatter_gather over an empty swarm");
  if (window == 0) throw std::invalid_argument("scatter_gather: window must be positive");
  WindowLoop(swarm, next, done, window, call, batch_size).run();
}

std::vector<Response> scatter_gather(Swarm& swarm, std::span<const std::string> prompts,
                                     CallOptions call, std::size_t window, Schedule schedule) {
  std::vector<Response> out;
  std::size_t next_index = 0;
  const WindowSource next = [&](std::size_t max) {
    std::vector<Work> w;
    for (; next_index < prompts.size() && w.size() < max; ++next_index) {
      w.push_back(Work{next_index, prompts[next_index], std::nullopt});
    }
    return w;
  };
  const WindowSink done = [&](std::vector<std::uint64_t>&&, std::vector<Response>&& results) {
    for (auto& r : results) out.push_back(std::move(r));
  };
  if (schedule == Schedule::dynamic) {
    scatter_gather_dynamic(swarm, next, done, window, call);
  } else {
    scatter_gather_windows(swarm, next, done, window, call);
  }
  return out;
}

std::vector<Response> map_gather(Swarm& swarm, std::span<const std::string> items,
                                 std::string_view prompt_template, CallOptions call,
                                 std::size_t window, Schedule schedule) {
  std::vector<std::string> prompts;
  if (swarm.communicator().is_root()) {
    prompts.reserve(items.size());
    for (const auto& item : items)
      prompts.push_back(fill_template(prompt_template, {{"item", item}}));
  }
  return scatter_gather(swarm, prompts, call, window, schedule);
}

}  // namespace swarm::mpi
