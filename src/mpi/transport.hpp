#pragma once
// Internal: moving byte buffers with MPI, counts checked in one place. A payload whose byte
// count fits the int-count calls uses them; a larger one (past 2 GiB) goes through the MPI-4
// large-count calls (MPI_Ibcast_c, MPI_Isend_c, MPI_Mrecv_c, MPI_Iscatterv_c, MPI_Igatherv_c),
// never a truncating cast. Every rank of a collective takes the same branch: the decision is
// made from sizes every rank knows. Waiting goes through Progress (HTTP keeps moving, MPI time
// is counted).

#include <mpi.h>

#include <cstddef>
#include <cstdint>
#include <list>
#include <optional>
#include <string>
#include <vector>

#include "progress.hpp"

namespace swarm::mpi::detail {

/// Byte counts above this go through the large-count calls: INT_MAX, unless a test lowers it
/// to exercise that path with small payloads (every rank must set the same value, outside any
/// transfer).
[[nodiscard]] std::size_t large_count_threshold() noexcept;
void set_large_count_threshold(std::size_t bytes) noexcept;
/// Whether a transfer whose largest count or displacement is `bytes` needs the large-count
/// calls.
[[nodiscard]] bool needs_large_count(std::size_t bytes) noexcept;
/// Transfers this process has made with a large-count call (for tests), and the counter's step.
[[nodiscard]] std::uint64_t large_count_transfers() noexcept;
void count_large_transfer() noexcept;
/// `bytes` as an int count; a std::logic_error if it does not fit (callers check
/// needs_large_count() first, so this is a bug).
[[nodiscard]] int int_count(std::size_t bytes);

// The MPI-4 large-count calls, or, with an MPI-3 library, a std::length_error saying that a
// payload past 2 GiB needs MPI 4 (the int-count calls cover everything below the threshold).
void ibcast_large(void* data, std::size_t n, int root, MPI_Comm comm, MPI_Request* request);
void isend_large(const void* data, std::size_t n, int dest, int tag, MPI_Comm comm,
                 MPI_Request* request);
void mrecv_large(void* data, std::size_t n, MPI_Message* message);
void iscatterv_large(const void* send, const MPI_Count* counts, const MPI_Aint* displs, void* recv,
                     std::size_t n, int root, MPI_Comm comm, MPI_Request* request);
void igatherv_large(const void* send, std::size_t n, void* recv, const MPI_Count* counts,
                    const MPI_Aint* displs, int root, MPI_Comm comm, MPI_Request* request);
/// Bytes in a matched message, whatever their count.
std::size_t message_bytes(const MPI_Status& status);

/// Collective: every rank's `data` becomes `root`'s. The size travels first, so every rank
/// knows it and takes the same call for the bytes.
void broadcast_bytes(std::string& data, int root, MPI_Comm comm, Progress& progress);
void broadcast_bytes(std::vector<char>& data, int root, MPI_Comm comm, Progress& progress);

/// Non-blocking sends whose buffers live until MPI is done with them.
class SendQueue {
 public:
  SendQueue(MPI_Comm comm, Progress& progress) : comm_(comm), progress_(progress) {}
  SendQueue(const SendQueue&) = delete;
  SendQueue& operator=(const SendQueue&) = delete;
  /// Sends still in flight leave the job to be aborted (MPI may still read their buffers).
  ~SendQueue() = default;

  void send(std::vector<char> bytes, int dest, int tag);
  /// Drops the sends that completed.
  void progress();
  /// Waits for every send.
  void finish();
  [[nodiscard]] bool empty() const noexcept { return queue_.empty(); }

 private:
  struct Entry {
    std::vector<char> bytes;
    MPI_Request request = MPI_REQUEST_NULL;
  };
  MPI_Comm comm_;
  Progress& progress_;
  std::list<Entry> queue_;  // a list: MPI holds pointers into each entry's buffer
};

/// One received message. Matched and received as one (MPI_Improbe + MPI_Mrecv), so no other
/// receive of the process can take it in between.
struct Message {
  int source = 0;
  int tag = 0;
  std::vector<char> bytes;
};

/// A message from `source` (or MPI_ANY_SOURCE) with `tag` (or MPI_ANY_TAG) if one has arrived.
std::optional<Message> try_receive(MPI_Comm comm, int source, int tag, Progress& progress);
/// Waits for such a message (Progress::idle between tries).
Message receive(MPI_Comm comm, int source, int tag, Progress& progress);

}  // namespace swarm::mpi::detail
