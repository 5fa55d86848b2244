#pragma once
/// @file mpi/window.hpp
/// RAII ownership of an MPI window over memory MPI allocates (MPI_Win_allocate), for
/// passive-target one-sided access.

#include <mpi.h>

#include <cstddef>

#include "swarm/mpi/communicator.hpp"

namespace swarm::mpi {

/// RAII owner of an MPI_Win_allocate window of raw bytes on every rank of a communicator.
class Window {
 public:
  Window() = default;
  /// Collective over `comm`: every rank exposes at least `bytes` bytes (rounded up to whole
  /// pages; displacement unit 1).
  Window(Communicator comm, std::size_t bytes);
  /// Collective: MPI_Win_free. Every rank must destroy its Window at the same point.
  ~Window();
  Window(const Window&) = delete;
  Window& operator=(const Window&) = delete;
  /// Takes over `other`'s window; `other` is left empty.
  Window(Window&& other) noexcept;
  /// Frees this window (MPI_Win_free: collective) and takes over `other`'s.
  Window& operator=(Window&& other) noexcept;

  /// This rank's exposed memory.
  [[nodiscard]] std::byte* local() const noexcept { return base_; }
  /// Bytes this rank exposes.
  [[nodiscard]] std::size_t size() const noexcept { return bytes_; }
  /// The underlying handle, for calling MPI directly.
  [[nodiscard]] MPI_Win get() const noexcept { return win_; }

  /// Local, non-collective: starts copying `n` bytes at `offset` of `rank`'s memory into `out`
  /// (MPI_Get in INT_MAX pieces). Call inside an access epoch (see ReadEpoch); the data is there
  /// after flush_all(), so many gets can share one round of completion.
  void get(int rank, std::size_t offset, void* out, std::size_t n) const;
  /// Completes every get started in the current epoch.
  void flush_all() const;

 private:
  void release() noexcept;
  MPI_Win win_ = MPI_WIN_NULL;
  std::byte* base_ = nullptr;
  std::size_t bytes_ = 0;
};

/// RAII passive-target access epoch to every rank's memory (MPI_Win_lock_all / unlock_all).
/// Local: the targets take no part, which is the point.
class ReadEpoch {
 public:
  /// Opens the epoch on `window` (MPI_Win_lock_all, shared).
  explicit ReadEpoch(const Window& window);
  ~ReadEpoch();
  ReadEpoch(const ReadEpoch&) = delete;
  ReadEpoch& operator=(const ReadEpoch&) = delete;

 private:
  MPI_Win win_;
};

/// RAII exclusive lock of this rank's own window memory while it writes to it, so that the
/// writes are complete and visible to later passive-target reads when the lock is released.
class WriteEpoch {
 public:
  /// Locks this rank's (`self_rank`'s) memory of `window` exclusively.
  WriteEpoch(const Window& window, int self_rank);
  ~WriteEpoch();
  WriteEpoch(const WriteEpoch&) = delete;
  WriteEpoch& operator=(const WriteEpoch&) = delete;

 private:
  MPI_Win win_;
  int rank_;
};

}  // namespace swarm::mpi
