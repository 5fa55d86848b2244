#pragma once
// --pattern tree-reduce --output FILE: each rank's checkpoint of its local phase
// (mpi::ReduceCheckpoint) in `FILE.tree-<rank>-of-<ranks>`, replaced atomically after every
// level. The first line names the reduction (a hash of the prompts, fanin, items, rank count,
// rank and this rank's agents); a file of another reduction is ignored with a warning, so a
// checkpoint is only ever reused by the run it belongs to. --resume loads them; every run
// removes them once its result is written.

#include <string>

#include "swarm/mpi/tree_reduce.hpp"

namespace swarm::cli {

class TreeCheckpointFile {
 public:
  /// `path`: this rank's file; `key`: what names the reduction (hex).
  TreeCheckpointFile(std::string path, std::string key, bool resume)
      : path_(std::move(path)), key_(std::move(key)), resume_(resume) {}

  /// The hooks for mpi::tree_reduce (they use this object: keep it alive).
  [[nodiscard]] mpi::ReduceCheckpoint hooks();
  /// Removes the file (the run finished).
  void remove() const noexcept;

 private:
  std::string path_;
  std::string key_;
  bool resume_;
};

}  // namespace swarm::cli
