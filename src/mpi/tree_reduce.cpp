#include "swarm/mpi/tree_reduce.hpp"

#include <algorithm>
#include <chrono>
#include <stdexcept>

#include "collectives.hpp"
#include "dynamic_farm.hpp"
#include "tree_level.hpp"
#include "local_runner.hpp"
#include "private_comm.hpp"
#include "progress.hpp"
#include "swarm/mpi/error.hpp"
#include "swarm/mpi/swarm.hpp"
#include "swarm/template.hpp"
#include "transport.hpp"
#include "unicode.hpp"
#include "wire.hpp"

namespace swarm::mpi {
namespace {

using detail::Carried;

constexpr std::string_view kAllFailed = "all agents failed during reduction";
constexpr int kFields = 5;  // TreeLevel counters summed over ranks
constexpr std::uint64_t kNoRecord = ~std::uint64_t{0};
constexpr std::uint8_t kRecordFormat = 2;  // the first byte of a checkpoint record

// The seed's _has_content: (text or "").strip() is empty, with Python's Unicode whitespace (a
// no-break space or an ideographic space is blank too).
bool blank(std::string_view text) { return swarm::detail::python_strip(text).empty(); }

/// tree_reduce_coli.py's leaf cap: r.text[:MAX] + "..." when longer, in characters.
void cap_leaves(std::vector<Carried>& leaves, std::size_t max_chars) {
  if (max_chars == 0) return;
  for (auto& c : leaves) {
    std::string& text = c.response.text;
    if (swarm::detail::code_points(text) <= max_chars) continue;
    text = std::string(swarm::detail::python_prefix(text, max_chars)) + "...";
  }
}

/// Collective: the root's `show` sees every rank's `kept` answers of `level`, in group order.
void show_level(Swarm& swarm, int level, const std::vector<Carried>& kept,
                const LevelOutputFn& show) {
  detail::ByteWriter w;
  for (const auto& c : kept) {
    w.put<std::uint64_t>(c.key);
    detail::put(w, c.response);
  }
  std::vector<std::int64_t> sizes;
  const auto all = detail::gather_bytes(swarm, std::move(w.bytes()), sizes);
  if (!swarm.communicator().is_root()) return;
  std::vector<std::pair<std::uint64_t, Response>> answers;
  detail::ByteReader in(all);
  while (!in.done()) {
    const auto key = in.get<std::uint64_t>();
    Response r;
    detail::get(in, r);
    answers.emplace_back(key, std::move(r));
  }
  std::sort(answers.begin(), answers.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  if (show) {
    for (const auto& [group, r] : answers) show(level, group, r);
  }
}

TreeLevel& level_at(std::vector<TreeLevel>& levels, std::size_t level) {
  if (levels.size() <= level) levels.resize(level + 1);
  return levels[level];
}

/// Counts `r` in `stats`; returns whether it goes up (successful and not blank).
bool account(TreeLevel& stats, const Response& r) {
  if (!r.success) {
    ++stats.failed;
    return false;
  }
  if (blank(r.text)) {
    ++stats.blank;
    return false;
  }
  ++stats.ok;
  return true;
}

/// Counts `answers` at `stats` (and shows them to `observe`) and keeps the ones that go up, in
/// their order.
std::vector<Carried> survivors(std::vector<Carried>&& answers, TreeLevel& stats,
                               const AnswerObserver& observe) {
  std::vector<Carried> out;
  stats.calls += answers.size();
  for (auto& a : answers) {
    if (observe) observe(a.response);
    if (account(stats, a.response)) out.push_back(std::move(a));
  }
  return out;
}

// ---- checkpoints ---------------------------------------------------------------------------
// A rank's record holds its state after the last level it finished and after the one before:
// the levels are collective steps, so when a kill stops the ranks at different points no rank
// is more than one level ahead of another, and the run resumes at the lowest level every rank
// finished, each rank from whichever of its two states that is.

struct State {
  std::uint64_t level = 0;  // the last level done (0: the leaves)
  std::vector<Carried> current;
  std::vector<TreeLevel> levels;
};

void put_state(detail::ByteWriter& w, const State& s) {
  w.put<std::uint64_t>(s.level);
  w.put<std::uint64_t>(s.current.size());
  for (const auto& c : s.current) {
    w.put<std::uint64_t>(c.key);
    w.put<std::uint64_t>(c.leaves);
    detail::put(w, c.response);
  }
  w.put<std::uint64_t>(s.levels.size());
  for (const auto& l : s.levels) {
    for (const auto c : {l.inputs, l.calls, l.ok, l.failed, l.blank}) w.put(c);
  }
}

State get_state(detail::ByteReader& in) {
  State s;
  s.level = in.get<std::uint64_t>();
  s.current.resize(in.get<std::uint64_t>());
  for (auto& c : s.current) {
    c.key = in.get<std::uint64_t>();
    c.leaves = in.get<std::uint64_t>();
    detail::get(in, c.response);
  }
  s.levels.resize(in.get<std::uint64_t>());
  for (auto& l : s.levels) {
    for (auto* c : {&l.inputs, &l.calls, &l.ok, &l.failed, &l.blank}) *c = in.get<std::uint64_t>();
  }
  return s;
}

/// Saves after each level: the new state and the one before it.
class Saver {
 public:
  explicit Saver(const ReduceCheckpoint& checkpoint) : checkpoint_(checkpoint) {}
  void save(std::uint64_t level, const std::vector<Carried>& current,
            const std::vector<TreeLevel>& levels) {
    if (!checkpoint_.save) return;
    State now{level, current, levels};
    detail::ByteWriter w;
    w.put<std::uint8_t>(kRecordFormat);
    w.put<std::uint8_t>(previous_ ? 2 : 1);
    put_state(w, now);
    if (previous_) put_state(w, *previous_);
    checkpoint_.save(w.bytes());
    previous_ = std::move(now);
  }
  void resumed_from(State s) { previous_ = std::move(s); }

 private:
  const ReduceCheckpoint& checkpoint_;
  std::optional<State> previous_;
};

/// Collective: the state every rank resumes from, or none (then every rank starts over).
std::optional<State> resume_point(Swarm& swarm, const ReduceCheckpoint& checkpoint) {
  std::vector<State> states;
  if (checkpoint.load) {
    const auto bytes = checkpoint.load();
    if (!bytes.empty()) {
      detail::ByteReader in(bytes);
      // Another version's record is no record: every rank starts over (throwing here, on one
      // rank, would leave the others waiting in the all-reduce below).
      if (in.get<std::uint8_t>() == kRecordFormat) {
        const auto count = in.get<std::uint8_t>();
        for (std::uint8_t k = 0; k < count; ++k) states.push_back(get_state(in));
        if (!in.done()) throw std::logic_error("tree_reduce: trailing bytes in a checkpoint");
      }
    }
  }
  // The lowest last level over the ranks (a maximum of complements: there is no min helper).
  const std::uint64_t latest = states.empty() ? kNoRecord : states.front().level;
  const std::uint64_t lowest =
      kNoRecord - detail::allreduce_max(swarm, kNoRecord - latest);
  auto found = std::find_if(states.begin(), states.end(),
                            [&](const State& s) { return s.level == lowest; });
  const bool missing = lowest == kNoRecord || found == states.end();
  if (detail::allreduce_max(swarm, missing ? 1 : 0) != 0) return std::nullopt;
  return std::move(*found);
}

// ---- leaves --------------------------------------------------------------------------------

/// This rank's leaf answers in dynamic mode: the items are handed out on demand (dynamic_farm.hpp)
/// and each answer stays on the rank whose agent gave it, keyed by its item.
std::vector<Carried> dynamic_leaves(Swarm& swarm, const std::string& prompt,
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
  std::vector<Carried> kept;
  const detail::KeepFn keep = [&kept](std::uint64_t seq, Response&& r) {
    kept.push_back(Carried{seq, std::move(r)});
  };
  detail::run_dynamic(swarm, source, ignore, kDefaultWindow, call, {}, keep);
  return kept;
}

/// This rank's leaf answers: every agent answers `prompt` (keyed by agent), or the root's items
/// are dealt as in scatter-gather (item i to agent i mod N; keyed by item).
std::vector<Carried> fixed_leaves(Swarm& swarm, const std::string& prompt, bool with_items,
                                  std::optional<std::span<const std::string>> items,
                                  CallOptions call) {
  std::vector<Carried> out;
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
    const auto work = detail::scatter_work(swarm, buckets);
    auto answers = detail::run_local(swarm, work, call);
    for (std::size_t k = 0; k < work.size(); ++k) {
      out.push_back(Carried{work[k].index, std::move(answers[k])});
    }
    return out;
  }
  const auto& mine = swarm.local_agents();
  if (mine.empty()) return out;
  auto answers = swarm.ask(mine, prompt, call);
  for (std::size_t k = 0; k < mine.size(); ++k) out.push_back(Carried{mine[k], std::move(answers[k])});
  return out;
}

/// Sums every rank's level counters; afterwards `levels` holds the totals on every rank.
void sum_levels(Swarm& swarm, std::vector<TreeLevel>& levels) {
  std::vector<std::uint64_t> counts;
  for (const auto& l : levels) counts.insert(counts.end(), {l.inputs, l.calls, l.ok, l.failed, l.blank});
  detail::allreduce_sum(swarm, counts);
  for (std::size_t k = 0; k < levels.size(); ++k) {
    const auto* c = &counts[k * kFields];
    levels[k] = TreeLevel{static_cast<int>(k), c[0], c[1], c[2], c[3], c[4]};
  }
}

}  // namespace

TreeReduceResult tree_reduce(Swarm& swarm, std::string_view prompt, std::string_view reduce_prompt,
                             std::size_t fanin, std::optional<std::span<const std::string>> items,
                             CallOptions leaf_call, CallOptions reduce_call,
                             const ReduceCheckpoint& checkpoint, Schedule schedule,
                             const AnswerObserver& observe) {
  return tree_reduce(swarm, prompt, reduce_prompt,
                     TreeReduceOptions{.fanin = fanin,
                                       .items = items,
                                       .leaf_call = std::move(leaf_call),
                                       .reduce_call = std::move(reduce_call),
                                       .checkpoint = checkpoint,
                                       .schedule = schedule,
                                       .observe = observe});
}

TreeReduceResult tree_reduce(Swarm& swarm, std::string_view prompt, std::string_view reduce_prompt,
                             const TreeReduceOptions& options) {
  const auto& items = options.items;
  const auto& leaf_call = options.leaf_call;
  const auto& checkpoint = options.checkpoint;
  const auto& observe = options.observe;
  if (swarm.size() == 0) throw std::logic_error("tree_reduce on an empty swarm");
  const Communicator world = swarm.communicator();
  const bool root = world.is_root();
  const detail::PrivateComm comm(world.mpi_communicator());

  // The root's arguments reach every rank, so every rank throws (or not) alike.
  std::vector<char> args;
  if (root) {
    detail::ByteWriter w;
    w.put<std::uint64_t>(options.fanin);
    w.put<std::uint8_t>(items.has_value() ? 1 : 0);
    w.put<std::uint8_t>(options.schedule == Schedule::dynamic ? 1 : 0);
    w.put<std::int64_t>(options.group_budget ? options.group_budget->per_member : 0);
    w.put<std::int64_t>(options.group_budget ? options.group_budget->contingency : 0);
    w.put<std::uint64_t>(options.max_response_chars);
    w.put<std::uint64_t>(options.max_reduce_input_chars);
    w.put<std::uint8_t>(options.on_level_output ? 1 : 0);
    w.put_string(prompt);
    w.put_string(reduce_prompt);
    args = std::move(w.bytes());
  }
  {
    detail::Progress progress(swarm);
    detail::broadcast_bytes(args, Communicator::kRoot, comm.get(), progress);
  }
  detail::ByteReader in(args);
  const std::size_t fanin = in.get<std::uint64_t>();
  const bool with_items = in.get<std::uint8_t>() != 0;
  const bool dynamic = in.get<std::uint8_t>() != 0 && with_items;
  const auto per_member = in.get<std::int64_t>();
  const auto contingency = in.get<std::int64_t>();
  const std::size_t max_response_chars = in.get<std::uint64_t>();
  const std::size_t max_input_chars = in.get<std::uint64_t>();
  const bool show_levels = in.get<std::uint8_t>() != 0;
  const std::string leaf_prompt = in.get_string();
  const std::string supervisor = in.get_string();
  if (fanin < 2) throw std::invalid_argument("tree_reduce: fanin must be at least 2");
  if (per_member < 0 || contingency < 0) {
    throw std::invalid_argument("tree_reduce: a group budget must not be negative");
  }

  // The leaves, or the level every rank saved last time.
  std::vector<TreeLevel> levels(1);
  std::vector<Carried> current;
  Saver saver(checkpoint);
  int level = 1;
  if (auto resumed = resume_point(swarm, checkpoint)) {
    level = static_cast<int>(resumed->level) + 1;
    current = std::move(resumed->current);
    levels = std::move(resumed->levels);
    saver.resumed_from(State{resumed->level, current, levels});
  } else {
    auto leaves = dynamic ? dynamic_leaves(swarm, leaf_prompt, items, leaf_call)
                          : fixed_leaves(swarm, leaf_prompt, with_items, items, leaf_call);
    std::sort(leaves.begin(), leaves.end(),
              [](const Carried& a, const Carried& b) { return a.key < b.key; });
    levels[0].inputs = leaves.size();
    current = survivors(std::move(leaves), levels[0], observe);
    cap_leaves(current, max_response_chars);
    saver.save(0, current, levels);
  }

  // The seed's loop over the global order, one collective step per level.
  detail::LevelOrder order = detail::order_of(swarm, current);
  for (; order.size() > 1; ++level) {
    TreeLevel& stats = level_at(levels, static_cast<std::size_t>(level));
    stats.inputs += current.size();
    const detail::LevelRule rule{.reduce_prompt = supervisor,
                                 .fanin = fanin,
                                 .level = level,
                                 .call = options.reduce_call,
                                 .per_member = per_member,
                                 .contingency = contingency,
                                 .max_input_chars = max_input_chars};
    auto answers = detail::reduce_level(swarm, comm.get(), order, current, rule);
    current = survivors(std::move(answers), level_at(levels, static_cast<std::size_t>(level)),
                        observe);
    if (show_levels) show_level(swarm, level, current, options.on_level_output);
    saver.save(static_cast<std::uint64_t>(level), current, levels);
    order = detail::order_of(swarm, current);
  }

  TreeReduceResult out;
  if (order.empty()) {
    out.response = Response::failure(std::string(kAllFailed));
  } else {
    const int holder = order.front().second;
    std::uint64_t covered = 0;
    if (world.rank() == holder) {
      out.response = std::move(current.front().response);
      covered = current.front().leaves;
    }
    detail::broadcast_response(swarm, out.response, holder);
    out.leaves_covered = detail::allreduce_max(swarm, covered);
  }
  levels.resize(static_cast<std::size_t>(level));
  sum_levels(swarm, levels);
  out.levels = std::move(levels);
  return out;
}

}  // namespace swarm::mpi
