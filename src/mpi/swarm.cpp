#include "swarm/mpi/swarm.hpp"

#include <algorithm>
#include <numeric>
#include <random>
#include <sstream>
#include <stdexcept>

#include <fmt/format.h>

#include "swarm/hostfile.hpp"
#include "swarm/mpi/error.hpp"
#include "swarm/mpi/strings.hpp"

namespace swarm::mpi {
namespace {

// Rank 0's outcome of reading the hostfile, as one string: "" + endpoints, or an error.
// The text form of the endpoints (format_hostfile) is what travels: it round-trips exactly.
std::shared_ptr<const std::vector<Endpoint>> share_endpoints(Communicator comm, std::string text,
                                                             std::string error,
                                                             std::uint64_t error_line,
                                                             std::string error_path) {
  broadcast(error, comm);
  if (!error.empty()) {
    check(MPI_Bcast(&error_line, 1, MPI_UINT64_T, Communicator::kRoot, comm.mpi_communicator()),
          "MPI_Bcast");
    broadcast(error_path, comm);
    throw HostfileError(error_path, error_line, error);
  }
  broadcast(text, comm);
  std::istringstream in(text);
  auto all = std::make_shared<std::vector<Endpoint>>(
      text.empty() ? std::vector<Endpoint>{} : parse_hostfile(in, "<broadcast>", [](auto&) {}));
  return all;
}

}  // namespace

Swarm::Swarm(Communicator comm, std::shared_ptr<const std::vector<Endpoint>> all,
             std::vector<std::uint32_t> members, std::shared_ptr<const PoolOptions> options,
             std::shared_ptr<MpiStats> stats)
    : comm_(comm),
      all_(std::move(all)),
      members_(std::move(members)),
      options_(std::move(options)),
      stats_(std::move(stats)),
      block_(block_of(static_cast<std::int64_t>(members_.size()), comm_.size(), comm_.rank())) {}

Swarm Swarm::from_hostfile(Communicator comm, const std::filesystem::path& hostfile,
                           PoolOptions options) {
  std::string text;
  std::string error;
  std::uint64_t line = 0;
  std::string path;
  if (comm.is_root()) {
    try {
      text = format_hostfile(parse_hostfile(hostfile));
    } catch (const HostfileError& e) {
      // Send the parts; every rank rebuilds the identical "path:line: reason".
      error = e.reason();
      line = e.line();
      path = e.path();
    }
  }
  auto all = share_endpoints(comm, std::move(text), std::move(error), line, std::move(path));
  std::vector<std::uint32_t> members(all->size());
  std::iota(members.begin(), members.end(), 0U);
  return Swarm(comm, std::move(all), std::move(members),
               std::make_shared<const PoolOptions>(std::move(options)),
               std::make_shared<MpiStats>());
}

Swarm Swarm::from_endpoints(Communicator comm, const std::vector<Endpoint>& endpoints,
                            PoolOptions options) {
  auto all =
      share_endpoints(comm, comm.is_root() ? format_hostfile(endpoints) : std::string{}, {}, 0, {});
  std::vector<std::uint32_t> members(all->size());
  std::iota(members.begin(), members.end(), 0U);
  return Swarm(comm, std::move(all), std::move(members),
               std::make_shared<const PoolOptions>(std::move(options)),
               std::make_shared<MpiStats>());
}

int Swarm::owner_of(std::size_t agent) const {
  if (agent >= members_.size()) {
    throw std::out_of_range(fmt::format("agent {} out of range (swarm has {})", agent, size()));
  }
  // Inverse of block_of: the first N % R ranks hold base + 1 agents.
  const auto n = static_cast<std::int64_t>(members_.size());
  const std::int64_t ranks = comm_.size();
  const std::int64_t base = n / ranks;
  const std::int64_t extra = n % ranks;
  const auto a = static_cast<std::int64_t>(agent);
  if (a < extra * (base + 1)) return static_cast<int>(a / (base + 1));
  return static_cast<int>(extra + (a - extra * (base + 1)) / base);
}

const Endpoint& Swarm::endpoint(std::size_t agent) const {
  if (agent >= members_.size()) {
    throw std::out_of_range(fmt::format("agent {} out of range (swarm has {})", agent, size()));
  }
  return (*all_)[members_[agent]];
}

std::size_t Swarm::hostfile_index(std::size_t agent) const {
  if (agent >= members_.size()) {
    throw std::out_of_range(fmt::format("agent {} out of range (swarm has {})", agent, size()));
  }
  return members_[agent];
}

AgentPool& Swarm::local_pool() {
  if (block_.count == 0) {
    throw std::logic_error(fmt::format("rank {} drives no agents of this swarm", comm_.rank()));
  }
  if (!pool_) {
    std::vector<Endpoint> mine;
    mine.reserve(static_cast<std::size_t>(block_.count));
    for (std::int64_t k = 0; k < block_.count; ++k) {
      mine.push_back((*all_)[members_[static_cast<std::size_t>(block_.begin + k)]]);
    }
    pool_ = std::make_shared<AgentPool>(std::move(mine), *options_);
  }
  return *pool_;
}

Swarm Swarm::view(std::vector<std::uint32_t> members) const {
  return Swarm(comm_, all_, std::move(members), options_, stats_);
}

Swarm Swarm::by_tag(std::string_view key, std::string_view value) const {
  std::vector<std::uint32_t> members;
  for (const auto m : members_) {
    const auto& tags = (*all_)[m].tags;
    const auto it = tags.find(key);
    if (it != tags.end() && it->second == value) members.push_back(m);
  }
  return view(std::move(members));
}

Swarm Swarm::slice(std::size_t start, std::size_t stop) const {
  start = std::min(start, members_.size());
  stop = std::clamp(stop, start, members_.size());
  return view(
      {members_.begin() + static_cast<long>(start), members_.begin() + static_cast<long>(stop)});
}

Swarm Swarm::select(std::span<const std::size_t> agents) const {
  std::vector<std::uint32_t> members;
  members.reserve(agents.size());
  for (const auto a : agents) {
    if (a >= members_.size()) {
      throw std::out_of_range(fmt::format("agent {} out of range (swarm has {})", a, size()));
    }
    members.push_back(members_[a]);
  }
  return view(std::move(members));
}

Swarm Swarm::sample(std::size_t n, std::uint64_t seed) const {
  // Same algorithm as AgentPool::sample: every rank draws the same agents from the same seed.
  n = std::min(n, members_.size());
  std::vector<std::uint32_t> members = members_;
  std::mt19937_64 rng(seed);
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t j = i + static_cast<std::size_t>(rng() % (members.size() - i));
    std::swap(members[i], members[j]);
  }
  members.resize(n);
  return view(std::move(members));
}

}  // namespace swarm::mpi
