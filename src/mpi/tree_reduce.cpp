#include "swarm/mpi/tree_reduce.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <stdexcept>

#include "collectives.hpp"
#include "dynamic_farm.hpp"
#include "local_runner.hpp"
#include "private_comm.hpp"
#include "progress.hpp"
#include "swarm/mpi/error.hpp"
#include "swarm/mpi/swarm.hpp"
#include "swarm/template.hpp"
#include "transport.hpp"
#include "wire.hpp"

namespace swarm::mpi {
namespace {

constexpr std::string_view kAllFailed = "all agents failed during reduction";
constexpr std::string_view kSeparator = "\n---\n";
constexpr int kFields = 6;  // TreeLevel counters summed over ranks

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

/// A checkpoint record: the last local level done, what this rank carries up, its counts.
std::vector<char> encode_checkpoint(int level, const std::vector<Response>& current,
                                    const std::vector<TreeLevel>& levels) {
  detail::ByteWriter w;
  w.put<std::uint64_t>(static_cast<std::uint64_t>(level));
  detail::put(w, current);
  w.put<std::uint64_t>(levels.size());
  for (const auto& l : levels) {
    for (const auto c : {l.inputs, l.calls, l.ok, l.failed, l.blank, l.passed}) w.put(c);
  }
  return std::move(w.bytes());
}

int decode_checkpoint(const std::vector<char>& bytes, std::vector<Response>& current,
                      std::vector<TreeLevel>& levels) {
  detail::ByteReader in(bytes);
  const auto level = static_cast<int>(in.get<std::uint64_t>());
  detail::get(in, current);
  levels.resize(in.get<std::uint64_t>());
  for (auto& l : levels) {
    for (auto* c : {&l.inputs, &l.calls, &l.ok, &l.failed, &l.blank, &l.passed}) {
      *c = in.get<std::uint64_t>();
    }
  }
  if (!in.done()) throw std::logic_error("tree_reduce: trailing bytes in a checkpoint");
  return level;
}

/// The seed's loop on this rank's agents: groups of `fanin` consecutive answers, group g to
/// local agent g mod (agent count), until at most one answer is left. Starts at `level` (after
/// a checkpoint) and saves one after each level. Returns the last level used.
int reduce_locally(Swarm& swarm, std::vector<Response>& current, std::string_view reduce_prompt,
                   std::size_t fanin, CallOptions call, std::vector<TreeLevel>& levels,
                   int level, const ReduceCheckpoint& checkpoint) {
  const auto& mine = swarm.local_agents();
  while (current.size() > 1) {
    std::vector<Work> work;
    for (std::size_t start = 0, g = 0; start < current.size(); start += fanin, ++g) {
      const auto group = std::span(current).subspan(start, std::min(fanin, current.size() - start));
      work.push_back(
          Work{mine[g % mine.size()], supervisor_prompt(reduce_prompt, group, level), {}});
    }
    auto answers = detail::run_local(swarm, work, call);
    TreeLevel& stats = level_at(levels, static_cast<std::size_t>(level));
    stats.inputs += current.size();
    stats.calls += answers.size();
    current.clear();
    for (auto& r : answers) {
      if (account(stats, r)) current.push_back(std::move(r));
    }
    if (checkpoint.save) checkpoint.save(encode_checkpoint(level, current, levels));
    ++level;
  }
  return level - 1;
}

/// This rank's leaf answers in dynamic mode: the items are handed out on demand (dynamic_farm.hpp)
/// and each answer stays on the rank whose agent gave it, in item order.
std::vector<Response> dynamic_leaves(Swarm& swarm, const std::string& prompt,
                                     std::optional<std::span<const std::string>> items,
                                     CallOptions call) {
  std::size_t next_item = 0;  // the root's, on its I/O thread
  const WindowSource source = [&](std::size_t max) {
    std::vector<Work> window;
    for (; next_item < items->size() && window.size() < max; ++next_item) {
      window.push_back(Work{next_item, fill_template(prompt, {{"item", (*items)[next_item]}}), {}});
    }
    return window;
  };
  const WindowSink ignore = [](std::vector<std::uint64_t>&&, std::vector<Response>&&) {};
  std::vector<std::pair<std::uint64_t, Response>> kept;
  const detail::KeepFn keep = [&kept](std::uint64_t seq, Response&& r) {
    kept.emplace_back(seq, std::move(r));
  };
  detail::run_dynamic(swarm, source, ignore, kDefaultWindow, call, {}, keep);
  std::sort(kept.begin(), kept.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<Response> out;
  out.reserve(kept.size());
  for (auto& [seq, r] : kept) out.push_back(std::move(r));
  return out;
}

/// This rank's leaf answers: every agent answers `prompt`, or the root's items are dealt as in
/// scatter-gather (item i to agent i mod N) and answered in item order. `ask` false: only take
/// part in dealing the items (a resumed rank has its answers).
std::vector<Response> run_leaves(Swarm& swarm, const std::string& prompt, bool with_items,
                                 std::optional<std::span<const std::string>> items,
                                 CallOptions call, bool ask) {
  if (with_items) {
    const bool root = swarm.communicator().is_root();
    const auto n = static_cast<std::uint64_t>(swarm.size());
    std::vector<std::vector<Work>> buckets(
        root ? static_cast<std::size_t>(swarm.communicator().size()) : 0);
    if (root) {
      for (std::size_t i = 0; i < items->size(); ++i) {
        buckets[static_cast<std::size_t>(swarm.owner_of(agent_for(i, n)))].push_back(
            Work{i, fill_template(prompt, {{"item", (*items)[i]}}), {}});
      }
    }
    auto work = detail::scatter_work(swarm, buckets);
    if (!ask) return {};  // resumed: the answers are in the checkpoint
    return detail::run_local(swarm, work, call);
  }
  if (!ask || swarm.local_agents().empty()) return {};
  return swarm.ask(swarm.local_agents(), prompt, call);
}

/// The rank tree over the ranks that hold agents; see the header. Returns the summary this
/// rank holds at the end (meaningful on the tree's root).
class RankTree {
 public:
  RankTree(Swarm& swarm, MPI_Comm comm, std::size_t fanin)
      : swarm_(swarm), comm_(comm), progress_(swarm), sends_(comm, progress_) {
    const int ranks = swarm.communicator().size();
    position_of_.assign(static_cast<std::size_t>(ranks), -1);
    for (int r = 0; r < ranks; ++r) {
      if (swarm.count_on(r) == 0) continue;
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
        const std::size_t leader[] = {swarm_.local_agents().front()};
        auto answer = std::move(
            swarm_.ask(leader, supervisor_prompt(reduce_prompt, group, level), call).front());
        ++stats.calls;
        if (account(stats, answer)) mine = std::move(answer);
      }
    }
    return mine;
  }

 private:
  void send(const std::optional<Response>& summary, int to, int tag) {
    sends_.send(detail::encode(summary), to, tag);
    sends_.finish();
  }

  void receive(std::vector<std::optional<Response>>& slots, std::uint64_t p, std::uint64_t stride,
               int tag) {
    // Members may still be reducing locally: the wait sleeps with the idle back-off.
    for (std::size_t pending = slots.size() - 1; pending > 0; --pending) {
      auto m = detail::receive(comm_, MPI_ANY_SOURCE, tag, progress_);
      const auto from =
          static_cast<std::uint64_t>(position_of_.at(static_cast<std::size_t>(m.source)));
      slots.at((from - p) / stride) = detail::decode<std::optional<Response>>(m.bytes);
    }
  }

  Swarm& swarm_;
  MPI_Comm comm_;
  detail::Progress progress_;
  detail::SendQueue sends_;
  std::vector<int> members_;      ///< Tree position -> rank (the ranks with agents).
  std::vector<int> position_of_;  ///< Rank -> tree position, -1 without agents.
  std::uint64_t fanin_ = 2;
  int steps_ = 0;
};

/// Sums every rank's level counters; afterwards `levels` holds the totals on every rank.
void sum_levels(Swarm& swarm, std::vector<TreeLevel>& levels) {
  std::vector<std::uint64_t> counts;
  for (const auto& l : levels) {
    counts.insert(counts.end(), {l.inputs, l.calls, l.ok, l.failed, l.blank, l.passed});
  }
  detail::allreduce_sum(swarm, counts);
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
                             CallOptions leaf_call, CallOptions reduce_call,
                             const ReduceCheckpoint& checkpoint, Schedule schedule) {
  if (swarm.size() == 0) throw std::logic_error("tree_reduce on an empty swarm");
  const Communicator world = swarm.communicator();
  const bool root = world.is_root();
  const detail::PrivateComm comm(world.mpi_communicator());

  // The root's arguments reach every rank, so every rank throws (or not) alike.
  std::vector<char> args;
  if (root) {
    detail::ByteWriter w;
    w.put<std::uint64_t>(fanin);
    w.put<std::uint8_t>(items.has_value() ? 1 : 0);
    w.put<std::uint8_t>(schedule == Schedule::dynamic ? 1 : 0);
    w.put_string(prompt);
    w.put_string(reduce_prompt);
    args = std::move(w.bytes());
  }
  {
    detail::Progress progress(swarm);
    detail::broadcast_bytes(args, Communicator::kRoot, comm.get(), progress);
  }
  detail::ByteReader in(args);
  fanin = in.get<std::uint64_t>();
  const bool with_items = in.get<std::uint8_t>() != 0;
  schedule = in.get<std::uint8_t>() != 0 ? Schedule::dynamic : Schedule::fixed;
  const std::string leaf_prompt = in.get_string();
  const std::string supervisor = in.get_string();
  if (fanin < 2) throw std::invalid_argument("tree_reduce: fanin must be at least 2");

  // Leaves, then the seed's loop on this rank's own agents (or, resuming, from the last level
  // this rank saved; the items are still scattered, as every rank takes part in that).
  TreeReduceResult out;
  std::vector<TreeLevel> levels(1);
  std::vector<Response> current;
  std::vector<char> saved = checkpoint.load ? checkpoint.load() : std::vector<char>{};
  const bool dynamic = with_items && schedule == Schedule::dynamic;
  if (dynamic && checkpoint.load) {
    // Which rank answered which item is not reproducible: resume only if every rank has its
    // leaves saved; otherwise every rank starts over (a collective decision).
    if (detail::allreduce_max(swarm, saved.empty() ? 1 : 0) != 0) saved.clear();
  }
  int level = 1;
  if (!saved.empty()) {
    level = decode_checkpoint(saved, current, levels) + 1;
    if (with_items && !dynamic) run_leaves(swarm, leaf_prompt, with_items, items, leaf_call, false);
  } else {
    auto leaves = dynamic ? dynamic_leaves(swarm, leaf_prompt, items, leaf_call)
                          : run_leaves(swarm, leaf_prompt, with_items, items, leaf_call, true);
    levels[0].inputs = levels[0].calls = leaves.size();
    for (auto& r : leaves) {
      if (account(levels[0], r)) current.push_back(std::move(r));
    }
    leaves.clear();
    if (checkpoint.save) checkpoint.save(encode_checkpoint(0, current, levels));
  }
  int local_levels =
      reduce_locally(swarm, current, supervisor, fanin, reduce_call, levels, level, checkpoint);

  // Rank-tree levels continue after the highest local level any rank reached.
  local_levels =
      static_cast<int>(detail::allreduce_max(swarm, static_cast<std::uint64_t>(local_levels)));
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
  detail::broadcast_response(swarm, out.response, tree.root());
  sum_levels(swarm, levels);
  for (std::size_t k = 0; k < levels.size(); ++k) {
    levels[k].level = static_cast<int>(k);
    levels[k].rank_tree = k > static_cast<std::size_t>(local_levels);
  }
  out.levels = std::move(levels);
  return out;
}

}  // namespace swarm::mpi
