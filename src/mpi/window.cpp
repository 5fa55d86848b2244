#include "swarm/mpi/window.hpp"

#include <algorithm>
#include <climits>
#include <stdexcept>
#include <utility>

#include "swarm/mpi/error.hpp"

namespace swarm::mpi {

namespace {

// MPICH places the ranks' segments of one node back to back in shared memory; with a size that
// is not a multiple of 8, remote reads of the next rank's segment came back shifted (found by
// the blackboard growth test). Whole pages keep every segment aligned.
constexpr std::size_t kPage = 4096;

std::size_t whole_pages(std::size_t bytes) {
  return (bytes + kPage - 1) / kPage * kPage;
}

}  // namespace

Window::Window(Communicator comm, std::size_t bytes)
    : bytes_(whole_pages(std::max<std::size_t>(bytes, 1))) {
  void* base = nullptr;
  check(MPI_Win_allocate(static_cast<MPI_Aint>(bytes_), 1, MPI_INFO_NULL, comm.mpi_communicator(),
                         &base, &win_),
        "MPI_Win_allocate");
  base_ = static_cast<std::byte*>(base);
  check(MPI_Win_set_errhandler(win_, MPI_ERRORS_RETURN), "MPI_Win_set_errhandler");
}

Window::~Window() {
  release();
}

void Window::release() noexcept {
  if (win_ != MPI_WIN_NULL) MPI_Win_free(&win_);  // destructors never throw
  win_ = MPI_WIN_NULL;
  base_ = nullptr;
  bytes_ = 0;
}

Window::Window(Window&& other) noexcept
    : win_(std::exchange(other.win_, MPI_WIN_NULL)),
      base_(std::exchange(other.base_, nullptr)),
      bytes_(std::exchange(other.bytes_, 0)) {}

Window& Window::operator=(Window&& other) noexcept {
  if (this != &other) {
    release();
    win_ = std::exchange(other.win_, MPI_WIN_NULL);
    base_ = std::exchange(other.base_, nullptr);
    bytes_ = std::exchange(other.bytes_, 0);
  }
  return *this;
}

void Window::get(int rank, std::size_t offset, void* out, std::size_t n) const {
  // Large reads go in INT_MAX pieces: MPI_Get's count is an int.
  auto* dst = static_cast<char*>(out);
  while (n > 0) {
    const std::size_t piece = std::min<std::size_t>(n, INT_MAX);
    check(MPI_Get(dst, static_cast<int>(piece), MPI_BYTE, rank, static_cast<MPI_Aint>(offset),
                  static_cast<int>(piece), MPI_BYTE, win_),
          "MPI_Get");
    dst += piece;
    offset += piece;
    n -= piece;
  }
}

void Window::flush_all() const {
  check(MPI_Win_flush_all(win_), "MPI_Win_flush_all");
}

ReadEpoch::ReadEpoch(const Window& window) : win_(window.get()) {
  check(MPI_Win_lock_all(0, win_), "MPI_Win_lock_all");
}

ReadEpoch::~ReadEpoch() {
  MPI_Win_unlock_all(win_);
}

WriteEpoch::WriteEpoch(const Window& window, int self_rank) : win_(window.get()), rank_(self_rank) {
  check(MPI_Win_lock(MPI_LOCK_EXCLUSIVE, rank_, 0, win_), "MPI_Win_lock");
}

WriteEpoch::~WriteEpoch() {
  MPI_Win_unlock(rank_, win_);
}

}  // namespace swarm::mpi
