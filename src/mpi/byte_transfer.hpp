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

/// The root hands rank r its bucket's bytes.
class ByteScatter {
 public:
  /// Root: `bytes` holds the buckets end to end, `counts` their sizes (one per rank). Other
  /// ranks pass nothing. `end` on the root makes every rank see end() instead of bytes.
  ByteScatter(MPI_Comm comm, MpiStats& stats, std::vector<char> bytes = {},
              std::vector<int> counts = {}, bool end = false);
  ByteScatter(const ByteScatter&) = delete;
  ByteScatter& operator=(const ByteScatter&) = delete;

  /// Makes progress; true once this rank holds its bytes (or the end mark).
  bool test();
  /// After test(): the root marked the end of the input.
  [[nodiscard]] bool end() const noexcept { return mine_ < 0; }
  /// After test(): this rank's bucket.
  std::vector<char>& received() noexcept { return recv_; }

 private:
  MPI_Comm comm_;
  MpiStats& stats_;
  std::vector<char> send_;
  std::vector<int> counts_;  // like every argument, untouched until the transfer completes
  std::vector<int> displs_;
  int mine_ = 0;
  std::vector<char> recv_;
  MPI_Request request_ = MPI_REQUEST_NULL;
  bool sizes_known_ = false;
  bool done_ = false;
};

/// Every rank sends its bytes; the root receives them in rank order.
class ByteGather {
 public:
  ByteGather(MPI_Comm comm, MpiStats& stats, std::vector<char> mine);
  ByteGather(const ByteGather&) = delete;
  ByteGather& operator=(const ByteGather&) = delete;

  /// Makes progress; true once this rank's part is done (on the root: everything arrived).
  bool test();
  /// Root, after test(): every rank's bytes in rank order, and how many came from each.
  std::vector<char>& received() noexcept { return recv_; }
  std::vector<int>& counts() noexcept { return counts_; }

 private:
  MPI_Comm comm_;
  MpiStats& stats_;
  bool root_;
  std::vector<char> send_;
  int mine_;
  std::vector<int> counts_;  // like every argument, untouched until the transfer completes
  std::vector<int> displs_;
  std::vector<char> recv_;
  MPI_Request request_ = MPI_REQUEST_NULL;
  bool sizes_known_ = false;
  bool done_ = false;
};

}  // namespace swarm::mpi::detail
