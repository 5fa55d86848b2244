#pragma once
// Internal: non-blocking scatter and gather of byte buffers, progressed by test() from a loop
// that also drives HTTP, so a rank keeps its agents busy while the root collects or hands out
// a window.
//
// Each is two non-blocking collectives: the sizes (MPI_Iscatter / MPI_Igather of one int per
// rank), then the bytes (MPI_Iscatterv / MPI_Igatherv) once the sizes are known. Every rank
// posts them in the same order as long as, per communicator, one transfer is finished before
// the next starts; the caller keeps scatters and gathers on two communicators of their own.
// A transfer must not be destroyed while in flight (MPI may still write its buffers): an
// exception that unwinds past one leaves the job to be aborted.

#include <mpi.h>

#include <vector>

#include "swarm/mpi/swarm.hpp"

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
  TwoStepTransfer(MPI_Comm comm, MpiStats& stats, std::vector<char> send);
  ~TwoStepTransfer() = default;
  /// The sizes are in: posts the bytes step into request_; false when there is none.
  virtual bool post_bytes() = 0;

  MPI_Comm comm_;
  MpiStats& stats_;
  bool root_;
  std::vector<char> send_;
  std::vector<int> counts_;  // per rank, significant on the root
  std::vector<int> displs_;
  int mine_ = 0;  // this rank's size
  std::vector<char> recv_;
  MPI_Request request_ = MPI_REQUEST_NULL;

 private:
  bool sizes_known_ = false;
  bool done_ = false;
};

/// The root hands rank r its bucket's bytes.
class ByteScatter final : public TwoStepTransfer {
 public:
  /// Root: `bytes` holds the buckets end to end, `counts` their sizes (one per rank). Other
  /// ranks pass nothing. `end` on the root makes every rank see end() instead of bytes.
  ByteScatter(MPI_Comm comm, MpiStats& stats, std::vector<char> bytes = {},
              std::vector<int> counts = {}, bool end = false);

  /// After test(): the root marked the end of the input.
  [[nodiscard]] bool end() const noexcept { return mine_ < 0; }
  /// After test(): this rank's bucket.
  std::vector<char>& received() noexcept { return recv_; }

 private:
  bool post_bytes() override;
};

/// Every rank sends its bytes; the root receives them in rank order.
class ByteGather final : public TwoStepTransfer {
 public:
  ByteGather(MPI_Comm comm, MpiStats& stats, std::vector<char> mine);

  /// Root, after test(): every rank's bytes in rank order, and how many came from each.
  std::vector<char>& received() noexcept { return recv_; }
  std::vector<int>& counts() noexcept { return counts_; }

 private:
  bool post_bytes() override;
};

}  // namespace swarm::mpi::detail
