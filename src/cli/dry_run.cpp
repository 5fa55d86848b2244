#include "dry_run.hpp"

#include <cstdint>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>

#include "swarm/hostfile.hpp"
#include "swarm/mpi/error.hpp"
#include "swarm/mpi/shard.hpp"
#include "swarm/mpi/strings.hpp"

namespace swarm::cli {

void dry_run(const std::string& hostfile, mpi::Communicator comm, std::FILE* out) {
  std::vector<Endpoint> endpoints;
  std::string error;
  if (comm.is_root()) {
    try {
      endpoints = parse_hostfile(hostfile);
    } catch (const HostfileError& e) {
      error = e.what();
    }
  }
  // Every rank learns the outcome, so a bad hostfile stops all ranks instead of leaving
  // ranks 1..R-1 waiting in a collective the root never enters.
  mpi::broadcast(error, comm);
  if (!error.empty()) throw std::runtime_error(error);

  std::int64_t n = static_cast<std::int64_t>(endpoints.size());
  mpi::check(MPI_Bcast(&n, 1, MPI_INT64_T, mpi::Communicator::kRoot, comm.mpi_communicator()),
             "MPI_Bcast");
  const auto mine = mpi::block_of(n, comm.size(), comm.rank());
  const std::int64_t mine_pair[2] = {mine.begin, mine.count};
  std::vector<std::int64_t> blocks(comm.is_root() ? 2 * static_cast<std::size_t>(comm.size()) : 0);
  mpi::check(MPI_Gather(mine_pair, 2, MPI_INT64_T, blocks.data(), 2, MPI_INT64_T,
                        mpi::Communicator::kRoot, comm.mpi_communicator()),
             "MPI_Gather");
  if (!comm.is_root()) return;

  fmt::print(out, "{}: {} endpoints over {} ranks\n", hostfile, n, comm.size());
  for (int r = 0; r < comm.size(); ++r) {
    const auto begin = blocks[2 * static_cast<std::size_t>(r)];
    const auto count = blocks[2 * static_cast<std::size_t>(r) + 1];
    if (count == 0) {
      fmt::print(out, "  rank {}: no agents\n", r);
      continue;
    }
    const auto& first = endpoints[static_cast<std::size_t>(begin)];
    const auto& last = endpoints[static_cast<std::size_t>(begin + count - 1)];
    fmt::print(out, "  rank {}: agents {}-{} ({}): {} .. {}\n", r, begin, begin + count - 1, count,
               first.url(), last.url());
  }
}

}  // namespace swarm::cli
