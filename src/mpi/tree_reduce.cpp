#include "swarm/mpi/tree_reduce.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <stdexcept>
#include <thread>

#include "collectives.hpp"
#include "private_comm.hpp"
#include "swarm/mpi/error.hpp"
#include "swarm/mpi/strings.hpp"
#include "swarm/mpi/swarm.hpp"
#include "swarm/template.hpp"

namespace swarm::mpi {
namespace {

constexpr std::string_view kAllFailed = "all agents failed during reduction";
constexpr std::string_view kSeparator = "\n---\n";
constexpr int kFields = 6;  // TreeLevel counters summed over ranks

/// Waits for `request` with short sleeps instead of spinning: ranks done with their part wait
/// here while others still talk to slow agents, possibly on the same cores.
void wait_gently(MPI_Request& request) {
  auto pause = std::chrono::microseconds(20);
  for (;;) {
    int done = 0;
    check(MPI_Test(&request, &done, MPI_STATUS_IGNORE), "MPI_Test");
    if (done != 0) return;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::microseconds(10000));
  }
}

bool blank(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; });
}

bool usable(const Response& r) {
  return r.success && !blank(r.text);
}

TreeLevel& level_at(std::vector<TreeLevel>& levels, std::size_t level) {
  if (levels.size() <= level) levels.resize(level + 1);
  return levels[level];
}

/// Counts `r` in `stats`; returns whether it goes up.
bool account(TreeLevel& stats, const Response& r) {
  if (!r.success) {
    ++stats.failed;
  } else if (blank(r.text)) {
    ++stats.blank;
  } else {
    ++stats.ok;
  }
  return usable(r);
}

std::string supervisor_prompt(std::string_view reduce_prompt, std::span<const Response> group,
                              int level) {
  std::string combined;
  for (const auto& r : group) {
    if (!combined.empty()) combined += kSeparator;
    combined += r.text;
  }
  // One pass: an answer quoting "{level}" must reach the supervisor verbatim.
  return fill_template(reduce_prompt, {{"responses", combined}, {"level", std::to_string(level)}});
}

/// The seed's loop on this rank's agents: groups of `fanin` consecutive answers, group g to
/// local agent g mod (agent count), until at most one answer is left. Returns the levels used.
int reduce_locally(Swarm& swarm, std::vector<Response>& current, std::string_view reduce_prompt,
                   std::size_t fanin, CallOptions call, std::vector<TreeLevel>& levels) {
  const auto first = static_cast<std::uint64_t>(swarm.shard().begin);
  const auto count = static_cast<std::uint64_t>(swarm.shard().count);
  int level = 1;
  while (current.size() > 1) {
    std::vector<Work> work;
    for (std::size_t start = 0, g = 0; start < current.size(); start += fanin, ++g) {
      const auto group = std::span(current).subspan(start, std::min(fanin, current.size() - start));
      work.push_back(Work{first + g % count, supervisor_prompt(reduce_prompt, group, level), {}});
    }
    auto answers = detail::run_local(swarm, work, call);
    TreeLevel& stats = level_at(levels, static_cast<std::size_t>(level));
    stats.inputs += current.size();
    stats.calls += answers.size();
    current.clear();
    for (auto& r : answers) {
      if (account(stats, r)) current.push_back(std::move(r));
    }
    ++level;
  }
  return level - 1;
}

/// This rank's leaf answers: every agent answers `prompt`, or the root's items are dealt as in
/// scatter-gather (item i to agent i mod N) and answered in item order.
std::vector<Response> run_leaves(Swarm& swarm, const std::string& prompt, bool with_items,
                                 std::optional<std::span<const std::string>> items,
                                 CallOptions call) {
  if (with_items) {
    const bool root = swarm.communicator().is_root();
    const auto n = static_cast<std::uint64_t>(swarm.size());
    std::vector<std::vector<Work>> buckets(
        root ? static_cast<std::size_t>(swarm.communicator().size()) : 0);
    if (root) {
      for (std::size_t i = 0; i < items->size(); ++i) {
        buckets[static_cast<std::size_t>(swarm.owner_of(i % n))].push_back(
            Work{i, fill_template(prompt, {{"item", (*items)[i]}}), {}});
      }
    }
    return detail::run_local(swarm, detail::scatter_work(swarm, buckets), call);
  }
  if (swarm.shard().count == 0) return {};
  auto leaves = swarm.local_pool().broadcast_prompt(prompt, call);
  for (auto& r : leaves) r.agent_index += swarm.shard().begin;
  return leaves;
}

