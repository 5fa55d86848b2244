#pragma once
// Internal: flat byte buffers for moving Responses and prompts between ranks in one
// MPI_Scatterv / MPI_Gatherv (counts and displacements in bytes). Native byte order: all ranks
// of one job run the same binary on the same architecture.

#include <cstdint>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "swarm/mpi/scatter_gather.hpp"
#include "swarm/response.hpp"

namespace swarm::mpi::detail {

class ByteWriter {
 public:
  template <typename T>
  void put(const T& value) {
    static_assert(std::is_trivially_copyable_v<T>);
    const auto* p = reinterpret_cast<const char*>(&value);
    bytes_.insert(bytes_.end(), p, p + sizeof(T));
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
  template <typename T>
  T get() {
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
  void need(std::size_t n) const {
    if (static_cast<std::size_t>(end_ - p_) < n) {
      throw std::logic_error("swarm::mpi: truncated message buffer");
    }
  }
  const char* p_;
  const char* end_;
};

void put_response(ByteWriter& w, const Response& r);
Response get_response(ByteReader& r);
void put_work(ByteWriter& w, const Work& item);
Work get_work(ByteReader& r);

}  // namespace swarm::mpi::detail
