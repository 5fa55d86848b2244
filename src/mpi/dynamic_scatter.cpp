// scatter_gather_dynamic: demand-driven scatter-gather. The root numbers the prompts of each
// window and hands them out in chunks to the ranks with free capacity; every rank gives each
// prompt to its least-loaded agent (least_loaded.hpp) and sends answers back as they finish.
// An answer is a rank's credit for the next prompt, so a rank whose agents are slow keeps its
// prompts longer and receives fewer. Chunks are large while the queue is long and shrink to
// one prompt near the end. Each rank may hold twice what it can run at once, so it never waits
// for its next chunk; but at the end of the input those queues are the makespan's tail (at 64
// ranks on 2 cores a rank's queue was up to 1.2 s of a 4.6 s run). So once the root has handed
// out its last prompt, it asks every rank holding more than it can run for its queued prompts
// (a steal, answered with what the rank had not yet started) and from then on gives no rank
// more than it can start: what no rank can start waits at the root for the first free slot.
// The first window is one round of the whole swarm's capacity, not a full window, so the ranks
// get their first chunks after the root has read that much (a whole window of 20,000 prompts
// kept 63 ranks waiting 0.15 s).
//
// Health: a rank none of whose agents is healthy is `down` (least_loaded.hpp). It gives its
// queued prompts back; with failover, every prompt that failed there through its agent's fault
// comes back too (tag 6 while the rank is up, 4 when down). The root puts them at the front of
// its queue, sends a down rank nothing until it says it is up
// again, and counts each prompt's returns (at most failover_attempts, then its last failure is
// its answer). While every rank is down the root holds the prompts; after give_up_after it
// fails them, and any it reads while all stay down, with "no healthy agent for N s".
//
// Keep mode (dynamic_farm.hpp, tree-reduce's leaves): answers stay on the rank that ran them and
// only their credit travels; the root's sink then sees empty Responses.
//
// Point-to-point on a private duplicate of the swarm's communicator. The root reads and writes
// on its I/O thread (as in static mode) and holds at most two windows; results leave in input
// order.

#include <algorithm>
#include <chrono>
#include <deque>
#include <future>
#include <optional>
#include <stdexcept>
#include <utility>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>

#include "dynamic_farm.hpp"
#include "least_loaded.hpp"
#include "private_comm.hpp"
#include "progress.hpp"
#include "serial_worker.hpp"
#include "swarm/mpi/scatter_gather.hpp"
#include "swarm/mpi/swarm.hpp"
#include "transport.hpp"
#include "wire.hpp"

namespace swarm::mpi {
namespace {

// How long a worker with queued prompts may sleep in the HTTP poll before it looks for MPI
// messages (completions wake it at once): a chunk arriving meanwhile only tops up its queue.
constexpr std::chrono::milliseconds kPollStocked{25};
constexpr int kChunkTag = 1;    // root -> rank: Chunk (Work::index = sequence number, backlog)
constexpr int kAnswersTag = 2;  // rank -> root: std::vector<Answer>
constexpr int kCloseTag = 3;    // root -> rank: no more prompts
constexpr int kReturnTag = 4;   // rank -> root: std::vector<Returned>; the rank is down
constexpr int kUpTag = 5;       // rank -> root: empty; a local agent is healthy again
constexpr int kRetryTag = 6;    // rank -> root: std::vector<Returned>; failed, the rank is up
constexpr int kStealTag = 7;    // root -> rank: empty; give back what you have not started
constexpr int kGivenTag = 8;    // rank -> root: std::vector<Returned> (never sent), the reply

using Clock = std::chrono::steady_clock;

/// Prompts given back before any attempt: they cost no return budget.
std::vector<detail::Returned> unstarted(std::vector<Work>&& work) {
  std::vector<detail::Returned> back;
  back.reserve(work.size());
  for (auto& w : work) back.push_back({std::move(w), Response{}});
  return back;
}

/// A returned prompt's travels so far, for the return budget and the attempts it reports.
struct History {
  int returns = 0;
  int attempts = 0;
};

/// Root: one window between reading and writing.
struct Window {
  std::uint64_t base = 0;              // sequence number of its first prompt
  std::vector<std::uint64_t> indices;  // input index of each prompt
  std::vector<Response> results;
  std::size_t remaining = 0;
};

class Root {
 public:
  Root(Swarm& swarm, const WindowSource& next, const WindowSink& done, std::size_t window,
       CallOptions call, MPI_Comm comm, const WindowSink& answered, const detail::KeepFn& keep,
       const AnswerFn& on_answer)
      : swarm_(swarm),
        next_(next),
        done_(done),
        answered_(answered),
        keep_(keep),
        on_answer_(on_answer),
        window_(window),
        comm_(comm),
        progress_(swarm),
        sends_(comm, progress_),
        ranks_(swarm.communicator().size()),
        outstanding_(static_cast<std::size_t>(ranks_), 0),
        capacity_(static_cast<std::size_t>(ranks_), 0),
        target_(static_cast<std::size_t>(ranks_), 0),
        stealing_(static_cast<std::size_t>(ranks_), false),
        down_(static_cast<std::size_t>(ranks_), false),
        return_budget_(swarm.options().failover_attempts),
        give_up_after_(std::chrono::duration_cast<Clock::duration>(swarm.options().give_up_after)) {
    std::size_t round = 0;  // what the whole swarm can run at once
    for (int r = 0; r < ranks_; ++r) {
      const auto k = static_cast<std::size_t>(r);
      capacity_[k] = detail::rank_capacity(swarm, r);
      // Twice what a rank can run at once: it never waits for the next chunk.
      target_[k] = 2 * capacity_[k];
      round += capacity_[k];
    }
    if (!swarm.local_agents().empty()) {
      local_.emplace(
          swarm, call, [this](std::uint64_t seq, Response&& r) { place(seq, std::move(r)); },
          [this](std::vector<detail::Returned>&& back, bool down) {
            take_back(0, std::move(back), down);
          });
    }
    io_.emplace();
    reading_ = read(std::clamp<std::size_t>(round, 1, window_));
  }