/// The rank tree over the ranks that hold agents; see the header. Returns the summary this
/// rank holds at the end (meaningful on the tree's root).
class RankTree {
 public:
  RankTree(Swarm& swarm, MPI_Comm comm, std::size_t fanin) : swarm_(swarm), comm_(comm) {
    const int ranks = swarm.communicator().size();
    position_of_.assign(static_cast<std::size_t>(ranks), -1);
    // Swarm's documented layout (swarm.hpp): rank r drives block_of(size(), ranks, r).
    for (int r = 0; r < ranks; ++r) {
      if (block_of(static_cast<std::int64_t>(swarm.size()), ranks, r).count == 0) continue;
      position_of_[static_cast<std::size_t>(r)] = static_cast<int>(members_.size());
      members_.push_back(r);
    }
    const auto p = static_cast<std::uint64_t>(members_.size());
    // fanin beyond P makes one group of everybody; the clamp keeps strides from overflowing.
    fanin_ = std::min<std::uint64_t>(fanin, std::max<std::uint64_t>(p, 2));
    for (std::uint64_t stride = 1; stride < p; stride *= fanin_) ++steps_;
  }

  [[nodiscard]] int steps() const noexcept { return steps_; }
  [[nodiscard]] int root() const { return members_.at(0); }

  /// Runs every step this rank takes part in; `level0` is the {level} of step 0 and `levels`
  /// receives this rank's counts (indexed by level).
  std::optional<Response> run(std::optional<Response> mine, std::string_view reduce_prompt,
                              int level0, CallOptions call, std::vector<TreeLevel>& levels) {
    const int me = position_of_[static_cast<std::size_t>(swarm_.communicator().rank())];
    if (me < 0) return std::nullopt;  // no agents, no leaves: outside the tree
    const auto p = static_cast<std::uint64_t>(me);
    const auto count = static_cast<std::uint64_t>(members_.size());
    std::uint64_t stride = 1;
    for (int t = 0; t < steps_; ++t, stride *= fanin_) {
      const std::uint64_t span = stride * fanin_;
      if (p % span != 0) {
        send(mine, members_[p - p % span], t);
        return std::nullopt;
      }
      // Leader: slot j holds member p + j * stride's summary; slot 0 is ours.
      std::vector<std::optional<Response>> slots(1);
      slots[0] = std::move(mine);
      for (std::uint64_t j = 1; j < fanin_ && p + j * stride < count; ++j) slots.emplace_back();
      receive(slots, p, stride, t);

      std::vector<Response> group;
      for (auto& s : slots) {
        if (s) group.push_back(std::move(*s));
      }
      const int level = level0 + t;
      TreeLevel& stats = level_at(levels, static_cast<std::size_t>(level));
      stats.inputs += group.size();
      mine.reset();
      if (group.size() == 1) {
        ++stats.passed;
        mine = std::move(group[0]);
      } else if (group.size() > 1) {
        const std::vector<Work> work = {Work{static_cast<std::uint64_t>(swarm_.shard().begin),
                                             supervisor_prompt(reduce_prompt, group, level),
                                             {}}};
        auto answer = std::move(detail::run_local(swarm_, work, call).front());
        ++stats.calls;
        if (account(stats, answer)) mine = std::move(answer);
      }
    }
    return mine;
  }

 private:
  void send(const std::optional<Response>& summary, int to, int tag) {
    detail::ByteWriter w;
    w.bytes().push_back(summary ? 1 : 0);  // not put<>(): GCC 12 misreads a 1-byte insert
    if (summary) detail::put_response(w, *summary);
    detail::MpiTimer timer(swarm_.mpi_stats());
    MPI_Request request = MPI_REQUEST_NULL;
    check(
        MPI_Isend(w.bytes().data(), static_cast<int>(w.size()), MPI_CHAR, to, tag, comm_, &request),
        "MPI_Isend");
    wait_gently(request);
    swarm_.mpi_stats().bytes_sent += w.size();
  }

