// SPDX-License-Identifier: BSD-3-Clause
#include "stage.hpp"

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdint>
#include <fstream>
#include <stdexcept>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "manifest.hpp"
#include "swarm/mpi/error.hpp"

namespace swarm::stage {
namespace fs = std::filesystem;
using swarm::mpi::check;

std::string node_dir(const std::string& dest, int node) {
  std::string out = dest;
  const std::string key = "{node}";
  for (std::size_t at = out.find(key); at != std::string::npos; at = out.find(key, at)) {
    out.replace(at, key.size(), std::to_string(node));
  }
  return out;
}

namespace {

/// Owns a communicator made by a split (MPI_COMM_NULL for ranks left out).
class OwnedComm {
 public:
  OwnedComm() = default;
  OwnedComm(const OwnedComm&) = delete;
  OwnedComm& operator=(const OwnedComm&) = delete;
  ~OwnedComm() {
    if (comm_ != MPI_COMM_NULL) {
      MPI_Comm_free(&comm_);
    }
  }
  MPI_Comm* out() { return &comm_; }
  [[nodiscard]] MPI_Comm get() const { return comm_; }

 private:
  MPI_Comm comm_ = MPI_COMM_NULL;
};

int rank_of(MPI_Comm comm) {
  int r = 0;
  check(MPI_Comm_rank(comm, &r), "MPI_Comm_rank");
  return r;
}

/// Root: `text` goes out; everyone else: it comes in. A negative length carries an error.
void bcast_string(std::string& text, std::int64_t& status, MPI_Comm comm) {
  std::int64_t n[2] = {status, static_cast<std::int64_t>(text.size())};
  check(MPI_Bcast(n, 2, MPI_INT64_T, 0, comm), "MPI_Bcast");
  status = n[0];
  text.resize(static_cast<std::size_t>(n[1]));
  check(MPI_Bcast(text.data(), static_cast<int>(n[1]), MPI_CHAR, 0, comm), "MPI_Bcast");
}

/// One node's writer: the first local error is kept, later writes are skipped, and the
/// broadcasts go on (the other nodes still need every chunk).
struct Writer {
  fs::path root;
  std::string error;
  std::uint64_t files = 0;
  std::uint64_t bytes = 0;