  void run() {
    while (!finished()) {
      bool moved = take_window();
      if (local_ && down_[0] && !local_->down()) down_[0] = false;
      moved = give_up_if_all_down() || moved;
      hand_out();
      moved = receive() || moved;
      moved = write_finished() || moved;
      if (local_) local_->pump();
      sends_.progress();
      progress_.end_round(progress_.drive(detail::kPollWithMpi) > 0 || moved);
    }
    for (int r = 1; r < ranks_; ++r) sends_.send({}, r, kCloseTag);
    sends_.finish();
    for (auto& sink : sinks_) sink.get();
  }

 private:
  std::future<std::vector<Work>> read(std::size_t max) {
    return io_->submit([this, max] { return next_(max); });
  }

  /// Every answer placed and every steal answered (a reply left unreceived would outlive the
  /// communicator).
  [[nodiscard]] bool finished() const {
    return input_done_ && windows_.empty() &&
           std::none_of(stealing_.begin(), stealing_.end(), [](bool s) { return s; });
  }

  /// The next window, numbered, once fewer than two are in flight. A read that found the end
  /// of the input counts at once, so the tail (file comment) begins while windows are open.
  bool take_window() {
    if (input_done_) return false;
    if (!read_ && detail::ready(reading_)) {
      read_ = reading_.get();
      if (read_->empty()) {
        input_done_ = true;
        read_.reset();
        return true;
      }
    }
    if (!read_ || windows_.size() >= 2) return false;
    std::vector<Work> work = std::move(*read_);
    read_.reset();
    Window& w = windows_.emplace_back();
    w.base = next_seq_;
    w.results.resize(work.size());
    w.remaining = work.size();
    for (auto& item : work) {
      w.indices.push_back(item.index);
      item.index = next_seq_++;
      queue_.push_back(std::move(item));
    }
    reading_ = read(window_);
    return true;
  }

  /// What rank `r` holds: queued there or in flight, or answered and not yet received.
  [[nodiscard]] std::size_t load(std::size_t r) const {
    return r == 0 ? (local_ ? local_->load() : 0) : outstanding_[r];
  }

