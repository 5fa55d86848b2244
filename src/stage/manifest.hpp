// SPDX-License-Identifier: BSD-3-Clause
#pragma once
// What aswarm-stage copies: the tree under the source directory as a flat list (directories
// before what they contain), encoded to bytes so rank 0 can broadcast it once.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace swarm::stage {

struct Entry {
  enum class Kind : char { directory = 'd', file = 'f', symlink = 'l' };
  Kind kind = Kind::file;
  std::string path;        ///< relative to the source root, '/'-separated
  std::uint64_t size = 0;  ///< bytes, for files
  std::uint32_t perms = 0; ///< std::filesystem::perms bits
  std::string target;      ///< for symlinks: the link text, copied as is (the HF cache's links are relative)
};

/// Every directory, regular file and symlink under `root` (symlinks are not followed), sorted so
/// that a directory precedes its contents. Throws std::filesystem::filesystem_error, or
/// std::runtime_error for a file of another kind (socket, device).
std::vector<Entry> scan(const std::filesystem::path& root);

/// A byte string for MPI and back; decode throws std::runtime_error on truncated input.
std::string encode(const std::vector<Entry>& entries);
std::vector<Entry> decode(const std::string& bytes);

}  // namespace swarm::stage
