#pragma once
// Shared by the tree-reduce MPI tests: a mock started by rank 0, and a reference computing what
// tree_reduce must return against the mock's script ("agent {agent}: {prompt}"):
// seed_tree_reduce, the Python seed's algorithm over the whole pool (blank answers dropped) with
// aswarm's choice of supervisor, written independently of the MPI code. tree_reduce must equal
// it at every rank count.

#include <mpi.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "http_client.hpp"
#include "mock_process.hpp"
#include "swarm/hostfile.hpp"
#include "swarm/mpi/strings.hpp"
#include "swarm/mpi/swarm.hpp"
#include "swarm/mpi/tree_reduce.hpp"

namespace tree_test {

using swarm::mpi::TreeLevel;

/// The reduce template every test uses, and its expansion written out by hand.
inline constexpr const char* kReducePrompt = "sum {level}: {responses}";
inline std::string reduce_text(int level, const std::vector<std::string>& texts) {
  std::string joined;
  for (std::size_t k = 0; k < texts.size(); ++k) joined += (k ? "\n---\n" : "") + texts[k];
  return "sum " + std::to_string(level) + ": " + joined;
}

/// Leaf prompts starting with this are answered with whitespace by the script: ASCII and
/// Unicode (a no-break and an ideographic space), all blank to Python's str.strip().
inline constexpr const char* kBlankMarker = "blank";

/// Rank 0 runs a mock of `agents` + 1 agents; the swarm is the first `agents`. The spare one
/// serves /metrics even when every agent under test is dead (dead agents answer 503 to all).
class MockSwarm {
 public:
  MockSwarm(std::size_t agents, std::vector<std::string> extra_args) : agents_(agents) {
    std::string path;
    if (world_.is_root()) {
      dir_ = std::make_unique<swarm::mock::test::TempDir>();
      const auto script = dir_->path() / "who.json";
      swarm::mock::test::write_file(
          script, std::string(R"({"rules": [{"match": "^)") + kBlankMarker +
                      R"(", "answer": " \n\t\u00a0\u3000 "}], "default": "agent {agent}: {prompt}"})");
      std::vector<std::string> args = {"--mode",        "script",  "--script",
                                       script.string(), "--count", std::to_string(agents + 1)};
      args.insert(args.end(), extra_args.begin(), extra_args.end());
      mock_ = std::make_unique<swarm::mock::test::MockProcess>(args);
      path = mock_->hostfile().string();
    }
    swarm::mpi::broadcast_string(path, world_);
    hostfile_ = path;
  }
  ~MockSwarm() { MPI_Barrier(MPI_COMM_WORLD); }  // nobody stops the mock while others use it
  MockSwarm(const MockSwarm&) = delete;
  MockSwarm& operator=(const MockSwarm&) = delete;

  /// A swarm of exactly the first `n` endpoints (default: the `agents` under test).
  [[nodiscard]] swarm::mpi::Swarm swarm(std::size_t n = 0) const {
    swarm::PoolOptions o;
    o.model = "mock-model";
    o.model_max_context = 32768;
    o.retries = 0;        // dead agents fail at once
    o.max_tokens = 8192;  // the mock cuts answers at max_tokens; deep trees echo long texts
    // The swarm is exactly the first `agents` endpoints (not a slice of the whole hostfile:
    // an agent keeps its hostfile rank in a view, and the references deal `agents` to ranks).
    std::vector<swarm::Endpoint> endpoints;
    if (world_.is_root()) {
      endpoints = swarm::parse_hostfile(hostfile_);
      endpoints.resize(n == 0 ? agents_ : n);
    }
    return swarm::mpi::Swarm::from_endpoints(world_, endpoints, o);
  }

  /// Root only: chat completions each agent received so far (the mock's /metrics).
  [[nodiscard]] std::vector<std::uint64_t> requests_per_agent() const {
    // Every port serves the whole process's metrics.
    const auto text = swarm::mock::test::http_get(mock_->url(agents_, "/metrics")).body;
    std::vector<std::uint64_t> out;
    for (std::size_t a = 0; a < agents_; ++a) {
      out.push_back(static_cast<std::uint64_t>(swarm::mock::test::metric(
          text, "aswarm_mock_requests_total{port=\"" + std::to_string(mock_->port(a)) +
                    "\",route=\"/v1/chat/completions\"}")));
    }
    return out;
  }

 private:
  std::size_t agents_;
  swarm::mpi::Communicator world_;
  std::unique_ptr<swarm::mock::test::TempDir> dir_;
  std::unique_ptr<swarm::mock::test::MockProcess> mock_;
  std::string hostfile_;
};

/// What the mock answers, counting the calls per agent.
struct MockModel {
  std::size_t agents = 0;
  std::set<std::size_t> dead;
  std::vector<std::uint64_t> calls = std::vector<std::uint64_t>(agents);

