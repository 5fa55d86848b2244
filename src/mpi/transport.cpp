#include "transport.hpp"

#include <atomic>
#include <climits>
#include <cstdint>
#include <stdexcept>

#include <fmt/format.h>

#include "swarm/mpi/error.hpp"

namespace swarm::mpi::detail {
namespace {

std::atomic<std::size_t> threshold{static_cast<std::size_t>(INT_MAX)};
std::atomic<std::uint64_t> large_transfers{0};

template <typename Bytes>
void broadcast_any(Bytes& data, int root, MPI_Comm comm, Progress& progress) {
  int rank = 0;
  check(MPI_Comm_rank(comm, &rank), "MPI_Comm_rank");
  std::uint64_t size = rank == root ? data.size() : 0;
  MPI_Request request = MPI_REQUEST_NULL;
  progress.mpi(
      [&] { check(MPI_Ibcast(&size, 1, MPI_UINT64_T, root, comm, &request), "MPI_Ibcast"); });
  progress.wait(request);
  if (rank != root) data.resize(size);
  if (size == 0) return;
  progress.mpi([&] {
    if (needs_large_count(size)) {
      check(MPI_Ibcast_c(data.data(), static_cast<MPI_Count>(size), MPI_CHAR, root, comm, &request),
            "MPI_Ibcast_c");
      count_large_transfer();
    } else {
      check(MPI_Ibcast(data.data(), int_count(size), MPI_CHAR, root, comm, &request), "MPI_Ibcast");
    }
  });
  progress.wait(request);
  if (rank == root) {
    progress.stats().bytes_sent += size;
  } else {
    progress.stats().bytes_received += size;
  }
}

}  // namespace

std::size_t large_count_threshold() noexcept {
  return threshold.load(std::memory_order_relaxed);
}

void set_large_count_threshold(std::size_t bytes) noexcept {
  threshold.store(std::min<std::size_t>(bytes, INT_MAX), std::memory_order_relaxed);
}

std::uint64_t large_count_transfers() noexcept {
  return large_transfers.load(std::memory_order_relaxed);
}

void count_large_transfer() noexcept {
  large_transfers.fetch_add(1, std::memory_order_relaxed);
}

bool needs_large_count(std::size_t bytes) noexcept {
  return bytes > large_count_threshold();
}

int int_count(std::size_t bytes) {
  if (bytes > static_cast<std::size_t>(INT_MAX)) {
    throw std::logic_error(fmt::format("swarm::mpi: {} bytes passed to an int-count call", bytes));
  }
  return static_cast<int>(bytes);
}

#if MPI_VERSION >= 4

void ibcast_large(void* data, std::size_t n, int root, MPI_Comm comm, MPI_Request* request) {
  check(MPI_Ibcast_c(data, static_cast<MPI_Count>(n), MPI_CHAR, root, comm, request),
        "MPI_Ibcast_c");
  count_large_transfer();
}

void isend_large(const void* data, std::size_t n, int dest, int tag, MPI_Comm comm,
                 MPI_Request* request) {
  check(MPI_Isend_c(data, static_cast<MPI_Count>(n), MPI_CHAR, dest, tag, comm, request),
        "MPI_Isend_c");
  count_large_transfer();
}

void mrecv_large(void* data, std::size_t n, MPI_Message* message) {
  check(MPI_Mrecv_c(data, static_cast<MPI_Count>(n), MPI_CHAR, message, MPI_STATUS_IGNORE),
        "MPI_Mrecv_c");
  count_large_transfer();
}

void iscatterv_large(const void* send, const MPI_Count* counts, const MPI_Aint* displs, void* recv,
                     std::size_t n, int root, MPI_Comm comm, MPI_Request* request) {
  check(MPI_Iscatterv_c(send, counts, displs, MPI_CHAR, recv, static_cast<MPI_Count>(n), MPI_CHAR,
                        root, comm, request),
        "MPI_Iscatterv_c");
  count_large_transfer();
}

void igatherv_large(const void* send, std::size_t n, void* recv, const MPI_Count* counts,
                    const MPI_Aint* displs, int root, MPI_Comm comm, MPI_Request* request) {
  check(MPI_Igatherv_c(send, static_cast<MPI_Count>(n), MPI_CHAR, recv, counts, displs, MPI_CHAR,
                       root, comm, request),
        "MPI_Igatherv_c");
  count_large_transfer();
}

std::size_t message_bytes(const MPI_Status& status) {
  MPI_Count count = 0;
  check(MPI_Get_count_c(&status, MPI_CHAR, &count), "MPI_Get_count_c");
  return static_cast<std::size_t>(count);
}

#else  // an MPI-3 library: no large-count calls

namespace {
[[noreturn]] void no_large_count() {
  throw std::length_error(
      "swarm::mpi: a payload past 2 GiB needs an MPI-4 library (large-count calls); use a "
      "smaller window");
}
}  // namespace

void ibcast_large(void*, std::size_t, int, MPI_Comm, MPI_Request*) {
  no_large_count();
}
void isend_large(const void*, std::size_t, int, int, MPI_Comm, MPI_Request*) {
  no_large_count();
}
void mrecv_large(void*, std::size_t, MPI_Message*) {
  no_large_count();
}
void iscatterv_large(const void*, const MPI_Count*, const MPI_Aint*, void*, std::size_t, int,
                     MPI_Comm, MPI_Request*) {
  no_large_count();
}
void igatherv_large(const void*, std::size_t, void*, const MPI_Count*, const MPI_Aint*, int,
                    MPI_Comm, MPI_Request*) {
  no_large_count();
}
std::size_t message_bytes(const MPI_Status& status) {
  int count = 0;
  check(MPI_Get_count(&status, MPI_CHAR, &count), "MPI_Get_count");
  return static_cast<std::size_t>(count);
}

#endif

void broadcast_bytes(std::string& data, int root, MPI_Comm comm, Progress& progress) {
  broadcast_any(data, root, comm, progress);
}

void broadcast_bytes(std::vector<char>& data, int root, MPI_Comm comm, Progress& progress) {
  broadcast_any(data, root, comm, progress);
}

void SendQueue::send(std::vector<char> bytes, int dest, int tag) {
  Entry& e = queue_.emplace_back();
  e.bytes = std::move(bytes);
  const std::size_t n = e.bytes.size();
  progress_.mpi([&] {
    if (needs_large_count(n)) {
      isend_large(e.bytes.data(), n, dest, tag, comm_, &e.request);
    } else {
      check(MPI_Isend(e.bytes.data(), int_count(n), MPI_CHAR, dest, tag, comm_, &e.request),
            "MPI_Isend");
    }
  });
  progress_.stats().bytes_sent += n;
}

void SendQueue::progress() {
  for (auto it = queue_.begin(); it != queue_.end();) {
    it = progress_.test(it->request) ? queue_.erase(it) : std::next(it);
  }
}

void SendQueue::finish() {
  for (auto& e : queue_) progress_.wait(e.request);
  queue_.clear();
}

std::optional<Message> try_receive(MPI_Comm comm, int source, int tag, Progress& progress) {
  int found = 0;
  MPI_Message handle = MPI_MESSAGE_NULL;
  MPI_Status status;
  progress.mpi(
      [&] { check(MPI_Improbe(source, tag, comm, &found, &handle, &status), "MPI_Improbe"); });
  if (found == 0) return std::nullopt;
  Message m;
  m.source = status.MPI_SOURCE;
  m.tag = status.MPI_TAG;
  progress.mpi([&] {
    m.bytes.resize(message_bytes(status));
    if (needs_large_count(m.bytes.size())) {
      mrecv_large(m.bytes.data(), m.bytes.size(), &handle);
    } else {
      check(MPI_Mrecv(m.bytes.data(), int_count(m.bytes.size()), MPI_CHAR, &handle,
                      MPI_STATUS_IGNORE),
            "MPI_Mrecv");
    }
  });
  progress.stats().bytes_received += m.bytes.size();
  progress.moved();
  return m;
}

Message receive(MPI_Comm comm, int source, int tag, Progress& progress) {
  for (;;) {
    if (auto m = try_receive(comm, source, tag, progress)) return std::move(*m);
    progress.idle(true);
  }
}

}  // namespace swarm::mpi::detail
