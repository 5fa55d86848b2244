// SPDX-License-Identifier: BSD-3-Clause
#pragma once
// aswarm-stage's collective copy: world rank 0 reads the source tree from the shared file system
// once and broadcasts it, chunk by chunk, to one rank per node (node rank 0 of
// MPI_Comm_split_type(MPI_COMM_TYPE_SHARED)), which writes it to its node-local directory.
#include <cstddef>
#include <cstdio>
#include <filesystem>
#include <string>

#include <mpi.h>

namespace swarm::stage {

struct StageOptions {
  std::filesystem::path source;      ///< read on world rank 0 only
  std::string dest;                  ///< node-local directory; "{node}" becomes the node index
  std::size_t chunk_bytes = 64 << 20;
  /// 0: nodes are MPI_COMM_TYPE_SHARED. N > 0: N contiguous blocks of ranks play the nodes
  /// (tests on one machine, where every rank shares memory).
  int simulate_nodes = 0;
};

/// `dest` with every "{node}" replaced by `node`.
std::string node_dir(const std::string& dest, int node);

/// Collective over `world`. Returns 0 when every node has the whole tree, 1 otherwise (each
/// failing node's writer reports its reason on `log`); every rank returns the same value.
int stage(const StageOptions& options, MPI_Comm world, std::FILE* log);

}  // namespace swarm::stage