  /// nullopt = failed request; "" = blank answer.
  std::optional<std::string> answer(std::size_t agent, const std::string& prompt) {
    calls.at(agent) += 1;
    if (dead.count(agent) != 0) return std::nullopt;
    if (prompt.rfind(kBlankMarker, 0) == 0) return std::string();
    return "agent " + std::to_string(agent) + ": " + prompt;
  }
};

struct Answer {
  std::string text;
  std::size_t agent = 0;
  std::uint64_t leaves = 1;  ///< Leaves this answer covers.
};

struct Expected {
  bool success = false;
  std::string text;
  std::int64_t agent = -1;
  std::vector<TreeLevel> levels;
  int supervisor_levels = 0;
  std::uint64_t leaves_covered = 0;
  std::vector<std::uint64_t> calls;  ///< Requests per agent.
};

inline TreeLevel& level_at(std::vector<TreeLevel>& levels, std::size_t k) {
  if (levels.size() <= k) levels.resize(k + 1);
  levels[k].level = static_cast<int>(k);
  return levels[k];
}

/// Calls `agent`, counts the outcome at `stats`, appends usable answers to `out`.
inline void call(MockModel& m, std::size_t agent, const std::string& prompt, TreeLevel& stats,
                 std::vector<Answer>& out, std::uint64_t leaves = 1) {
  const auto a = m.answer(agent, prompt);
  if (!a) {
    ++stats.failed;
  } else if (a->empty()) {
    ++stats.blank;
  } else {
    ++stats.ok;
    out.push_back({*a, agent, leaves});
  }
}

/// The seed's reduction loop over a pool made of `agents`, with aswarm's supervisor rule: group
/// g of level k goes to agents[(g * fanin^k) mod size] (the seed's is g mod size; tree_level.hpp
/// says why).
inline int seed_loop(MockModel& m, const std::vector<std::size_t>& agents,
                     std::vector<Answer>& current, std::size_t fanin,
                     std::vector<TreeLevel>& levels) {
  int level = 1;
  while (current.size() > 1) {
    std::vector<Answer> next;
    TreeLevel& stats = level_at(levels, static_cast<std::size_t>(level));
    stats.inputs += current.size();
    for (std::size_t start = 0, g = 0; start < current.size(); start += fanin, ++g) {
      std::vector<std::string> texts;
      std::uint64_t leaves = 0;
      for (std::size_t k = start; k < std::min(start + fanin, current.size()); ++k) {
        texts.push_back(current[k].text);
        leaves += current[k].leaves;
      }
      ++stats.calls;
      std::size_t first_leaf = g;
      for (int k = 0; k < level; ++k) first_leaf *= fanin;
      call(m, agents[first_leaf % agents.size()], reduce_text(level, texts), stats, next, leaves);
    }
    current = std::move(next);
    ++level;
  }
  return level - 1;
}

inline std::string leaf_prompt(const std::string& prompt, const std::string& item) {
  std::string out;  // {item} replaced everywhere, like the seed's str.replace
  for (std::size_t k = 0; k < prompt.size();) {
    if (prompt.compare(k, 6, "{item}") == 0) {
      out += item;
      k += 6;
    } else {
      out += prompt[k++];
    }
  }
  return out;
}

/// The seed's tree_reduce over all `m.agents` agents.
inline Expected seed_tree_reduce(MockModel m, const std::string& prompt, std::size_t fanin,
                                 const std::optional<std::vector<std::string>>& items) {
  Expected e;
  std::vector<std::size_t> agents(m.agents);
  for (std::size_t a = 0; a < m.agents; ++a) agents[a] = a;
  std::vector<Answer> current;
  TreeLevel& leaves = level_at(e.levels, 0);
  const std::size_t count = items ? items->size() : m.agents;
  for (std::size_t i = 0; i < count; ++i) {
    ++leaves.inputs;
    ++leaves.calls;
    call(m, i % m.agents, items ? leaf_prompt(prompt, (*items)[i]) : prompt, leaves, current);
  }
  e.supervisor_levels = seed_loop(m, agents, current, fanin, e.levels);
  for (std::size_t k = 0; k < e.levels.size(); ++k) e.levels[k].level = static_cast<int>(k);
  if (!current.empty()) {
    e.success = true;
    e.text = current[0].text;
    e.agent = static_cast<std::int64_t>(current[0].agent);
    e.leaves_covered = current[0].leaves;
  }
  e.calls = m.calls;
  return e;
}

}  // namespace tree_test

namespace swarm::mpi {
/// Readable gtest messages for level comparisons.
inline void PrintTo(const TreeLevel& l, std::ostream* os) {
  *os << "{level " << l.level << ": inputs " << l.inputs << " calls " << l.calls << " ok "
      << l.ok << " failed " << l.failed << " blank " << l.blank << "}";
}
}  // namespace swarm::mpi
