#pragma once
// Internal: non-blocking scatter and gather of byte buffers, progressed by test() from a loop
// that also drives HTTP, so a rank keeps its agents busy while the root collects or hands out
// a window.
//
// Each is two non-blocking collectives: the sizes, then the bytes once the sizes are known. The
// scatter's sizes step hands every rank its size and the root's choice of int or large-count
// call; the gather's is an all-gather, so every rank knows the total and makes the same choice
// (transport.hpp). Every rank posts them in the same order as long as, per communicator, one
// transfer is finished before the next starts; the caller keeps scatters and gathers on two
// communicators of their own. A transfer must not be destroyed while in flight (MPI may still
// write its buffers): an exception that unwinds past one leaves the job to be aborted.

#include <mpi.h>

#include <cstdint>
#include <vector>

#include "progress.hpp"

namespace swarm::mpi::detail {

/// What both transfers share: the two steps and their buffers. Every buffer and argument stays
/// untouched until the transfer completes, as non-blocking collectives require.
class TwoStepTransfer {
 public:
  TwoStepTransfer(const TwoStepTransfer&) = delete;
  TwoStepTransfer& operator=(const TwoStepTransfer&) = delete;

  /// Makes progress; true once this rank's part is done (it holds what it receives).
  bool test();

 protected:
  TwoStepTransfer(MPI_Comm comm, Progress& progress, std::vector<char> send);
  ~TwoStepTransfer() = default;
  /// The sizes are in: posts the bytes step into request_; false when there is none.
  virtual bool post_bytes() = 0;
  /// Counts and displacements of the bytes step, as the call that `large_` picks wants them.
  void layout(const std::vector<std::int64_t>& sizes);

  MPI_Comm comm_;
  Progress& progress_;
  bool root_;
  int ranks_;
  std::vector<char> send_;
  std::vector<char> recv_;
  bool large_ = false;       // the bytes step uses the large-count call (same on every rank)
  std::vector<int> counts_;  // int-count call: per rank (root, or every rank for the gather)
  std::vector<int> displs_;
  std::vector<MPI_Count> counts_c_;  // large-count call
  std::vector<MPI_Aint> displs_c_;
  MPI_Request request_ = MPI_REQUEST_NULL;

 private:
  bool sizes_known_ = false;
  bool done_ = false;
};

/// The root hands rank r its bucket's bytes.
class ByteScatter final : public TwoStepTransfer {
 public:
  /// Root: `bytes` holds the buckets end to end, `sizes` their sizes (one per rank). Other
  /// ranks pass nothing. `end` on the root makes every rank see end() instead of bytes.
  ByteScatter(MPI_Comm comm, Progress& progress, std::vector<char> bytes = {},
              const std::vector<std::size_t>& sizes = {}, bool end = false);

  /// After test(): the root marked the end of the input.
  [[nodiscard]] bool end() const noexcept { return mine_[0] < 0; }
  /// After test(): this rank's bucket.
  std::vector<char>& received() noexcept { return recv_; }

 private:
  bool post_bytes() override;
  std::vector<std::int64_t> header_;  // root: {size, large} per rank
  std::int64_t mine_[2] = {0, 0};     // this rank's {size, large}
};

/// Every rank sends its bytes; the root receives them in rank order.
class ByteGather final : public TwoStepTransfer {
 public:
  ByteGather(MPI_Comm comm, Progress& progress, std::vector<char> mine);

  /// Root, after test(): every rank's bytes in rank order, and how many came from each.
  std::vector<char>& received() noexcept { return recv_; }
  [[nodiscard]] const std::vector<std::int64_t>& sizes() const noexcept { return sizes_; }

 private:
  bool post_bytes() override;
  std::int64_t mine_ = 0;
  std::vector<std::int64_t> sizes_;  // every rank's size (all-gathered)
};

}  // namespace swarm::mpi::detail
