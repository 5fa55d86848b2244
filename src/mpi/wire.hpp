#pragma once
// Internal: the one wire codec. Everything that crosses MPI (Responses, Work, endpoints, board
// entries, pipeline tasks, results and outcomes, tree-reduce summaries) is encoded here into flat
// byte buffers, so adding a field to Response is one edit in wire.cpp. Native byte order: all
// ranks of one job run the same binary on the same architecture. Readers never trust a length:
// a truncated or corrupt buffer throws std::logic_error (a bug, not an agent failure).

#include <cstdint>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "messages.hpp"
#include "swarm/endpoint.hpp"
#include "swarm/mpi/board_entry.hpp"
#include "swarm/mpi/work.hpp"
#include "swarm/response.hpp"

namespace swarm::mpi::detail {

class ByteWriter {
 public:
  template <typename T>
  void put(const T& value) {
    static_assert(std::is_trivially_copyable_v<T>);
    // resize + memcpy, not insert(): GCC 12 misreads a 1-byte insert as an overflow.
    const std::size_t at = bytes_.size();
    bytes_.resize(at + sizeof(T));
    std::memcpy(bytes_.data() + at, &value, sizeof(T));
  }
  void put_string(std::string_view s) {
    put<std::uint64_t>(s.size());
    bytes_.insert(bytes_.end(), s.begin(), s.end());
  }
  [[nodiscard]] std::size_t size() const noexcept { return bytes_.size(); }
  std::vector<char>& bytes() noexcept { return bytes_; }

 private:
  std::vector<char> bytes_;
};

class ByteReader {
 public:
  ByteReader(const char* data, std::size_t size) : p_(data), end_(data + size) {}
  explicit ByteReader(const std::vector<char>& bytes) : ByteReader(bytes.data(), bytes.size()) {}
  template <typename T>
  T get() {
    static_assert(std::is_trivially_copyable_v<T>);
    need(sizeof(T));
    T value;
    std::memcpy(&value, p_, sizeof(T));
    p_ += sizeof(T);
    return value;
  }
  std::string get_string() {
    const auto n = get<std::uint64_t>();
    need(n);
    std::string s(p_, n);
    p_ += n;
    return s;
  }
  [[nodiscard]] bool done() const noexcept { return p_ == end_; }

 private:
  void need(std::uint64_t n) const {
    if (static_cast<std::uint64_t>(end_ - p_) < n) {
      throw std::logic_error("swarm::mpi: truncated message buffer");
    }
  }
  const char* p_;
  const char* end_;
};

// One put/get pair per type that crosses MPI.
void put(ByteWriter& w, const Response& r);
void get(ByteReader& in, Response& r);
void put(ByteWriter& w, const Work& item);
void get(ByteReader& in, Work& item);
void put(ByteWriter& w, const Endpoint& e);
void get(ByteReader& in, Endpoint& e);
void put(ByteWriter& w, const BoardEntry& e);
void get(ByteReader& in, BoardEntry& e);
void put(ByteWriter& w, const Outcome& o);
void get(ByteReader& in, Outcome& o);
void put(ByteWriter& w, const FarmTask& t);
void get(ByteReader& in, FarmTask& t);
void put(ByteWriter& w, const FarmResult& r);
void get(ByteReader& in, FarmResult& r);
void put(ByteWriter& w, const Answer& a);
void get(ByteReader& in, Answer& a);
void put(ByteWriter& w, const Returned& r);
void get(ByteReader& in, Returned& r);
void put(ByteWriter& w, const Chunk& c);
void get(ByteReader& in, Chunk& c);

template <typename T>
void put(ByteWriter& w, const std::optional<T>& value) {
  w.put<std::uint8_t>(value ? 1 : 0);
  if (value) put(w, *value);
}
template <typename T>
void get(ByteReader& in, std::optional<T>& value) {
  value.reset();
  if (in.get<std::uint8_t>() != 0) get(in, value.emplace());
}
template <typename T>
void put(ByteWriter& w, const std::vector<T>& values) {
  w.put<std::uint64_t>(values.size());
  for (const auto& v : values) put(w, v);
}
template <typename T>
void get(ByteReader& in, std::vector<T>& values) {
  const auto n = in.get<std::uint64_t>();
  values.clear();
  for (std::uint64_t k = 0; k < n; ++k) get(in, values.emplace_back());
}

/// The value of type T at the reader's position.
template <typename T>
T read(ByteReader& in) {
  T value{};
  get(in, value);
  return value;
}
/// `value` alone in a new buffer.
template <typename T>
std::vector<char> encode(const T& value) {
  ByteWriter w;
  put(w, value);
  return std::move(w.bytes());
}
/// The T that `bytes` holds, all of it (trailing bytes are a bug).
template <typename T>
T decode(const std::vector<char>& bytes) {
  ByteReader in(bytes);
  T value = read<T>(in);
  if (!in.done()) throw std::logic_error("swarm::mpi: trailing bytes in a message");
  return value;
}
/// Every T in `bytes`, laid end to end (no count).
template <typename T>
std::vector<T> decode_all(const char* data, std::size_t size) {
  std::vector<T> out;
  ByteReader in(data, size);
  while (!in.done()) out.push_back(read<T>(in));
  return out;
}

/// The buckets' Work end to end (what rank r receives is buckets[r]), and in `counts` each
/// bucket's size in bytes.
std::vector<char> pack_buckets(const std::vector<std::vector<Work>>& buckets,
                               std::vector<std::size_t>& counts);

}  // namespace swarm::mpi::detail