  void fail(const std::string& what) {
    if (error.empty()) {
      error = what;
    }
  }
};

void create_entry(Writer& w, const Entry& e) {
  if (!w.error.empty()) {
    return;
  }
  std::error_code ec;
  const fs::path to = w.root / e.path;
  if (e.kind == Entry::Kind::directory) {
    fs::create_directories(to, ec);
  } else if (e.kind == Entry::Kind::symlink) {
    fs::remove(to, ec);  // a second staging into the same directory replaces its links
    fs::create_symlink(e.target, to, ec);
  }
  if (ec) {
    w.fail(fmt::format("{}: {}", to.string(), ec.message()));
  }
}

/// Streams one file: the root reads a chunk and broadcasts its length (-1: read failed) and its
/// bytes; every writer appends them to "<file>.part", renamed once complete.
std::string copy_file(Writer& w, const Entry& e, bool root, const fs::path& source,
                      std::vector<char>& buffer, MPI_Comm leaders) {
  std::ifstream in;
  if (root) {
    in.open(source / e.path, std::ios::binary);
  }
  const fs::path to = w.root / e.path;
  const fs::path part = fs::path(to).concat(".part");
  std::ofstream out;
  if (w.error.empty()) {
    out.open(part, std::ios::binary | std::ios::trunc);
    if (!out) {
      w.fail(part.string() + ": cannot create");
    }
  }
  std::uint64_t left = e.size;
  do {  // at least one round, so an empty file is created too
    std::int64_t n = static_cast<std::int64_t>(std::min<std::uint64_t>(left, buffer.size()));
    if (root && !in.read(buffer.data(), n)) {
      n = -1;
    }
    check(MPI_Bcast(&n, 1, MPI_INT64_T, 0, leaders), "MPI_Bcast");
    if (n < 0) {
      return fmt::format("{}: read failed on rank 0 (changed while staging?)",
                         (source / e.path).string());
    }
    check(MPI_Bcast(buffer.data(), static_cast<int>(n), MPI_BYTE, 0, leaders), "MPI_Bcast");
    if (w.error.empty() && !out.write(buffer.data(), n)) {
      w.fail(part.string() + ": write failed (node-local disk full?)");
    }
    left -= static_cast<std::uint64_t>(n);
  } while (left > 0);
  if (w.error.empty()) {
    out.close();
    std::error_code ec;
    fs::rename(part, to, ec);
    if (!out || ec) {
      w.fail(fmt::format("{}: {}", to.string(), ec ? ec.message() : "close failed"));
    }
    ++w.files;
    w.bytes += e.size;
  }
  return {};
}

void apply_perms(Writer& w, const std::vector<Entry>& entries) {
  // Last, and deepest first: a read-only directory must not stop its own contents' creation.
  for (auto it = entries.rbegin(); it != entries.rend() && w.error.empty(); ++it) {
    if (it->kind == Entry::Kind::symlink) {
      continue;
    }
    std::error_code ec;
    fs::permissions(w.root / it->path, static_cast<fs::perms>(it->perms), ec);
    if (ec) {
      w.fail(fmt::format("{}: {}", (w.root / it->path).string(), ec.message()));
    }
  }
}

/// The node writers' part. Returns a failure of the source (the same on every writer) or "".
std::string run_leaders(const StageOptions& o, MPI_Comm leaders, Writer& w) {
  const bool root = rank_of(leaders) == 0;
  std::string manifest;
  std::int64_t status = 0;
  if (root) {
    try {
      manifest = encode(scan(o.source));
    } catch (const std::exception& e) {
      manifest = e.what();
      status = -1;
    }
  }
  bcast_string(manifest, status, leaders);
  if (status < 0) {
    return manifest;
  }
  const std::vector<Entry> entries = decode(manifest);
  std::error_code ec;
  fs::create_directories(w.root, ec);
  if (ec) {
    w.fail(fmt::format("{}: {}", w.root.string(), ec.message()));
  }
  std::vector<char> buffer(o.chunk_bytes);
  for (const Entry& e : entries) {
    if (e.kind == Entry::Kind::file) {
      std::string source_error = copy_file(w, e, root, o.source, buffer, leaders);
      if (!source_error.empty()) {
        return source_error;
      }
    } else {
      create_entry(w, e);
    }
  }
  apply_perms(w, entries);
  return {};
}

}  // namespace

int stage(const StageOptions& o, MPI_Comm world, std::FILE* log) {
  if (o.chunk_bytes == 0 || o.chunk_bytes > static_cast<std::size_t>(INT_MAX)) {
    throw std::invalid_argument("aswarm-stage: the chunk size must be 1 byte .. 2 GiB");
  }
  const auto start = std::chrono::steady_clock::now();
  const int rank = rank_of(world);
  int size = 0;
  check(MPI_Comm_size(world, &size), "MPI_Comm_size");

  OwnedComm node;
  if (o.simulate_nodes > 0) {
    const int color = static_cast<int>(static_cast<long long>(rank) * o.simulate_nodes / size);
    check(MPI_Comm_split(world, color, rank, node.out()), "MPI_Comm_split");
  } else {
    check(MPI_Comm_split_type(world, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, node.out()),
          "MPI_Comm_split_type");
  }
  const bool leader = rank_of(node.get()) == 0;  // key = world rank: world rank 0 leads node 0
  OwnedComm leaders;
  check(MPI_Comm_split(world, leader ? 0 : MPI_UNDEFINED, rank, leaders.out()), "MPI_Comm_split");

  int failed = 0;
  if (leader) {
    const int index = rank_of(leaders.get());
    Writer w{.root = node_dir(o.dest, index)};
    const std::string source_error = run_leaders(o, leaders.get(), w);
    const double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!source_error.empty()) {
      failed = 1;
      if (index == 0) {
        std::fprintf(log, "aswarm-stage: error: %s\n", source_error.c_str());
      }
    } else if (!w.error.empty()) {
      failed = 1;
      std::fprintf(log, "aswarm-stage: node %d: error: %s\n", index, w.error.c_str());
    } else {
      std::fprintf(log, "aswarm-stage: node %d: %llu files, %llu bytes to %s in %.1f s\n", index,
                   static_cast<unsigned long long>(w.files),
                   static_cast<unsigned long long>(w.bytes), w.root.c_str(), s);
    }
    std::fflush(log);
  }
  check(MPI_Allreduce(MPI_IN_PLACE, &failed, 1, MPI_INT, MPI_MAX, world), "MPI_Allreduce");
  return failed;
}

}  // namespace swarm::stage
