#include "tree_level.hpp"

#include <algorithm>
#include <limits>
#include <set>
#include <stdexcept>

#include "collectives.hpp"
#include "local_runner.hpp"
#include "progress.hpp"
#include "swarm/mpi/swarm.hpp"
#include "swarm/mpi/work.hpp"
#include "swarm/template.hpp"
#include "transport.hpp"
#include "unicode.hpp"
#include "wire.hpp"

namespace swarm::mpi::detail {
namespace {

constexpr std::string_view kSeparator = "\n---\n";
constexpr std::int64_t kNotMine = -1;
// The seed's marker after {responses} cut to --max-reduce-input-chars, and the room it keeps.
constexpr std::string_view kCutMarker = "\n... [input truncated to fit model context]";
constexpr std::size_t kMarkerRoom = 60;

/// The members of the groups this rank supervises: slot_of[g] indexes `members` (kNotMine for
/// the other ranks' groups), member j of group g at members[slot][j].
struct MyGroups {
  std::vector<std::int64_t> slot_of;
  std::vector<std::uint64_t> ids;
  std::vector<std::vector<Response>> members;
  std::vector<std::uint64_t> leaves;  ///< per slot: the leaves its members cover
};

MyGroups plan(Swarm& swarm, const Supervisors& supervisors, std::size_t positions,
              std::size_t fanin) {
  const int me = swarm.communicator().rank();
  const std::size_t groups = (positions + fanin - 1) / fanin;
  MyGroups out;
  out.slot_of.assign(groups, kNotMine);
  for (std::size_t g = 0; g < groups; ++g) {
    if (swarm.owner_of(supervisors.of(g)) != me) continue;
    out.slot_of[g] = static_cast<std::int64_t>(out.ids.size());
    out.ids.push_back(g);
    out.members.emplace_back(std::min(fanin, positions - g * fanin));
    out.leaves.push_back(0);
  }
  return out;
}

/// The ranks that hold agents, in rank order.
std::vector<int> active_ranks(Swarm& swarm) {
  std::vector<int> out;
  for (int r = 0; r < swarm.communicator().size(); ++r) {
    if (swarm.count_on(r) > 0) out.push_back(r);
  }
  return out;
}

/// With PoolOptions::failover, a supervisor call that failed on this rank (its pool already
/// tried the rank's other healthy agents) is asked again on the next rank holding agents, then
/// the one after, until it succeeds or every such rank had it: a rank whose agents all died
/// must not drop its groups while other ranks have live agents. Round r sends this rank's
/// failures to the active rank r places after it and runs those of the rank r places before;
/// one all-reduce per round says whether any failure is left. Without failover, a failed
/// supervisor drops its group, as in the seed.
void move_failures(Swarm& swarm, MPI_Comm comm, const std::vector<Work>& work,
                   std::vector<Response>& answers, int tag, const CallOptions& call) {
  if (!swarm.options().failover || !call.may_fail_over) return;
  const auto active = active_ranks(swarm);
  const auto count = static_cast<int>(active.size());
  const auto at = std::find(active.begin(), active.end(), swarm.communicator().rank());
  const int me = at == active.end() ? -1 : static_cast<int>(at - active.begin());
  for (int round = 1; round < count; ++round) {
    std::vector<std::size_t> failed;
    for (std::size_t k = 0; k < answers.size(); ++k) {
      if (!answers[k].success) failed.push_back(k);
    }
    std::vector<std::uint64_t> total{failed.size()};
    allreduce_sum(swarm, total);
    if (total[0] == 0 || me < 0) {
      if (total[0] == 0) return;
      continue;  // no agents here: only the all-reduce
    }
    const int target = active[static_cast<std::size_t>((me + round) % count)];
    const int source = active[static_cast<std::size_t>((me - round + count) % count)];
    Progress progress(swarm);
    SendQueue sends(comm, progress);
    std::vector<Work> out;
    for (const auto k : failed) out.push_back(work[k]);
    sends.send(encode(out), target, tag);
    auto theirs = decode<std::vector<Work>>(receive(comm, source, tag, progress).bytes);
    const auto& mine = swarm.local_agents();
    for (std::size_t j = 0; j < theirs.size(); ++j) theirs[j].index = mine[j % mine.size()];
    sends.send(encode(run_local(swarm, theirs, call)), source, tag + 1);
    auto back = decode<std::vector<Response>>(receive(comm, target, tag + 1, progress).bytes);
    for (std::size_t j = 0; j < failed.size(); ++j) answers[failed[j]] = std::move(back.at(j));
    sends.finish();
  }
}

}  // namespace

Supervisors::Supervisors(std::uint64_t agents, std::size_t fanin, int level) : agents_(agents) {
  if (agents == 0 || agents > std::numeric_limits<std::uint32_t>::max()) {
    throw std::logic_error("tree_reduce: agent count out of range");
  }
  stride_ = 1 % agents;
  for (int k = 0; k < level; ++k) stride_ = stride_ * (fanin % agents) % agents;
}

std::uint64_t Supervisors::of(std::uint64_t group) const noexcept {
  return group % agents_ * stride_ % agents_;  // both factors < 2^32: no overflow
}

LevelOrder order_of(Swarm& swarm, const std::vector<Carried>& mine) {
  std::vector<std::uint64_t> keys;
  keys.reserve(mine.size());
  for (const auto& c : mine) keys.push_back(c.key);
  const auto all = allgather_values(swarm, keys);
  LevelOrder order;
  for (std::size_t r = 0; r < all.size(); ++r) {
    for (const auto k : all[r]) order.emplace_back(k, static_cast<int>(r));
  }
  std::sort(order.begin(), order.end());
  return order;
}

std::vector<Carried> reduce_level(Swarm& swarm, MPI_Comm comm, const LevelOrder& order,
                                  std::vector<Carried>& mine, const LevelRule& rule) {
  const std::size_t fanin = rule.fanin;
  const int level = rule.level;
  const CallOptions& call = rule.call;
  const int me = swarm.communicator().rank();
  const Supervisors supervisors(swarm.size(), fanin, level);
  auto groups = plan(swarm, supervisors, order.size(), fanin);

  // Walk the global order once: our answers go to their group's rank (or stay), and the ranks
  // holding members of our groups are the messages to wait for.
  std::vector<ByteWriter> outbox(static_cast<std::size_t>(swarm.communicator().size()));
  std::set<int> sources;
  std::size_t next_mine = 0;  // ours appear in `order` in our own (key) order
  for (std::size_t p = 0; p < order.size(); ++p) {
    const std::size_t g = p / fanin;
    const int dest = swarm.owner_of(supervisors.of(g));
    if (order[p].second != me) {
      if (dest == me) sources.insert(order[p].second);
      continue;
    }
    Carried& c = mine.at(next_mine++);
    if (dest == me) {
      const auto slot = static_cast<std::size_t>(groups.slot_of[g]);
      groups.members[slot][p % fanin] = std::move(c.response);
      groups.leaves[slot] += c.leaves;
    } else {
      auto& w = outbox[static_cast<std::size_t>(dest)];
      w.put<std::uint64_t>(p);
      w.put<std::uint64_t>(c.leaves);
      put(w, c.response);
    }
  }
  mine.clear();

  Progress progress(swarm);
  SendQueue sends(comm, progress);
  // Tags: 3 per level (members; failures moved; their answers), so no level's messages can
  // match another's receive.
  const int tag = 3 * level;
  for (std::size_t d = 0; d < outbox.size(); ++d) {
    if (!outbox[d].bytes().empty()) sends.send(std::move(outbox[d].bytes()), static_cast<int>(d), tag);
  }
  for (std::size_t pending = sources.size(); pending > 0; --pending) {
    const auto m = receive(comm, MPI_ANY_SOURCE, tag, progress);
    ByteReader in(m.bytes);
    while (!in.done()) {
      const auto p = in.get<std::uint64_t>();
      const auto slot = groups.slot_of.at(p / fanin);
      if (slot == kNotMine) throw std::logic_error("tree_reduce: a member of another rank's group");
      groups.leaves[static_cast<std::size_t>(slot)] += in.get<std::uint64_t>();
      get(in, groups.members[static_cast<std::size_t>(slot)][p % fanin]);
    }
  }
  sends.finish();

  std::vector<Work> work;
  work.reserve(groups.ids.size());
  for (std::size_t k = 0; k < groups.ids.size(); ++k) {
    // Work's index picks the agent (index mod N): the supervisor's own index.
    std::optional<std::int64_t> budget;
    if (rule.per_member > 0) {
      budget = rule.per_member * static_cast<std::int64_t>(groups.members[k].size()) +
               rule.contingency;
    }
    work.push_back(Work{supervisors.of(groups.ids[k]),
                        supervisor_prompt(rule.reduce_prompt, groups.members[k], level,
                                          rule.max_input_chars),
                        budget});
    groups.members[k].clear();
  }
  auto answers = run_local(swarm, work, call);
  move_failures(swarm, comm, work, answers, tag + 1, call);
  std::vector<Carried> out;
  out.reserve(answers.size());
  for (std::size_t k = 0; k < answers.size(); ++k) {
    out.push_back(Carried{groups.ids[k], std::move(answers[k]), groups.leaves[k]});
  }
  return out;
}

std::string supervisor_prompt(std::string_view reduce_prompt, const std::vector<Response>& group,
                              int level, std::size_t max_input_chars) {
  std::string combined;
  for (const auto& r : group) {
    if (!combined.empty()) combined += kSeparator;
    combined += r.text;
  }
  if (max_input_chars > 0 && swarm::detail::code_points(combined) > max_input_chars) {
    // tree_reduce_coli.py: combined[:MAX - 60] + the marker, in characters, not bytes.
    const std::size_t keep = max_input_chars > kMarkerRoom ? max_input_chars - kMarkerRoom : 0;
    combined = std::string(swarm::detail::python_prefix(combined, keep)) + std::string(kCutMarker);
  }
  return fill_template(reduce_prompt, {{"responses", combined}, {"level", std::to_string(level)}});
}

}  // namespace swarm::mpi::detail
