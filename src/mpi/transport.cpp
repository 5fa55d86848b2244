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
      check(MPI_Isend_c(e.bytes.data(), static_cast<MPI_Count>(n), MPI_CHAR, dest, tag, comm_,
                        &e.request),
            "MPI_Isend_c");
      count_large_transfer();
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
    MPI_Count count = 0;
    check(MPI_Get_count_c(&status, MPI_CHAR, &count), "MPI_Get_count_c");
    m.bytes.resize(static_cast<std::size_t>(count));
    if (needs_large_count(m.bytes.size())) {
      check(MPI_Mrecv_c(m.bytes.data(), count, MPI_CHAR, &handle, MPI_STATUS_IGNORE),
            "MPI_Mrecv_c");
      count_large_transfer();
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
