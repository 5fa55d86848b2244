#include "tree_checkpoint.hpp"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iterator>

#include <fmt/format.h>

#include "io/file_handles.hpp"

namespace swarm::cli {

mpi::ReduceCheckpoint TreeCheckpointFile::hooks() {
  mpi::ReduceCheckpoint out;
  out.save = [this](std::span<const char> record) {
    detail::AtomicFile file(path_);
    file.write(key_ + "\n");
    file.write(std::string_view(record.data(), record.size()));
    file.commit();
  };
  out.load = [this]() -> std::vector<char> {
    if (!resume_) return {};
    std::ifstream in(path_, std::ios::binary);
    if (!in) return {};
    std::string key;
    std::getline(in, key);
    if (key != key_) {
      fmt::print(stderr, "aswarm-mpi: warning: ignoring '{}': the checkpoint of another reduction\n",
                 path_);
      return {};
    }
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  };
  return out;
}

void TreeCheckpointFile::remove() const noexcept {
  ::unlink(path_.c_str());
}

}  // namespace swarm::cli
