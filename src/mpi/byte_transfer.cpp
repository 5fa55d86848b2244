#include "byte_transfer.hpp"

#include <numeric>

#include "swarm/mpi/communicator.hpp"
#include "swarm/mpi/error.hpp"
#include "transport.hpp"

namespace swarm::mpi::detail {

TwoStepTransfer::TwoStepTransfer(MPI_Comm comm, Progress& progress, std::vector<char> send)
    : comm_(comm), progress_(progress), send_(std::move(send)) {
  int rank = 0;
  check(MPI_Comm_rank(comm_, &rank), "MPI_Comm_rank");
  check(MPI_Comm_size(comm_, &ranks_), "MPI_Comm_size");
  root_ = rank == Communicator::kRoot;
}

void TwoStepTransfer::layout(const std::vector<std::int64_t>& sizes) {
  const auto n = sizes.size();
  if (large_) {
    counts_c_.resize(n);
    displs_c_.resize(n);
  } else {
    counts_.resize(n);
    displs_.resize(n);
  }
  std::size_t offset = 0;
  for (std::size_t r = 0; r < n; ++r) {
    const auto size = static_cast<std::size_t>(sizes[r]);
    if (large_) {
      counts_c_[r] = static_cast<MPI_Count>(size);
      displs_c_[r] = static_cast<MPI_Aint>(offset);
    } else {
      counts_[r] = int_count(size);
      displs_[r] = int_count(offset);
    }
    offset += size;
  }
}

bool TwoStepTransfer::test() {
  if (done_) return true;
  if (!progress_.test(request_)) return false;
  if (!sizes_known_) {
    sizes_known_ = true;
    if (!progress_.mpi([this] { return post_bytes(); })) return done_ = true;
    if (!progress_.test(request_)) return false;
  }
  progress_.stats().bytes_sent += send_.size();
  progress_.stats().bytes_received += recv_.size();
  send_ = {};
  return done_ = true;
}

ByteScatter::ByteScatter(MPI_Comm comm, Progress& progress, std::vector<char> bytes,
                         const std::vector<std::size_t>& sizes, bool end)
    : TwoStepTransfer(comm, progress, std::move(bytes)) {
  if (root_) {
    const bool large = needs_large_count(send_.size());
    header_.assign(2 * static_cast<std::size_t>(ranks_), 0);
    for (std::size_t r = 0; r < static_cast<std::size_t>(ranks_); ++r) {
      header_[2 * r] = end ? -1 : static_cast<std::int64_t>(r < sizes.size() ? sizes[r] : 0);
      header_[2 * r + 1] = large ? 1 : 0;
    }
  }
  progress_.mpi([&] {
    check(MPI_Iscatter(header_.data(), 2, MPI_INT64_T, mine_, 2, MPI_INT64_T, Communicator::kRoot,
                       comm_, &request_),
          "MPI_Iscatter");
  });
}

bool ByteScatter::post_bytes() {
  if (mine_[0] < 0) return false;  // every rank got the end mark: no bytes follow
  large_ = mine_[1] != 0;
  recv_.resize(static_cast<std::size_t>(mine_[0]));
  if (root_) {
    std::vector<std::int64_t> sizes(static_cast<std::size_t>(ranks_));
    for (std::size_t r = 0; r < sizes.size(); ++r) sizes[r] = header_[2 * r];
    layout(sizes);
  }
  if (large_) {
    iscatterv_large(send_.data(), counts_c_.data(), displs_c_.data(), recv_.data(), recv_.size(),
                    Communicator::kRoot, comm_, &request_);
  } else {
    check(MPI_Iscatterv(send_.data(), counts_.data(), displs_.data(), MPI_CHAR, recv_.data(),
                        int_count(recv_.size()), MPI_CHAR, Communicator::kRoot, comm_, &request_),
          "MPI_Iscatterv");
  }
  return true;
}

ByteGather::ByteGather(MPI_Comm comm, Progress& progress, std::vector<char> mine)
    : TwoStepTransfer(comm, progress, std::move(mine)),
      mine_(static_cast<std::int64_t>(send_.size())),
      sizes_(static_cast<std::size_t>(ranks_), 0) {
  progress_.mpi([&] {
    check(MPI_Iallgather(&mine_, 1, MPI_INT64_T, sizes_.data(), 1, MPI_INT64_T, comm_, &request_),
          "MPI_Iallgather");
  });
}

bool ByteGather::post_bytes() {
  const auto total =
      static_cast<std::size_t>(std::accumulate(sizes_.begin(), sizes_.end(), std::int64_t{0}));
  large_ = needs_large_count(total);
  if (root_) {
    layout(sizes_);
    recv_.resize(total);
  }
  if (large_) {
    igatherv_large(send_.data(), send_.size(), recv_.data(), counts_c_.data(), displs_c_.data(),
                   Communicator::kRoot, comm_, &request_);
  } else {
    check(
        MPI_Igatherv(send_.data(), int_count(send_.size()), MPI_CHAR, recv_.data(), counts_.data(),
                     displs_.data(), MPI_CHAR, Communicator::kRoot, comm_, &request_),
        "MPI_Igatherv");
  }
  return true;
}

}  // namespace swarm::mpi::detail
