#pragma once
// --pattern blackboard --resume: the --output log is the checkpoint. It has one line per round
// and section, written (and flushed) as each step ends, with every answer; the board after a
// complete round is the config's initial entries plus every successful answer logged so far.
// So a killed run resumes after its last complete round: the log is cut there (a half-logged
// round is run again) and the board restored (mpi::Blackboard::restore).

#include <cstdint>
#include <string>
#include <vector>

#include "swarm/mpi/board_entry.hpp"

namespace swarm::cli {

struct BoardCheckpoint {
  std::vector<mpi::BoardEntry> entries;  ///< Every successful answer of the complete rounds.
  int rounds = 0;                        ///< Complete rounds in the log.
  std::uint64_t failed = 0;              ///< Failed answers in those rounds.
  std::uint64_t valid_bytes = 0;         ///< Bytes of the log that hold those rounds.
  bool needs_newline = false;            ///< The last of them lacks its '\n'.
};

/// Reads the log `path` of an earlier run (a missing file: nothing done). `sections` are the
/// board's sections and `stepped` which of them have agents (only those log a line per round);
/// `config_hash` is text_hash() of the --config file, which every line carries: a log of
/// another config is an InputError, as is a line that is not a log line. A torn or partial
/// last round is ignored (its rounds are run again).
BoardCheckpoint load_board_log(const std::string& path, const std::vector<std::string>& sections,
                               const std::vector<bool>& stepped, const std::string& config_hash);

}  // namespace swarm::cli
