// SPDX-License-Identifier: BSD-3-Clause
#include "manifest.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace swarm::stage {
namespace fs = std::filesystem;

std::vector<Entry> scan(const fs::path& root) {
  if (!fs::is_directory(root)) {
    throw std::runtime_error(root.string() + ": not a directory");
  }
  std::vector<Entry> entries;
  for (const fs::directory_entry& e : fs::recursive_directory_iterator(root)) {
    Entry entry;
    entry.path = e.path().lexically_relative(root).generic_string();
    const fs::file_status st = e.symlink_status();
    entry.perms = static_cast<std::uint32_t>(st.permissions());
    if (fs::is_symlink(st)) {
      entry.kind = Entry::Kind::symlink;
      entry.target = fs::read_symlink(e.path()).string();
    } else if (fs::is_directory(st)) {
      entry.kind = Entry::Kind::directory;
    } else if (fs::is_regular_file(st)) {
      entry.kind = Entry::Kind::file;
      entry.size = e.file_size();
    } else {
      throw std::runtime_error(e.path().string() + ": neither a file, a directory nor a symlink");
    }
    entries.push_back(std::move(entry));
  }
  // Lexical order of the relative paths puts "a" before "a/b": parents are created first.
  std::ranges::sort(entries, {}, &Entry::path);
  return entries;
}

namespace {

template <typename T>
void put(std::string& out, T value) {
  out.append(reinterpret_cast<const char*>(&value), sizeof value);  // same ABI on every rank
}
void put_string(std::string& out, const std::string& s) {
  put(out, static_cast<std::uint64_t>(s.size()));
  out += s;
}

class Reader {
 public:
  explicit Reader(const std::string& bytes) : bytes_(bytes) {}
  [[nodiscard]] bool done() const { return at_ == bytes_.size(); }
  template <typename T>
  T get() {
    T value;
    std::memcpy(&value, take(sizeof value), sizeof value);
    return value;
  }
  std::string get_string() {
    const auto n = get<std::uint64_t>();
    return {take(n), n};
  }

 private:
  const char* take(std::size_t n) {
    if (bytes_.size() - at_ < n) {
      throw std::runtime_error("aswarm-stage: truncated manifest");
    }
    const char* p = bytes_.data() + at_;
    at_ += n;
    return p;
  }
  const std::string& bytes_;
  std::size_t at_ = 0;
};

}  // namespace

std::string encode(const std::vector<Entry>& entries) {
  std::string out;
  for (const Entry& e : entries) {
    put(out, static_cast<char>(e.kind));
    put(out, e.size);
    put(out, e.perms);
    put_string(out, e.path);
    put_string(out, e.target);
  }
  return out;
}

std::vector<Entry> decode(const std::string& bytes) {
  std::vector<Entry> entries;
  Reader in(bytes);
  while (!in.done()) {
    Entry e;
    e.kind = static_cast<Entry::Kind>(in.get<char>());
    e.size = in.get<std::uint64_t>();
    e.perms = in.get<std::uint32_t>();
    e.path = in.get_string();
    e.target = in.get_string();
    entries.push_back(std::move(e));
  }
  return entries;
}

}  // namespace swarm::stage