  void receive(std::vector<std::optional<Response>>& slots, std::uint64_t p, std::uint64_t stride,
               int tag) {
    detail::MpiTimer timer(swarm_.mpi_stats());
    auto pause = std::chrono::microseconds(20);
    for (std::size_t pending = slots.size() - 1; pending > 0;) {
      int found = 0;
      MPI_Message message = MPI_MESSAGE_NULL;
      MPI_Status status;
      check(MPI_Improbe(MPI_ANY_SOURCE, tag, comm_, &found, &message, &status), "MPI_Improbe");
      if (found == 0) {  // members may still be reducing locally: sleep, do not spin
        std::this_thread::sleep_for(pause);
        pause = std::min(pause * 2, std::chrono::microseconds(10000));
        continue;
      }
      int size = 0;
      check(MPI_Get_count(&status, MPI_CHAR, &size), "MPI_Get_count");
      std::vector<char> bytes(static_cast<std::size_t>(size));
      check(MPI_Mrecv(bytes.data(), size, MPI_CHAR, &message, MPI_STATUS_IGNORE), "MPI_Mrecv");
      swarm_.mpi_stats().bytes_received += bytes.size();
      const auto from =
          static_cast<std::uint64_t>(position_of_.at(static_cast<std::size_t>(status.MPI_SOURCE)));
      detail::ByteReader in(bytes.data(), bytes.size());
      auto& slot = slots.at((from - p) / stride);
      if (in.get<std::uint8_t>() != 0) slot = detail::get_response(in);
      --pending;
    }
  }

  Swarm& swarm_;
  MPI_Comm comm_;
  std::vector<int> members_;      ///< Tree position -> rank (the ranks with agents).
  std::vector<int> position_of_;  ///< Rank -> tree position, -1 without agents.
  std::uint64_t fanin_ = 2;
  int steps_ = 0;
};

/// Every rank receives `r` as held by `from`, waiting gently (see wait_gently).
void share_response(Swarm& swarm, MPI_Comm comm, Response& r, int from) {
  const bool sender = swarm.communicator().rank() == from;
  detail::ByteWriter w;
  if (sender) detail::put_response(w, r);
  std::uint64_t size = w.size();
  detail::MpiTimer timer(swarm.mpi_stats());
  MPI_Request request = MPI_REQUEST_NULL;
  check(MPI_Ibcast(&size, 1, MPI_UINT64_T, from, comm, &request), "MPI_Ibcast");
  wait_gently(request);
  w.bytes().resize(size);
  check(MPI_Ibcast(w.bytes().data(), static_cast<int>(size), MPI_CHAR, from, comm, &request),
        "MPI_Ibcast");
  wait_gently(request);
  if (sender) {
    swarm.mpi_stats().bytes_sent += size;
  } else {
    swarm.mpi_stats().bytes_received += size;
    detail::ByteReader in(w.bytes().data(), w.bytes().size());
    r = detail::get_response(in);
  }
}

/// Sums every rank's level counters; afterwards `levels` holds the totals on every rank.
void sum_levels(Swarm& swarm, MPI_Comm comm, std::vector<TreeLevel>& levels) {
  std::vector<std::uint64_t> counts;
  for (const auto& l : levels) {
    counts.insert(counts.end(), {l.inputs, l.calls, l.ok, l.failed, l.blank, l.passed});
  }
  detail::MpiTimer timer(swarm.mpi_stats());
  MPI_Request request = MPI_REQUEST_NULL;
  check(MPI_Iallreduce(MPI_IN_PLACE, counts.data(), static_cast<int>(counts.size()), MPI_UINT64_T,
                       MPI_SUM, comm, &request),
        "MPI_Iallreduce");
  wait_gently(request);
  for (std::size_t k = 0; k < levels.size(); ++k) {
    const auto* c = &counts[k * kFields];
    levels[k].inputs = c[0];
    levels[k].calls = c[1];
    levels[k].ok = c[2];
    levels[k].failed = c[3];
    levels[k].blank = c[4];
    levels[k].passed = c[5];
  }
}

}  // namespace

