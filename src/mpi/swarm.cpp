#include "swarm/mpi/swarm.hpp"

#include <algorithm>
#include <numeric>
#include <random>
#include <stdexcept>

#include <fmt/format.h>

#include "progress.hpp"
#include "swarm/mpi/error.hpp"
#include "swarm/hostfile.hpp"
#include "transport.hpp"
#include "wire.hpp"

namespace swarm::mpi {
namespace {

// Rank 0's outcome of reading the hostfile, encoded: u8 ok, then the endpoints, or the error's
// path, line and reason (every rank rebuilds the identical "path:line: reason").
std::vector<Endpoint> share_endpoints(Communicator comm, std::vector<char> message,
                                      MpiStats& stats) {
  detail::Progress progress(stats);
  detail::broadcast_bytes(message, Communicator::kRoot, comm.mpi_communicator(), progress);
  detail::ByteReader in(message);
  if (in.get<std::uint8_t>() == 0) {
    std::string path = in.get_string();
    const auto line = in.get<std::uint64_t>();
    throw HostfileError(std::move(path), line, in.get_string());
  }
  return detail::read<std::vector<Endpoint>>(in);
}

std::vector<char> ok_message(const std::vector<Endpoint>& endpoints) {
  detail::ByteWriter w;
  w.put<std::uint8_t>(1);
  detail::put(w, endpoints);
  return std::move(w.bytes());
}

}  // namespace

Swarm::Shared::Shared(Communicator c, std::vector<Endpoint> endpoints, PoolOptions o)
    : comm(c),
      all(std::move(endpoints)),
      options(std::move(o)),
      block(block_of(static_cast<std::int64_t>(all.size()), c.size(), c.rank())) {}

Swarm::Swarm(std::shared_ptr<Shared> shared, std::vector<std::uint32_t> members)
    : shared_(std::move(shared)),
      comm_(shared_->comm),
      options_(&shared_->options),
      members_(std::move(members)),
      per_rank_(static_cast<std::size_t>(comm_.size()), 0) {
  const auto n = static_cast<std::int64_t>(shared_->all.size());
  const int me = comm_.rank();
  auto local = std::make_shared<std::vector<std::size_t>>();
  for (std::size_t a = 0; a < members_.size(); ++a) {
    const int owner = block_owner(n, comm_.size(), members_[a]);
    ++per_rank_[static_cast<std::size_t>(owner)];
    if (owner == me) local->push_back(a);
  }
  local_ = std::move(local);
}

Swarm Swarm::whole(Communicator comm, std::vector<Endpoint> endpoints, PoolOptions options) {
  auto shared = std::make_shared<Shared>(comm, std::move(endpoints), std::move(options));
  std::vector<std::uint32_t> members(shared->all.size());
  std::iota(members.begin(), members.end(), 0U);
  return Swarm(std::move(shared), std::move(members));
}

Swarm Swarm::from_hostfile(Communicator comm, const std::filesystem::path& hostfile,
                           PoolOptions options) {
  std::vector<char> message;
  if (comm.is_root()) {
    // Any failure on the root must reach the other ranks, which are already waiting in the
    // broadcast: a HostfileError as itself, anything else (bad_alloc...) as the file's error.
    const auto failure = [&](const std::string& path, std::uint64_t line, const std::string& why) {
      detail::ByteWriter w;
      w.put<std::uint8_t>(0);
      w.put_string(path);
      w.put<std::uint64_t>(line);
      w.put_string(why);
      message = std::move(w.bytes());
    };
    try {
      message = ok_message(parse_hostfile(hostfile));
    } catch (const HostfileError& e) {
      failure(e.path(), e.line(), e.reason());
    } catch (const std::exception& e) {
      failure(hostfile.string(), 0, fmt::format("cannot read hostfile: {}", e.what()));
    }
  }
  MpiStats setup;  // the patterns' MPI share starts after construction
  return whole(comm, share_endpoints(comm, std::move(message), setup), std::move(options));
}

Swarm Swarm::from_endpoints(Communicator comm, const std::vector<Endpoint>& endpoints,
                            PoolOptions options) {
  MpiStats setup;
  auto all =
      share_endpoints(comm, comm.is_root() ? ok_message(endpoints) : std::vector<char>{}, setup);
  return whole(comm, std::move(all), std::move(options));
}

void Swarm::check_agent(std::size_t agent) const {
  if (agent >= members_.size()) {
    throw std::out_of_range(fmt::format("agent {} out of range (swarm has {})", agent, size()));
  }
}

std::size_t Swarm::count_on(int rank) const {
  return per_rank_.at(static_cast<std::size_t>(rank));
}

Placement Swarm::placement(std::size_t agent) const {
  check_agent(agent);
  const auto n = static_cast<std::int64_t>(shared_->all.size());
  const std::int64_t h = members_[agent];
  const int rank = block_owner(n, comm_.size(), h);
  return Placement{rank, static_cast<std::size_t>(h - block_of(n, comm_.size(), rank).begin)};
}

Placement Swarm::mine(std::size_t agent) const {
  const Placement p = placement(agent);
  if (p.rank != comm_.rank()) {
    throw std::logic_error(
        fmt::format("agent {} is driven by rank {}, not rank {}", agent, p.rank, comm_.rank()));
  }
  return p;
}

bool Swarm::is_mine(std::size_t agent) const {
  return placement(agent).rank == comm_.rank();
}

std::size_t Swarm::local_index(std::size_t agent) const {
  const auto it = std::lower_bound(local_->begin(), local_->end(), agent);
  if (it == local_->end() || *it != agent) {
    throw std::logic_error(fmt::format("agent {} is not driven by rank {}", agent, comm_.rank()));
  }
  return static_cast<std::size_t>(it - local_->begin());
}

const Endpoint& Swarm::endpoint(std::size_t agent) const {
  check_agent(agent);
  return shared_->all[members_[agent]];
}

std::size_t Swarm::hostfile_index(std::size_t agent) const {
  check_agent(agent);
  return members_[agent];
}

std::vector<std::size_t> Swarm::agents_with_tag(std::string_view key,
                                                std::string_view value) const {
  std::vector<std::size_t> out;
  for (std::size_t a = 0; a < members_.size(); ++a) {
    const auto& tags = shared_->all[members_[a]].tags;
    const auto it = tags.find(key);
    if (it != tags.end() && it->second == value) out.push_back(a);
  }
  return out;
}

AgentPool& Swarm::rank_pool() {
  Shared& s = *shared_;
  if (s.block.count == 0) {
    throw std::logic_error(fmt::format("rank {} drives no agents of this swarm", comm_.rank()));
  }
  if (!s.pool) {
    std::vector<Endpoint> mine(s.all.begin() + s.block.begin,
                               s.all.begin() + s.block.begin + s.block.count);
    s.pool = std::make_unique<AgentPool>(std::move(mine), s.options);
  }
  return *s.pool;
}

void Swarm::share_model() {
  if (options().protocol == Protocol::generate) return;  // the same on every rank
  AgentPool* pool = shared_->block.count > 0 ? &rank_pool() : nullptr;
  const bool known = pool != nullptr && pool->model_known();
  const int mine = known ? comm_.rank() : comm_.size();
  int source = comm_.size();
  MpiStats setup;
  detail::Progress progress(setup);
  MPI_Request request = MPI_REQUEST_NULL;
  check(MPI_Iallreduce(&mine, &source, 1, MPI_INT, MPI_MIN, comm_.mpi_communicator(), &request),
        "MPI_Iallreduce");
  progress.wait(request);
  if (source == comm_.size()) return;  // nobody knows: each keeps its fallback
  detail::ByteWriter w;
  if (comm_.rank() == source) {
    w.put_string(pool->model());
    w.put<std::int64_t>(pool->model_context());
  }
  std::vector<char> message = std::move(w.bytes());
  detail::broadcast_bytes(message, source, comm_.mpi_communicator(), progress);
  detail::ByteReader in(message);
  std::string model = in.get_string();
  const auto context = in.get<std::int64_t>();
  if (pool != nullptr && !known) pool->adopt_model(std::move(model), context);
}

AgentPool* Swarm::existing_rank_pool() const noexcept {
  return shared_->pool.get();
}

AgentPool& Swarm::local_pool() {
  if (local_->empty()) {
    throw std::logic_error(fmt::format("rank {} drives no agents of this swarm", comm_.rank()));
  }
  if (!local_pool_) {
    std::vector<std::size_t> slots;
    slots.reserve(local_->size());
    for (const auto a : *local_) slots.push_back(placement(a).slot);
    local_pool_ = std::make_shared<AgentPool>(rank_pool().select(slots));
  }
  return *local_pool_;
}

// Requests go through the view's own sub-pool of the rank pool (same engine): with
// PoolOptions::failover a request may move to another of the view's local agents, and the
// sub-pool's index of whoever answered maps straight back to the view's numbering.
void Swarm::submit(std::size_t agent, std::string_view prompt, AgentPool::ResponseFn done,
                   CallOptions call) {
  (void)mine(agent);
  local_pool().submit(
      local_index(agent), prompt,
      [local = local_, agent, done = std::move(done)](Response&& r) {
        stamp(*local, agent, r);
        done(std::move(r));
      },
      call);
}

void Swarm::submit_batch(std::size_t agent, std::vector<std::string> prompts,
                         AgentPool::BatchFn done, CallOptions call) {
  (void)mine(agent);
  local_pool().submit_batch(
      local_index(agent), std::move(prompts),
      [local = local_, agent, done = std::move(done)](std::vector<Response>&& rs) {
        for (auto& r : rs) stamp(*local, agent, r);
        done(std::move(rs));
      },
      call);
}

void Swarm::stamp(const std::vector<std::size_t>& local, std::size_t agent, Response& r) {
  // A failure the pool made before any agent answered names none: it is the submitted agent's.
  r.agent_index = static_cast<std::int64_t>(
      r.agent_index >= 0 ? local.at(static_cast<std::size_t>(r.agent_index)) : agent);
}

std::vector<Response> Swarm::ask(std::span<const std::size_t> agents, std::string_view prompt,
                                 CallOptions call) {
  call.may_fail_over = false;  // these agents were asked on purpose: nobody answers for them
  std::vector<Response> out(agents.size());
  std::size_t remaining = agents.size();
  for (std::size_t k = 0; k < agents.size(); ++k) {
    submit(
        agents[k], prompt,
        [&out, &remaining, k](Response&& r) {
          out[k] = std::move(r);
          --remaining;
        },
        call);
  }
  while (remaining > 0) rank_pool().poll(std::chrono::milliseconds(200));
  return out;
}

Swarm Swarm::view(std::vector<std::uint32_t> members) const {
  return Swarm(shared_, std::move(members));
}

Swarm Swarm::by_tag(std::string_view key, std::string_view value) const {
  std::vector<std::uint32_t> members;
  for (const auto a : agents_with_tag(key, value)) members.push_back(members_[a]);
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
    check_agent(a);
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