  /// Chunks to the ranks that are up and below their target, each a share of what is queued;
  /// once the last prompt was handed out, only to free slots, after a steal (file comment).
  void hand_out() {
    std::size_t active = 0;
    for (std::size_t r = 0; r < target_.size(); ++r) active += target_[r] > 0 && !down_[r];
    for (int step = 0; step < ranks_ && !queue_.empty(); ++step) {
      const auto r = static_cast<std::size_t>((first_ + step) % ranks_);
      const std::size_t held = load(r);
      const std::size_t limit = tail_ ? capacity_[r] : target_[r];
      if (down_[r] || held >= limit) continue;
      const std::size_t share = std::max<std::size_t>(1, queue_.size() / (2 * active));
      const std::size_t n = std::min({limit - held, share, queue_.size()});
      detail::Chunk chunk;
      chunk.work.assign(std::make_move_iterator(queue_.begin()),
                        std::make_move_iterator(queue_.begin() + static_cast<long>(n)));
      queue_.erase(queue_.begin(), queue_.begin() + static_cast<long>(n));
      // What is left for each rank after this chunk: near the end of the input, a rank stops
      // starting prompts on agents so slow that its faster ones would finish them sooner.
      chunk.backlog = input_done_ ? queue_.size() / active : detail::Chunk::kPlenty;
      if (r == 0) {
        local_->set_backlog(chunk.backlog);
        local_->add(std::move(chunk.work));
      } else {
        outstanding_[r] += n;
        sends_.send(detail::encode(chunk), static_cast<int>(r), kChunkTag);
      }
    }
    first_ = (first_ + 1) % ranks_;  // no rank is always served first
    if (input_done_ && queue_.empty()) {
      tail_ = true;
      steal();
    }
  }

  /// The tail: while a rank that is up has a free slot, every rank holding more than it can run
  /// gives its queued prompts back (at most one steal in flight per rank).
  void steal() {
    bool free_slot = false;
    for (std::size_t r = 0; r < target_.size() && !free_slot; ++r) {
      free_slot = !down_[r] && load(r) < capacity_[r];
    }
    if (!free_slot) return;
    for (std::size_t r = 0; r < target_.size(); ++r) {
      if (down_[r] || stealing_[r] || load(r) <= capacity_[r]) continue;
      if (r == 0) {
        take_back(0, unstarted(local_->take_queued()), false);
      } else {
        stealing_[r] = true;
        sends_.send({}, static_cast<int>(r), kStealTag);
      }
    }
  }

  /// Every tag in arrival order: a rank's "up" never overtakes its returns.
  bool receive() {
    bool any = false;
    while (auto m = detail::try_receive(comm_, MPI_ANY_SOURCE, MPI_ANY_TAG, progress_)) {
      const auto r = static_cast<std::size_t>(m->source);
      if (m->tag == kAnswersTag) {
        auto answers = detail::decode<std::vector<detail::Answer>>(m->bytes);
        outstanding_[r] -= answers.size();
        // Kept answers stay on their rank: what arrives is only the credit.
        for (auto& a : answers) place(a.seq, std::move(a.response), /*credit=*/bool(keep_));
      } else if (m->tag == kReturnTag || m->tag == kRetryTag || m->tag == kGivenTag) {
        auto back = detail::decode<std::vector<detail::Returned>>(m->bytes);
        outstanding_[r] -= back.size();
        if (m->tag == kGivenTag) stealing_[r] = false;
        take_back(r, std::move(back), m->tag == kReturnTag);
      } else if (m->tag == kUpTag) {
        down_[r] = false;
      } else {
        throw std::logic_error(fmt::format("scatter_gather_dynamic: tag {} at the root", m->tag));
      }
      any = true;
    }
    return any;
  }

  /// Prompts rank `r` gave back (`down`: it has no healthy agent left): to the front of the
  /// queue (they are the oldest), or answered with their last failure once they have used up
  /// the return budget.
  void take_back(std::size_t r, std::vector<detail::Returned>&& back, bool down) {
    if (down) down_[r] = true;
    for (auto it = back.rbegin(); it != back.rend(); ++it) {
      if (it->last.attempts > 0 || !it->last.error.empty()) last_failure_ = it->last;
      if (it->last.attempts > 0) {
        History& h = history_[it->work.index];
        h.attempts += it->last.attempts;
        if (++h.returns > return_budget_) {
          Response final = std::move(it->last);
          final.attempts = h.attempts;  // on every rank it visited
          history_.erase(it->work.index);
          place(it->work.index, std::move(final));
          continue;
        }
      }
      queue_.push_front(std::move(it->work));
    }
  }

