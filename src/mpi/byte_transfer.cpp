#include "byte_transfer.hpp"

#include "collectives.hpp"
#include "swarm/mpi/error.hpp"

namespace swarm::mpi::detail {
namespace {

bool rank_is_root(MPI_Comm comm) {
  int rank = 0;
  check(MPI_Comm_rank(comm, &rank), "MPI_Comm_rank");
  return rank == Communicator::kRoot;
}

std::size_t rank_count(MPI_Comm comm) {
  int size = 0;
  check(MPI_Comm_size(comm, &size), "MPI_Comm_size");
  return static_cast<std::size_t>(size);
}

bool completed(MPI_Request& request, MpiStats& stats) {
  int flag = 0;
  MpiTimer t(stats);
  check(MPI_Test(&request, &flag, MPI_STATUS_IGNORE), "MPI_Test");
  return flag != 0;
}

}  // namespace

TwoStepTransfer::TwoStepTransfer(MPI_Comm comm, MpiStats& stats, std::vector<char> send)
    : comm_(comm), stats_(stats), root_(rank_is_root(comm)), send_(std::move(send)) {}

bool TwoStepTransfer::test() {
  if (done_) return true;
  if (!completed(request_, stats_)) return false;
  if (!sizes_known_) {
    sizes_known_ = true;
    bool posted = false;
    {
      MpiTimer t(stats_);
      posted = post_bytes();
    }
    if (!posted) return done_ = true;
    if (!completed(request_, stats_)) return false;
  }
  stats_.bytes_sent += send_.size();
  stats_.bytes_received += recv_.size();
  send_ = {};
  return done_ = true;
}

ByteScatter::ByteScatter(MPI_Comm comm, MpiStats& stats, std::vector<char> bytes,
                         std::vector<int> counts, bool end)
    : TwoStepTransfer(comm, stats, std::move(bytes)) {
  if (root_) {
    counts_ = std::move(counts);
    counts_.resize(rank_count(comm_), 0);
    if (end) counts_.assign(counts_.size(), -1);
  }
  MpiTimer t(stats_);
  check(MPI_Iscatter(counts_.data(), 1, MPI_INT, &mine_, 1, MPI_INT, Communicator::kRoot, comm_,
                     &request_),
        "MPI_Iscatter");
}

bool ByteScatter::post_bytes() {
  if (mine_ < 0) return false;  // every rank got the end mark: no bytes follow
  recv_.resize(static_cast<std::size_t>(mine_));
  if (root_) displs_ = displacements(counts_);
  check(MPI_Iscatterv(send_.data(), counts_.data(), displs_.data(), MPI_CHAR, recv_.data(), mine_,
                      MPI_CHAR, Communicator::kRoot, comm_, &request_),
        "MPI_Iscatterv");
  return true;
}

ByteGather::ByteGather(MPI_Comm comm, MpiStats& stats, std::vector<char> mine)
    : TwoStepTransfer(comm, stats, std::move(mine)) {
  mine_ = checked_count(send_.size());
  if (root_) counts_.assign(rank_count(comm_), 0);
  MpiTimer t(stats_);
  check(MPI_Igather(&mine_, 1, MPI_INT, counts_.data(), 1, MPI_INT, Communicator::kRoot, comm_,
                    &request_),
        "MPI_Igather");
}

bool ByteGather::post_bytes() {
  if (root_) {
    displs_ = displacements(counts_);
    recv_.resize(static_cast<std::size_t>(displs_.back() + counts_.back()));
  }
  check(MPI_Igatherv(send_.data(), mine_, MPI_CHAR, recv_.data(), counts_.data(), displs_.data(),
                     MPI_CHAR, Communicator::kRoot, comm_, &request_),
        "MPI_Igatherv");
  return true;
}

}  // namespace swarm::mpi::detail
