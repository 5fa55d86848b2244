#include "dry_run.hpp"

#include <cstdint>
#include <vector>

#include <fmt/format.h>

#include "swarm/mpi/error.hpp"
#include "swarm/mpi/swarm.hpp"

namespace swarm::cli {

void dry_run(const std::string& hostfile, mpi::Communicator comm, std::FILE* out) {
  // from_hostfile raises the same HostfileError on every rank for a bad file.
  auto swarm = mpi::Swarm::from_hostfile(comm, hostfile);
  // The whole swarm's local agents are one contiguous block of the hostfile.
  const auto& mine = swarm.local_agents();
  const std::int64_t mine_pair[2] = {mine.empty() ? 0 : static_cast<std::int64_t>(mine.front()),
                                     static_cast<std::int64_t>(mine.size())};
  std::vector<std::int64_t> blocks(comm.is_root() ? 2 * static_cast<std::size_t>(comm.size()) : 0);
  // Gathered rather than recomputed: the plan printed is what each rank actually holds.
  mpi::check(MPI_Gather(mine_pair, 2, MPI_INT64_T, blocks.data(), 2, MPI_INT64_T,
                        mpi::Communicator::kRoot, comm.mpi_communicator()),
             "MPI_Gather");
  if (!comm.is_root()) return;

  fmt::print(out, "{}: {} endpoints over {} ranks\n", hostfile, swarm.size(), comm.size());
  for (int r = 0; r < comm.size(); ++r) {
    const auto begin = blocks[2 * static_cast<std::size_t>(r)];
    const auto count = blocks[2 * static_cast<std::size_t>(r) + 1];
    if (count == 0) {
      fmt::print(out, "  rank {}: no agents\n", r);
      continue;
    }
    fmt::print(out, "  rank {}: agents {}-{} ({}): {} .. {}\n", r, begin, begin + count - 1, count,
               swarm.endpoint(static_cast<std::size_t>(begin)).url(),
               swarm.endpoint(static_cast<std::size_t>(begin + count - 1)).url());
  }
}

}  // namespace swarm::cli
