#include "swarm/mpi/blackboard.hpp"

#include <algorithm>
#include <cstring>
#include <exception>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include <fmt/format.h>

#include "collectives.hpp"
#include "progress.hpp"
#include "swarm/mpi/error.hpp"
#include "transport.hpp"
#include "wire.hpp"

namespace swarm::mpi {
namespace {

// Window layout per rank: header {u64 used bytes of entries, u64 entry count}, then entries.
constexpr std::size_t kHeader = 2 * sizeof(std::uint64_t);

bool board_order(const BoardEntry& a, const BoardEntry& b) {
  return std::tie(a.round, a.section, a.agent, a.seq) <
         std::tie(b.round, b.section, b.agent, b.seq);
}

/// Collective: rank 0 runs `decide` (a user's prompt or convergence function) and every rank
/// receives its text. When it throws, every rank throws instead of only rank 0 (which would
/// leave the others waiting in this broadcast for ever): rank 0 its own exception, the others
/// a std::runtime_error with its message. `what` names the function for that message.
std::string decided_on_root(Swarm& swarm, const std::function<std::string()>& decide,
                            std::string_view what) {
  std::string message;  // '+' then the text, or '!' then the exception's message
  std::exception_ptr failure;
  if (swarm.communicator().is_root()) {
    try {
      message = "+" + decide();
    } catch (const std::exception& e) {
      failure = std::current_exception();
      message = std::string("!") + e.what();
    } catch (...) {
      failure = std::current_exception();
      message = "!(not a std::exception)";
    }
  }
  detail::broadcast_from_root(swarm, message);
  if (message.empty() || message.front() != '!') return message.substr(1);
  if (failure) std::rethrow_exception(failure);
  throw std::runtime_error(
      fmt::format("blackboard: rank 0's {} threw: {}", what, std::string_view(message).substr(1)));
}

}  // namespace

// ---- BoardState -------------------------------------------------------------------------------

BoardState::BoardState(std::vector<std::string> sections, std::vector<BoardEntry> entries,
                       int round)
    : sections_(std::move(sections)), entries_(std::move(entries)), round_(round) {}

int BoardState::section_index(std::string_view section) const noexcept {
  const auto it = std::find(sections_.begin(), sections_.end(), section);
  return it == sections_.end() ? -1 : static_cast<int>(it - sections_.begin());
}

std::vector<std::string> BoardState::texts(std::string_view section) const {
  std::vector<std::string> out;
  const int s = section_index(section);
  for (const auto& e : entries_) {
    if (static_cast<int>(e.section) == s) out.push_back(e.text);
  }
  return out;
}

std::vector<const BoardEntry*> BoardState::written_in(std::string_view section, int round) const {
  std::vector<const BoardEntry*> out;
  const int s = section_index(section);
  for (const auto& e : entries_) {
    if (static_cast<int>(e.section) == s && static_cast<int>(e.round) == round) out.push_back(&e);
  }
  return out;
}

nlohmann::json BoardState::snapshot() const {
  nlohmann::json board = nlohmann::json::object();
  for (const auto& s : sections_) board[s] = texts(s);
  return {{"round", round_}, {"board", std::move(board)}};
}

// ---- Blackboard -------------------------------------------------------------------------------

Blackboard::Blackboard(Swarm& swarm, std::vector<std::string> sections, PromptFn prompt_fn,
                       std::size_t initial_capacity)
    : swarm_(swarm), sections_(std::move(sections)), prompt_fn_(std::move(prompt_fn)) {
  if (sections_.empty()) throw std::invalid_argument("a blackboard needs at least one section");
  // A section's agents are the board swarm's agents with that role, in place (each driven by
  // its own rank through the rank's one pool): the pipeline's tag stages use the same policy.
  for (const auto& s : sections_) {
    auto& agents = section_agents_.emplace_back(swarm_.agents_with_tag("role", s));
    auto& mine = local_agents_.emplace_back();
    for (const auto a : agents) {
      if (swarm_.is_mine(a)) mine.push_back(a);
    }
  }
  detail::MpiTimer t(swarm_.mpi_stats());
  window_ = Window(swarm_.communicator(), std::max(initial_capacity, kHeader + 64));
  std::memset(window_.local(), 0, kHeader);
  swarm_.communicator().barrier();  // headers are zero before anyone reads them
}

Blackboard::~Blackboard() = default;

void Blackboard::append(const std::vector<char>& encoded, std::uint64_t count) {
  const Communicator comm = swarm_.communicator();
  std::uint64_t header[2];
  std::memcpy(header, window_.local(), kHeader);
  const std::uint64_t max_need =
      detail::allreduce_max(swarm_, kHeader + header[0] + encoded.size());
  if (max_need > window_.size()) {
    detail::MpiTimer t(swarm_.mpi_stats());
    // Every rank sees the same max_need, so all grow here together (MPI_Win_allocate and
    // MPI_Win_free are collective).
    Window bigger(comm, std::max<std::size_t>(2 * window_.size(), 2 * max_need));
    std::memcpy(bigger.local(), window_.local(), kHeader + header[0]);
    window_ = std::move(bigger);
    ++grows_;
  }
  if (!encoded.empty()) {
    WriteEpoch w(window_, comm.rank());
    std::memcpy(window_.local() + kHeader + header[0], encoded.data(), encoded.size());
    header[0] += encoded.size();
    header[1] += count;
    std::memcpy(window_.local(), header, kHeader);
  }
  // This step's writes are complete before anyone reads the board again.
  detail::Progress progress(swarm_);
  MPI_Request request = MPI_REQUEST_NULL;
  progress.mpi([&] { check(MPI_Ibarrier(comm.mpi_communicator(), &request), "MPI_Ibarrier"); });
  progress.wait(request);
}

BoardState Blackboard::read() const {
  const Communicator comm = swarm_.communicator();
  const int ranks = comm.size();
  std::vector<std::uint64_t> headers(2 * static_cast<std::size_t>(ranks));
  std::vector<std::vector<char>> data(static_cast<std::size_t>(ranks));
  {
    // Two rounds: every header, then every rank's entries, each round completed by one flush.
    detail::MpiTimer t(swarm_.mpi_stats());
    ReadEpoch epoch(window_);
    for (int r = 0; r < ranks; ++r) {
      window_.get(r, 0, &headers[2 * static_cast<std::size_t>(r)], kHeader);
    }
    window_.flush_all();
    for (int r = 0; r < ranks; ++r) {
      auto& buf = data[static_cast<std::size_t>(r)];
      buf.resize(headers[2 * static_cast<std::size_t>(r)]);
      window_.get(r, kHeader, buf.data(), buf.size());
    }
    window_.flush_all();
  }
  std::vector<BoardEntry> entries;
  for (const auto& buf : data) {
    auto mine = detail::decode_all<BoardEntry>(buf.data(), buf.size());
    entries.insert(entries.end(), std::make_move_iterator(mine.begin()),
                   std::make_move_iterator(mine.end()));
  }
  std::sort(entries.begin(), entries.end(), board_order);
  return BoardState(sections_, std::move(entries), round_);
}

void Blackboard::seed(const std::vector<std::pair<std::string, std::string>>& section_texts) {
  detail::ByteWriter w;
  std::uint64_t count = 0;
  if (swarm_.communicator().is_root()) {
    for (const auto& [section, text] : section_texts) {
      const auto it = std::find(sections_.begin(), sections_.end(), section);
      if (it == sections_.end()) {
        throw std::invalid_argument(fmt::format("initial entry for unknown section '{}'", section));
      }
      detail::put(w, BoardEntry{text, static_cast<std::uint32_t>(it - sections_.begin()), 0, -1,
                                static_cast<std::uint32_t>(count++)});
    }
  }
  append(w.bytes(), count);
}

void Blackboard::restore(const std::vector<BoardEntry>& entries, int rounds,
                         std::uint64_t failed) {
  std::vector<char> bytes;
  if (swarm_.communicator().is_root()) {
    detail::ByteWriter w;
    w.put<std::uint64_t>(static_cast<std::uint64_t>(rounds));
    w.put<std::uint64_t>(failed);
    w.put<std::uint64_t>(entries.size());
    for (const auto& e : entries) detail::put(w, e);
    bytes = std::move(w.bytes());
  }
  detail::broadcast_from_root(swarm_, bytes);
  detail::ByteReader in(bytes);
  round_ = static_cast<int>(in.get<std::uint64_t>());
  failed_ += in.get<std::uint64_t>();
  const auto count = in.get<std::uint64_t>();
  detail::ByteWriter mine;
  std::uint64_t kept = 0;
  for (std::uint64_t k = 0; k < count; ++k) {
    BoardEntry e;
    detail::get(in, e);
    if (e.agent < 0 || static_cast<std::size_t>(e.agent) >= swarm_.size()) {
      throw std::invalid_argument("Blackboard::restore: an entry of no agent of the board");
    }
    if (!swarm_.is_mine(static_cast<std::size_t>(e.agent))) continue;
    detail::put(mine, e);
    ++kept;
  }
  ok_ += count;
  restored_ = round_ > 0;
  append(mine.bytes(), kept);
}

void Blackboard::step(std::size_t s, const StepFn& on_step) {
  if (section_agents_[s].empty()) return;  // the seed skips sections nobody writes to
  const Communicator comm = swarm_.communicator();
  const auto this_round = static_cast<std::uint32_t>(round_ + 1);

  // Rank 0 alone reads the board and builds the prompt: one RMA reader per step rather than
  // one per rank (64 ranks each reading a 10,000-entry board cost seconds per step). The
  // broadcast also orders the step: no rank appends before rank 0 has finished reading.
  std::string prompt = decided_on_root(
      swarm_, [&] { return prompt_fn_(sections_[s], read()); }, "prompt function");

  std::vector<Response> local;
  if (!local_agents_[s].empty()) local = swarm_.ask(local_agents_[s], prompt);
  detail::ByteWriter w;
  std::vector<std::uint64_t> counts = {0, 0};  // ok, failed
  for (const auto& r : local) {
    if (!r.success) {
      ++counts[1];
      continue;
    }
    ++counts[0];
    detail::put(w, BoardEntry{r.text, static_cast<std::uint32_t>(s), this_round, r.agent_index, 0});
  }
  append(w.bytes(), counts[0]);
  detail::allreduce_sum(swarm_, counts);
  ok_ += counts[0];
  failed_ += counts[1];
  if (on_step) {
    auto all = detail::gather_responses(swarm_, local);
    if (comm.is_root()) {
      std::sort(all.begin(), all.end(),
                [](const Response& a, const Response& b) { return a.agent_index < b.agent_index; });
      on_step(
          BoardStep{static_cast<int>(this_round), sections_[s], std::move(prompt), std::move(all)});
    }
  }
}

bool Blackboard::converged(const ConvergenceFn& convergence) {
  return !decided_on_root(
              swarm_, [&] { return convergence(read()) ? std::string("stop") : std::string(); },
              "convergence function")
              .empty();
}

BoardState Blackboard::run(int max_rounds, const ConvergenceFn& convergence,
                           const StepFn& on_step) {
  stop_reason_ = StopReason::max_rounds;
  if (std::exchange(restored_, false) && convergence) {
    // Restored rounds: the run they came from may have stopped after the last of them.
    if (converged(convergence)) {
      stop_reason_ = StopReason::converged;
      return read();
    }
  }
  for (int i = 0; i < max_rounds; ++i) {
    for (std::size_t s = 0; s < sections_.size(); ++s) step(s, on_step);
    ++round_;
    if (!convergence) continue;
    if (converged(convergence)) {
      stop_reason_ = StopReason::converged;
      break;
    }
  }
  return read();
}

}  // namespace swarm::mpi