TreeReduceResult tree_reduce(Swarm& swarm, std::string_view prompt, std::string_view reduce_prompt,
                             std::size_t fanin, std::optional<std::span<const std::string>> items,
                             CallOptions leaf_call, CallOptions reduce_call) {
  if (swarm.size() == 0) throw std::logic_error("tree_reduce on an empty swarm");
  const Communicator world = swarm.communicator();
  const bool root = world.is_root();
  const detail::PrivateComm comm(world.mpi_communicator());

  // The root's arguments reach every rank, so every rank throws (or not) alike.
  std::uint64_t header[2] = {fanin, items.has_value() ? 1U : 0U};
  std::string leaf_prompt(root ? prompt : std::string_view{});
  std::string supervisor(root ? reduce_prompt : std::string_view{});
  {
    detail::MpiTimer timer(swarm.mpi_stats());
    check(MPI_Bcast(header, 2, MPI_UINT64_T, Communicator::kRoot, comm.get()), "MPI_Bcast");
    mpi::broadcast(leaf_prompt, world);
    mpi::broadcast(supervisor, world);
  }
  fanin = header[0];
  if (fanin < 2) throw std::invalid_argument("tree_reduce: fanin must be at least 2");

  // Leaves, then the seed's loop on this rank's own agents.
  TreeReduceResult out;
  std::vector<TreeLevel> levels(1);
  auto leaves = run_leaves(swarm, leaf_prompt, header[1] != 0, items, leaf_call);
  levels[0].inputs = levels[0].calls = leaves.size();
  std::vector<Response> current;
  for (auto& r : leaves) {
    if (account(levels[0], r)) current.push_back(std::move(r));
  }
  leaves.clear();
  int local_levels = reduce_locally(swarm, current, supervisor, fanin, reduce_call, levels);

  // Rank-tree levels continue after the highest local level any rank reached.
  {
    detail::MpiTimer timer(swarm.mpi_stats());
    MPI_Request request = MPI_REQUEST_NULL;
    check(MPI_Iallreduce(MPI_IN_PLACE, &local_levels, 1, MPI_INT, MPI_MAX, comm.get(), &request),
          "MPI_Iallreduce");
    wait_gently(request);
  }
  out.local_levels = local_levels;
  RankTree tree(swarm, comm.get(), fanin);
  out.rank_levels = tree.steps();
  levels.resize(static_cast<std::size_t>(local_levels + tree.steps() + 1));
  std::optional<Response> mine;
  if (!current.empty()) mine = std::move(current.front());
  mine = tree.run(std::move(mine), supervisor, local_levels + 1, reduce_call, levels);

  if (world.rank() == tree.root()) {
    out.response = mine ? std::move(*mine) : Response::failure(std::string(kAllFailed));
  }
  share_response(swarm, comm.get(), out.response, tree.root());
  sum_levels(swarm, comm.get(), levels);
  for (std::size_t k = 0; k < levels.size(); ++k) {
    levels[k].level = static_cast<int>(k);
    levels[k].rank_tree = k > static_cast<std::size_t>(local_levels);
  }
  out.levels = std::move(levels);
  return out;
}

Response fan_out_fan_in(Swarm& swarm, std::string_view prompt, std::string_view collect_prompt,
                        std::optional<std::size_t> n_workers, CallOptions call) {
  if (swarm.size() == 0) throw std::logic_error("fan_out_fan_in on an empty swarm");
  const Communicator comm = swarm.communicator();
  const bool root = comm.is_root();
  std::uint64_t workers = std::min(n_workers.value_or(swarm.size()), swarm.size());
  std::string text(root ? prompt : std::string_view{});
  {
    detail::MpiTimer timer(swarm.mpi_stats());
    check(MPI_Bcast(&workers, 1, MPI_UINT64_T, Communicator::kRoot, comm.mpi_communicator()),
          "MPI_Bcast");
    mpi::broadcast(text, comm);
  }
  // The workers are agents [0, workers): each rank asks those it drives.
  std::vector<Work> work;
  const auto first = static_cast<std::uint64_t>(swarm.shard().begin);
  for (auto a = first; a < first + static_cast<std::uint64_t>(swarm.shard().count) && a < workers;
       ++a) {
    work.push_back(Work{a, text, {}});
  }
  const auto answers = detail::gather_responses(swarm, detail::run_local(swarm, work, call));

  std::string filled;
  if (root) {
    std::string combined;  // the seed's join: successful answers, blank ones included
    bool any = false;
    for (const auto& r : answers) {
      if (!r.success) continue;
      if (any) combined += kSeparator;
      combined += r.text;
      any = true;
    }
    filled = fill_template(collect_prompt, {{"responses", combined}});
  }
  const int owner = swarm.owner_of(0);
  if (owner != Communicator::kRoot) {  // with block shards agent 0 is the root's: nothing to move
    detail::MpiTimer timer(swarm.mpi_stats());
    mpi::broadcast(filled, comm);
  }
  Response collected;
  if (comm.rank() == owner) {
    CallOptions collect_call = call;
    collect_call.aggregation = true;
    collected = std::move(detail::run_local(swarm, {Work{0, filled, {}}}, collect_call).front());
  }
  detail::broadcast_response(swarm, collected, owner);
  return collected;
}

}  // namespace swarm::mpi