  /// Fails what is queued once every rank has been down for give_up_after; true if it did.
  bool give_up_if_all_down() {
    bool all_down = true;
    for (std::size_t r = 0; r < target_.size(); ++r) all_down = all_down && (target_[r] == 0 || down_[r]);
    if (!all_down) {
      all_down_since_.reset();
      return false;
    }
    const auto now = Clock::now();
    if (!all_down_since_) all_down_since_ = now;
    if (now - *all_down_since_ < give_up_after_ || queue_.empty()) return false;
    const std::string why =
        fmt::format("no healthy agent for {:g} s{}{}", swarm_.options().give_up_after.count(),
                    last_failure_.error.empty() ? "" : ": ", last_failure_.error);
    const FailureKind kind =
        last_failure_.kind == FailureKind::none ? FailureKind::other : last_failure_.kind;
    while (!queue_.empty()) {
      Response failed = Response::failure(why, -1, kind);
      failed.http_status = last_failure_.http_status;
      place(queue_.front().index, std::move(failed));
      queue_.pop_front();
    }
    return true;
  }

  /// The final answer to `seq` (`credit`: kept on the rank that ran it; only its slot counts).
  void place(std::uint64_t seq, Response&& r, bool credit = false) {
    if (const auto h = history_.find(seq); h != history_.end()) {
      r.attempts += h->second.attempts;  // attempts on every rank count
      history_.erase(h);
    }
    if (keep_) {
      if (!credit) keep_(seq, std::move(r));  // the root's own answers, failures it decided
      r = Response{};
    } else {
      if (on_answer_) on_answer_(r);
      if (answered_) fresh_.emplace_back(seq, r);  // a copy: the window keeps the original
    }
    for (auto& w : windows_) {
      if (seq >= w.base && seq < w.base + w.results.size()) {
        w.results[seq - w.base] = std::move(r);
        --w.remaining;
        return;
      }
    }
    throw std::logic_error("scatter_gather_dynamic: an answer for no window");
  }

  /// Answers that arrived since the last hand-over, about once a kAnsweredInterval, minus those
  /// of complete windows (their done() call follows at once and writes them).
  void hand_over_answers() {
    const auto now = Clock::now();
    if (fresh_.empty() || now - answered_at_ < kAnsweredInterval) return;
    answered_at_ = now;
    std::vector<std::uint64_t> indices;
    std::vector<Response> results;
    for (auto& [seq, r] : fresh_) {
      for (const auto& w : windows_) {
        if (seq < w.base || seq >= w.base + w.results.size()) continue;
        if (w.remaining > 0) {
          indices.push_back(w.indices[seq - w.base]);
          results.push_back(std::move(r));
        }
        break;
      }
    }
    fresh_.clear();
    if (indices.empty()) return;
    sinks_.push_back(io_->submit([this, indices = std::move(indices),
                                  results = std::move(results)]() mutable {
      answered_(std::move(indices), std::move(results));
    }));
  }

  /// Complete windows go to the caller's sink, in order, on the I/O thread.
  bool write_finished() {
    if (answered_) hand_over_answers();
    bool any = false;
    while (!windows_.empty() && windows_.front().remaining == 0) {
      sinks_.push_back(io_->submit([this, w = std::move(windows_.front())]() mutable {
        done_(std::move(w.indices), std::move(w.results));
      }));
      windows_.pop_front();
      any = true;
    }
    detail::collect_ready(sinks_);
    return any;
  }

