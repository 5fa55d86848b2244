#pragma once
/// @file mpi/blackboard.hpp
/// Blackboard: agents collaborate through a shared board of named sections over rounds
/// (proposers write hypotheses, critics write critiques, ...), with the Python seed's semantics:
/// in each round the sections run in order; the agents whose `role` tag equals the section get
/// one prompt built from the board as it stands (so critics in round r see the hypotheses of
/// round r), and every successful answer is appended. Convergence is checked after each round.
///
/// MPI: each rank keeps the entries its own agents wrote in its own window memory
/// (MPI_Win_allocate). Any rank reads the whole board with passive-target RMA (MPI_Win_lock_all,
/// MPI_Get, flush): no rank serves reads by hand. Before each step rank 0 reads the board, builds
/// the prompt and broadcasts it (one reader per step, not one per rank). Steps are separated by
/// collectives, so a read never sees a half-written step. When a rank's entries would outgrow the
/// window, all ranks grow it together between steps (no silent size limit). The board order is
/// deterministic: (round, section order, agent index in the board's swarm), whatever the ranks or
/// the timing.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "swarm/mpi/board_entry.hpp"
#include "swarm/mpi/swarm.hpp"
#include "swarm/mpi/window.hpp"
#include "swarm/response.hpp"

namespace swarm::mpi {

/// The board as read at one moment: every entry, in board order.
class BoardState {
 public:
  BoardState() = default;
  /// A state of `sections` holding `entries` (in board order) after `round` rounds.
  BoardState(std::vector<std::string> sections, std::vector<BoardEntry> entries, int round);

  /// The section names, in step order.
  [[nodiscard]] const std::vector<std::string>& sections() const noexcept { return sections_; }
  /// Every entry, in board order (round, section, agent).
  [[nodiscard]] const std::vector<BoardEntry>& entries() const noexcept { return entries_; }
  /// Completed rounds when this state was read.
  [[nodiscard]] int round() const noexcept { return round_; }
  /// Index of `section`, or -1.
  [[nodiscard]] int section_index(std::string_view section) const noexcept;
  /// The texts of one section in board order (empty for an unknown section).
  [[nodiscard]] std::vector<std::string> texts(std::string_view section) const;
  /// The entries of one section written in round `round`.
  [[nodiscard]] std::vector<const BoardEntry*> written_in(std::string_view section,
                                                          int round) const;
  /// {"round": n, "board": {section: [texts...]}} — the seed's snapshot().
  [[nodiscard]] nlohmann::json snapshot() const;

 private:
  std::vector<std::string> sections_;
  std::vector<BoardEntry> entries_;
  int round_ = 0;
};

/// Builds the prompt for the agents of `section` from the board as it stands. Called on rank 0
/// only; the prompt is broadcast. If it throws, run() throws on every rank (rank 0 rethrows the
/// exception, the others throw std::runtime_error with its message) and no agent is asked.
using PromptFn = std::function<std::string(const std::string& section, const BoardState& board)>;
/// Decides after a round whether to stop. Evaluated on rank 0 only; the decision is broadcast,
/// so every rank stops at the same round. If it throws, run() throws on every rank, as for
/// PromptFn.
using ConvergenceFn = std::function<bool(const BoardState& board)>;

/// What happened in one section step (on rank 0).
struct BoardStep {
  /// The round this step belongs to (1-based).
  int round = 0;
  /// The section whose agents answered.
  std::string section;
  /// The prompt every agent of the section got.
  std::string prompt;
  std::vector<Response>
      responses;  ///< One per agent of the section, by agent_index (the board swarm's index).
};
/// Observes each step on rank 0 (e.g. to write a log). Gathering the responses costs an
/// MPI_Gatherv per step, so it only happens when an observer is given.
using StepFn = std::function<void(BoardStep&&)>;

/// Why run() stopped.
enum class StopReason : std::uint8_t { converged, max_rounds };

/// Collective owner of one board: its window memory, the rounds run so far and their counts.
class Blackboard {
 public:
  /// Collective over the swarm's communicator. `initial_capacity`: bytes of window memory per
  /// rank to start with (grown collectively when needed).
  Blackboard(Swarm& swarm, std::vector<std::string> sections, PromptFn prompt_fn,
             std::size_t initial_capacity = std::size_t{1} << 16);
  ~Blackboard();
  Blackboard(const Blackboard&) = delete;
  Blackboard& operator=(const Blackboard&) = delete;

  /// Collective. Adds entries written before round 1 (round 0, no agent); significant on rank 0.
  void seed(const std::vector<std::pair<std::string, std::string>>& section_texts);

  /// Collective. Puts back what a killed run completed (resume): `entries` (significant on rank
  /// 0) are every agent entry of its rounds 1..`rounds`, in any order; each goes to the rank of
  /// its agent, so the board is the one the run had (board order does not depend on who holds
  /// an entry). Afterwards round() is `rounds` and run() continues with round `rounds` + 1;
  /// `failed` (rank 0) is added to answers_failed(). Call after seed(), before run().
  void restore(const std::vector<BoardEntry>& entries, int rounds, std::uint64_t failed);

  /// Collective. Runs rounds until `max_rounds` or convergence; returns the final board on every
  /// rank. After restore(), `max_rounds` are the rounds still to run, and convergence is first
  /// checked on the restored board (the run it came from may have stopped there).
  BoardState run(int max_rounds, const ConvergenceFn& convergence = {}, const StepFn& on_step = {});

  /// Completed rounds.
  [[nodiscard]] int round() const noexcept { return round_; }
  /// Why the last run() stopped.
  [[nodiscard]] StopReason stop_reason() const noexcept { return stop_reason_; }
  /// Local: reads the whole board through RMA (call between steps, e.g. after run()).
  [[nodiscard]] BoardState read() const;
  /// The seed's snapshot() of read().
  [[nodiscard]] nlohmann::json snapshot() const { return read().snapshot(); }
  /// Successful and failed answers over all steps so far (every rank).
  [[nodiscard]] std::uint64_t answers_ok() const noexcept { return ok_; }
  /// Failed answers over all steps so far (every rank).
  [[nodiscard]] std::uint64_t answers_failed() const noexcept { return failed_; }
  /// Window memory per rank now (bytes), and how often it grew.
  [[nodiscard]] std::size_t capacity() const noexcept { return window_.size(); }
  /// How often the window memory was grown.
  [[nodiscard]] int grow_count() const noexcept { return grows_; }

 private:
  void step(std::size_t section, const StepFn& on_step);
  /// Collective: rank 0's `convergence` on the board as it stands, on every rank.
  bool converged(const ConvergenceFn& convergence);
  /// Collective: appends this rank's encoded entries, growing the window first if any rank needs.
  void append(const std::vector<char>& encoded, std::uint64_t count);

  Swarm& swarm_;
  std::vector<std::string> sections_;
  PromptFn prompt_fn_;
  std::vector<std::vector<std::size_t>> section_agents_;  ///< Per section: its agents.
  std::vector<std::vector<std::size_t>> local_agents_;    ///< Per section: this rank's.
  Window window_;
  int round_ = 0;
  StopReason stop_reason_ = StopReason::max_rounds;
  std::uint64_t ok_ = 0;
  std::uint64_t failed_ = 0;
  bool restored_ = false;  // restore() ran; run() has not yet checked convergence
  int grows_ = 0;
};

}  // namespace swarm::mpi
