#include "collectives.hpp"

#include <climits>
#include <stdexcept>

#include <fmt/format.h>

#include "local_runner.hpp"
#include "swarm/mpi/error.hpp"

namespace swarm::mpi::detail {

int checked_count(std::size_t bytes) {
  // Per-rank payloads travel with int counts; a window this large is a configuration problem
  // with a simple remedy, so say it instead of splitting.
  if (bytes > static_cast<std::size_t>(INT_MAX)) {
    throw std::length_error(fmt::format(
        "swarm::mpi: {} bytes for one rank in one window exceeds MPI's int counts; use a "
        "smaller window",
        bytes));
  }
  return static_cast<int>(bytes);
}

std::vector<int> displacements(const std::vector<int>& counts) {
  std::vector<int> displs(counts.size(), 0);
  long long total = 0;
  for (std::size_t r = 0; r < counts.size(); ++r) {
    displs[r] = static_cast<int>(total);
    total += counts[r];
    if (total > INT_MAX) {
      throw std::length_error(
          "swarm::mpi: a window exceeds 2 GiB at the root; use a smaller window");
    }
  }
  return displs;
}

std::vector<char> pack_buckets(const std::vector<std::vector<Work>>& buckets,
                               std::vector<int>& counts) {
  ByteWriter w;
  counts.clear();
  for (const auto& bucket : buckets) {
    const std::size_t before = w.size();
    for (const auto& item : bucket) put_work(w, item);
    counts.push_back(checked_count(w.size() - before));
  }
  return std::move(w.bytes());
}

std::vector<Work> unpack_work(const std::vector<char>& bytes) {
  std::vector<Work> work;
  ByteReader in(bytes.data(), bytes.size());
  while (!in.done()) work.push_back(get_work(in));
  return work;
}

std::vector<Work> scatter_work(Swarm& swarm, const std::vector<std::vector<Work>>& buckets) {
  const Communicator comm = swarm.communicator();
  const bool root = comm.is_root();
  std::vector<char> send;
  std::vector<int> counts;
  if (root) send = pack_buckets(buckets, counts);
  int mine = 0;
  std::vector<char> recv;
  {
    MpiTimer t(swarm.mpi_stats());
    check(MPI_Scatter(counts.data(), 1, MPI_INT, &mine, 1, MPI_INT, Communicator::kRoot,
                      comm.mpi_communicator()),
          "MPI_Scatter");
    recv.resize(static_cast<std::size_t>(mine));
    const auto displs = root ? displacements(counts) : std::vector<int>{};
    check(MPI_Scatterv(send.data(), counts.data(), displs.data(), MPI_CHAR, recv.data(), mine,
                       MPI_CHAR, Communicator::kRoot, comm.mpi_communicator()),
          "MPI_Scatterv");
  }
  swarm.mpi_stats().bytes_sent += root ? send.size() : 0;
  swarm.mpi_stats().bytes_received += recv.size();
  return unpack_work(recv);
}

std::vector<char> gather_bytes(Swarm& swarm, const std::vector<char>& mine_bytes,
                               std::vector<int>& counts) {
  const Communicator comm = swarm.communicator();
  const bool root = comm.is_root();
  const int mine = checked_count(mine_bytes.size());
  counts.assign(root ? static_cast<std::size_t>(comm.size()) : 0, 0);
  std::vector<char> recv;
  {
    MpiTimer t(swarm.mpi_stats());
    check(MPI_Gather(&mine, 1, MPI_INT, counts.data(), 1, MPI_INT, Communicator::kRoot,
                     comm.mpi_communicator()),
          "MPI_Gather");
    const auto displs = root ? displacements(counts) : std::vector<int>{};
    if (root) recv.resize(static_cast<std::size_t>(displs.back() + counts.back()));
    check(MPI_Gatherv(mine_bytes.data(), mine, MPI_CHAR, recv.data(), counts.data(), displs.data(),
                      MPI_CHAR, Communicator::kRoot, comm.mpi_communicator()),
          "MPI_Gatherv");
  }
  swarm.mpi_stats().bytes_sent += mine_bytes.size();
  if (root) swarm.mpi_stats().bytes_received += recv.size();
  return recv;
}

std::vector<Response> gather_responses(Swarm& swarm, const std::vector<Response>& local) {
  ByteWriter w;
  for (const auto& r : local) put_response(w, r);
  std::vector<int> counts;
  const auto recv = gather_bytes(swarm, w.bytes(), counts);
  std::vector<Response> all;
  ByteReader in(recv.data(), recv.size());
  while (!in.done()) all.push_back(get_response(in));
  return all;
}

void broadcast_response(Swarm& swarm, Response& r, int from) {
  const Communicator comm = swarm.communicator();
  ByteWriter w;
  if (comm.rank() == from) put_response(w, r);
  std::uint64_t size = w.size();
  {
    MpiTimer t(swarm.mpi_stats());
    check(MPI_Bcast(&size, 1, MPI_UINT64_T, from, comm.mpi_communicator()), "MPI_Bcast");
    w.bytes().resize(size);
    check(MPI_Bcast(w.bytes().data(), checked_count(size), MPI_CHAR, from, comm.mpi_communicator()),
          "MPI_Bcast");
  }
  if (comm.rank() != from) {
    ByteReader in(w.bytes().data(), w.bytes().size());
    r = get_response(in);
  }
}

void run_local_each(Swarm& swarm, const std::vector<Work>& work, CallOptions call,
                    std::size_t batch_size, const ResultFn& done) {
  if (work.empty()) return;
  LocalRunner runner(swarm, call, batch_size);
  runner.add(work, done);
  while (!runner.front_done()) runner.step(std::chrono::milliseconds(200));
}

std::vector<Response> run_local(Swarm& swarm, const std::vector<Work>& work, CallOptions call,
                                std::size_t batch_size) {
  std::vector<Response> results(work.size());
  run_local_each(swarm, work, call, batch_size,
                 [&](std::size_t k, Response&& r) { results[k] = std::move(r); });
  return results;
}

}  // namespace swarm::mpi::detail