  Swarm& swarm_;
  const WindowSource& next_;
  const WindowSink& done_;
  const WindowSink& answered_;
  const detail::KeepFn& keep_;
  const AnswerFn& on_answer_;
  std::vector<std::pair<std::uint64_t, Response>> fresh_;  // arrived since the last hand-over
  Clock::time_point answered_at_ = Clock::now();
  std::size_t window_;
  MPI_Comm comm_;
  detail::Progress progress_;
  detail::SendQueue sends_;
  int ranks_;
  std::vector<std::size_t> outstanding_;  // per rank: prompts sent, answers not yet back
  std::vector<std::size_t> capacity_;     // per rank: what it can run at once
  std::vector<std::size_t> target_;       // per rank: what it may hold before the tail
  std::vector<bool> stealing_;            // per rank: a steal sent, its reply not yet here
  bool tail_ = false;                     // the last prompt was handed out (file comment)
  std::vector<bool> down_;  // per rank: gave prompts back, not yet up again
  int return_budget_;
  Clock::duration give_up_after_;
  std::optional<Clock::time_point> all_down_since_;
  Response last_failure_;  // the latest failure a returned prompt brought
  std::unordered_map<std::uint64_t, History> history_;  // returned prompts still unanswered
  std::optional<detail::LeastLoaded> local_;
  std::deque<Work> queue_;  // numbered prompts not yet handed out
  std::deque<Window> windows_;
  std::uint64_t next_seq_ = 0;
  int first_ = 0;
  bool input_done_ = false;
  std::deque<std::future<void>> sinks_;
  std::future<std::vector<Work>> reading_;
  std::optional<std::vector<Work>> read_;  // read, not yet numbered (two windows are open)
  std::optional<detail::SerialWorker> io_;  // last: its tasks use the members above
};

/// Non-root ranks: serve chunks until the root closes.
void serve(Swarm& swarm, CallOptions call, MPI_Comm comm, const detail::KeepFn& keep) {
  detail::Progress progress(swarm);
  detail::SendQueue sends(comm, progress);
  std::vector<detail::Answer> ready;
  std::vector<detail::Returned> back;
  bool back_down = false;  // some of `back` was given back because the rank is down
  std::optional<detail::LeastLoaded> local;
  if (!swarm.local_agents().empty()) {
    local.emplace(
        swarm, call,
        [&ready, &keep](std::uint64_t seq, Response&& r) {
          if (keep) {
            keep(seq, std::move(r));
            r = Response{};  // the root needs only the credit
          }
          ready.push_back({seq, std::move(r)});
        },
        [&back, &back_down](std::vector<detail::Returned>&& b, bool down) {
          for (auto& x : b) back.push_back(std::move(x));
          back_down = back_down || down;
        });
  }
  bool reported_down = false;
  for (bool open = true; open || !ready.empty() || !back.empty();) {
    bool moved = false;
    while (auto m = detail::try_receive(comm, Communicator::kRoot, MPI_ANY_TAG, progress)) {
      moved = true;
      if (m->tag == kCloseTag) {
        open = false;
        break;
      }
      if (!local)
        throw std::logic_error("scatter_gather_dynamic: prompts for a rank without agents");
      if (m->tag == kStealTag) {
        sends.send(detail::encode(unstarted(local->take_queued())), Communicator::kRoot,
                   kGivenTag);
        continue;
      }
      auto chunk = detail::decode<detail::Chunk>(m->bytes);
      local->set_backlog(chunk.backlog);
      local->add(std::move(chunk.work));
    }
    if (local) local->pump();
    // With prompts queued here and nothing left to send, a chunk from the root can wait: sleep
    // in the HTTP poll until a transfer moves (or kPollStocked), not every kPollWithMpi. 64
    // ranks on a few cores that wake every 2 ms to probe MPI starve the root and the agents.
    const bool stocked = local && local->queued() > 0 && sends.empty();
    if (progress.drive(stocked ? kPollStocked : detail::kPollWithMpi) > 0) moved = true;
    if (!ready.empty()) {  // what one poll finished travels together
      sends.send(detail::encode(ready), Communicator::kRoot, kAnswersTag);
      ready.clear();
      moved = true;
    }
    if (!back.empty()) {
      sends.send(detail::encode(back), Communicator::kRoot, back_down ? kReturnTag : kRetryTag);
      back.clear();
      reported_down = reported_down || back_down;
      back_down = false;
      moved = true;
    } else if (reported_down && local && !local->down()) {
      sends.send({}, Communicator::kRoot, kUpTag);
      reported_down = false;
      moved = true;
    }
    sends.progress();
    progress.end_round(moved);
  }
  sends.finish();
}

}  // namespace

void detail::run_dynamic(Swarm& swarm, const WindowSource& next, const WindowSink& done,
                         std::size_t window, CallOptions call, const WindowSink& answered,
                         const KeepFn& keep, const AnswerFn& on_answer) {
  if (swarm.size() == 0) throw std::logic_error("scatter_gather over an empty swarm");
  if (window == 0) throw std::invalid_argument("scatter_gather: window must be positive");
  const detail::PrivateComm comm(swarm.communicator().mpi_communicator());
  if (swarm.communicator().is_root()) {
    Root(swarm, next, done, window, call, comm.get(), answered, keep, on_answer).run();
  } else {
    serve(swarm, call, comm.get(), keep);
  }
}

void scatter_gather_dynamic(Swarm& swarm, const WindowSource& next, const WindowSink& done,
                            std::size_t window, CallOptions call, const WindowSink& answered,
                            const AnswerFn& on_answer) {
  detail::run_dynamic(swarm, next, done, window, call, answered, {}, on_answer);
}

}  // namespace swarm::mpi
