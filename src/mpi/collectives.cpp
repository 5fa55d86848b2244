#include "collectives.hpp"

#include "byte_transfer.hpp"
#include "progress.hpp"
#include "swarm/mpi/error.hpp"
#include "swarm/mpi/swarm.hpp"
#include "transport.hpp"
#include "wire.hpp"

namespace swarm::mpi::detail {
namespace {

void complete(TwoStepTransfer& transfer, Progress& progress) {
  while (!transfer.test()) progress.idle(true);
  progress.moved();
}

void allreduce(Swarm& swarm, void* values, int count, MPI_Op op) {
  Progress progress(swarm);
  MPI_Request request = MPI_REQUEST_NULL;
  progress.mpi([&] {
    check(MPI_Iallreduce(MPI_IN_PLACE, values, count, MPI_UINT64_T, op,
                         swarm.communicator().mpi_communicator(), &request),
          "MPI_Iallreduce");
  });
  progress.wait(request);
}

}  // namespace

std::vector<Work> scatter_work(Swarm& swarm, const std::vector<std::vector<Work>>& buckets) {
  Progress progress(swarm);
  std::vector<char> bytes;
  std::vector<std::size_t> sizes;
  if (swarm.communicator().is_root()) bytes = pack_buckets(buckets, sizes);
  ByteScatter scatter(swarm.communicator().mpi_communicator(), progress, std::move(bytes), sizes);
  complete(scatter, progress);
  return decode_all<Work>(scatter.received().data(), scatter.received().size());
}

std::vector<char> gather_bytes(Swarm& swarm, std::vector<char> mine,
                               std::vector<std::int64_t>& sizes) {
  Progress progress(swarm);
  ByteGather gather(swarm.communicator().mpi_communicator(), progress, std::move(mine));
  complete(gather, progress);
  sizes = gather.sizes();
  return std::move(gather.received());
}

std::vector<Response> gather_responses(Swarm& swarm, const std::vector<Response>& local) {
  ByteWriter w;
  for (const auto& r : local) put(w, r);
  std::vector<std::int64_t> sizes;
  const auto all = gather_bytes(swarm, std::move(w.bytes()), sizes);
  return decode_all<Response>(all.data(), all.size());
}

void broadcast_from_root(Swarm& swarm, std::vector<char>& bytes) {
  Progress progress(swarm);
  broadcast_bytes(bytes, Communicator::kRoot, swarm.communicator().mpi_communicator(), progress);
}

void broadcast_from_root(Swarm& swarm, std::string& text) {
  Progress progress(swarm);
  broadcast_bytes(text, Communicator::kRoot, swarm.communicator().mpi_communicator(), progress);
}

void broadcast_response(Swarm& swarm, Response& r, int from) {
  Progress progress(swarm);
  const bool sender = swarm.communicator().rank() == from;
  std::vector<char> bytes = sender ? encode(r) : std::vector<char>{};
  broadcast_bytes(bytes, from, swarm.communicator().mpi_communicator(), progress);
  if (!sender) r = decode<Response>(bytes);
}

void allreduce_sum(Swarm& swarm, std::vector<std::uint64_t>& values) {
  allreduce(swarm, values.data(), int_count(values.size()), MPI_SUM);
}

std::uint64_t allreduce_max(Swarm& swarm, std::uint64_t value) {
  allreduce(swarm, &value, 1, MPI_MAX);
  return value;
}

std::vector<std::vector<std::uint64_t>> allgather_values(Swarm& swarm,
                                                         const std::vector<std::uint64_t>& mine) {
  Progress progress(swarm);
  const MPI_Comm comm = swarm.communicator().mpi_communicator();
  const auto ranks = static_cast<std::size_t>(swarm.communicator().size());
  int count = int_count(mine.size());
  std::vector<int> counts(ranks);
  MPI_Request request = MPI_REQUEST_NULL;
  progress.mpi([&] {
    check(MPI_Iallgather(&count, 1, MPI_INT, counts.data(), 1, MPI_INT, comm, &request),
          "MPI_Iallgather");
  });
  progress.wait(request);
  std::vector<int> displs(ranks);
  std::size_t total = 0;
  for (std::size_t r = 0; r < ranks; ++r) {
    displs[r] = int_count(total);
    total += static_cast<std::size_t>(counts[r]);
  }
  std::vector<std::uint64_t> all(total);
  progress.mpi([&] {
    check(MPI_Iallgatherv(mine.data(), count, MPI_UINT64_T, all.data(), counts.data(),
                          displs.data(), MPI_UINT64_T, comm, &request),
          "MPI_Iallgatherv");
  });
  progress.wait(request);
  std::vector<std::vector<std::uint64_t>> out(ranks);
  for (std::size_t r = 0; r < ranks; ++r) {
    const auto begin = all.begin() + displs[r];
    out[r].assign(begin, begin + counts[r]);
  }
  return out;
}

}  // namespace swarm::mpi::detail
