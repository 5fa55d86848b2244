#include "collectives.hpp"

#include <climits>
#include <stdexcept>

#include <fmt/format.h>

#include "swarm/mpi/error.hpp"

namespace swarm::mpi::detail {
namespace {

int checked_count(std::size_t bytes) {
  // Per-rank payloads travel with int counts; a window this large is a configuration problem
  // with a simple remedy, so say it instead of splitting.
  if (bytes > static_cast<std::size_t>(INT_MAX)) {
    throw std::length_error(fmt::format(
        "swarm::mpi: {} bytes for one rank in one window exceeds MPI's int counts; use a "
        "smaller window",
        bytes));
  }
  return static_cast<int>(bytes);
}

std::vector<int> displacements(const std::vector<int>& counts) {
  std::vector<int> displs(counts.size(), 0);
  long long total = 0;
  for (std::size_t r = 0; r < counts.size(); ++r) {
    displs[r] = static_cast<int>(total);
    total += counts[r];
    if (total > INT_MAX) {
      throw std::length_error(
          "swarm::mpi: a window exceeds 2 GiB at the root; use a smaller window");
    }
  }
  return displs;
}

}  // namespace

std::vector<Work> scatter_work(Swarm& swarm, const std::vector<std::vector<Work>>& buckets) {
  const Communicator comm = swarm.communicator();
  const int ranks = comm.size();
  const bool root = comm.is_root();
  std::vector<char> send;
  std::vector<int> counts(root ? static_cast<std::size_t>(ranks) : 0);
  if (root) {
    ByteWriter w;
    for (int r = 0; r < ranks; ++r) {
      const std::size_t before = w.size();
      for (const auto& item : buckets[static_cast<std::size_t>(r)]) put_work(w, item);
      counts[static_cast<std::size_t>(r)] = checked_count(w.size() - before);
    }
    send = std::move(w.bytes());
  }
  int mine = 0;
  std::vector<char> recv;
  {
    MpiTimer t(swarm.mpi_stats());
    check(MPI_Scatter(counts.data(), 1, MPI_INT, &mine, 1, MPI_INT, Communicator::kRoot,
                      comm.mpi_communicator()),
          "MPI_Scatter");
    recv.resize(static_cast<std::size_t>(mine));
    const auto displs = root ? displacements(counts) : std::vector<int>{};
    check(MPI_Scatterv(send.data(), counts.data(), displs.data(), MPI_CHAR, recv.data(), mine,
                       MPI_CHAR, Communicator::kRoot, comm.mpi_communicator()),
          "MPI_Scatterv");
  }
  swarm.mpi_stats().bytes_sent += root ? send.size() : 0;
  swarm.mpi_stats().bytes_received += recv.size();
  std::vector<Work> work;
  ByteReader in(recv.data(), recv.size());
  while (!in.done()) work.push_back(get_work(in));
  return work;
}

std::vector<char> gather_bytes(Swarm& swarm, const std::vector<char>& mine_bytes,
                               std::vector<int>& counts) {
  const Communicator comm = swarm.communicator();
  const bool root = comm.is_root();
  const int mine = checked_count(mine_bytes.size());
  counts.assign(root ? static_cast<std::size_t>(comm.size()) : 0, 0);
  std::vector<char> recv;
  {
    MpiTimer t(swarm.mpi_stats());
    check(MPI_Gather(&mine, 1, MPI_INT, counts.data(), 1, MPI_INT, Communicator::kRoot,
                     comm.mpi_communicator()),
          "MPI_Gather");
    const auto displs = root ? displacements(counts) : std::vector<int>{};
    if (root) recv.resize(static_cast<std::size_t>(displs.back() + counts.back()));
    check(MPI_Gatherv(mine_bytes.data(), mine, MPI_CHAR, recv.data(), counts.data(), displs.data(),
                      MPI_CHAR, Communicator::kRoot, comm.mpi_communicator()),
          "MPI_Gatherv");
  }
  swarm.mpi_stats().bytes_sent += mine_bytes.size();
  if (root) swarm.mpi_stats().bytes_received += recv.size();
  return recv;
}

std::vector<Response> gather_responses(Swarm& swarm, const std::vector<Response>& local) {
  ByteWriter w;
  for (const auto& r : local) put_response(w, r);
  std::vector<int> counts;
  const auto recv = gather_bytes(swarm, w.bytes(), counts);
  std::vector<Response> all;
  ByteReader in(recv.data(), recv.size());
  while (!in.done()) all.push_back(get_response(in));
  return all;
}

void broadcast_response(Swarm& swarm, Response& r, int from) {
  const Communicator comm = swarm.communicator();
  ByteWriter w;
  if (comm.rank() == from) put_response(w, r);
  std::uint64_t size = w.size();
  {
    MpiTimer t(swarm.mpi_stats());
    check(MPI_Bcast(&size, 1, MPI_UINT64_T, from, comm.mpi_communicator()), "MPI_Bcast");
    w.bytes().resize(size);
    check(MPI_Bcast(w.bytes().data(), checked_count(size), MPI_CHAR, from, comm.mpi_communicator()),
          "MPI_Bcast");
  }
  if (comm.rank() != from) {
    ByteReader in(w.bytes().data(), w.bytes().size());
    r = get_response(in);
  }
}

void run_local_each(Swarm& swarm, const std::vector<Work>& work, CallOptions call,
                    std::size_t batch_size, const ResultFn& done) {
  if (work.empty()) return;
  AgentPool& pool = swarm.local_pool();
  const auto n = static_cast<std::uint64_t>(swarm.size());
  const auto first = static_cast<std::uint64_t>(swarm.shard().begin);

  // A unit is one HTTP request: one prompt, or a list of up to batch_size prompts of one agent
  // (work order kept within an agent).
  std::vector<std::vector<std::size_t>> units;
  if (batch_size > 1) {
    std::vector<std::vector<std::size_t>> by_agent(static_cast<std::size_t>(swarm.shard().count));
    for (std::size_t k = 0; k < work.size(); ++k) {
      by_agent[static_cast<std::size_t>(work[k].index % n - first)].push_back(k);
    }
    for (const auto& ks : by_agent) {
      for (std::size_t start = 0; start < ks.size(); start += batch_size) {
        units.emplace_back(ks.begin() + static_cast<long>(start),
                           ks.begin() + static_cast<long>(std::min(start + batch_size, ks.size())));
      }
    }
  }
  const std::size_t unit_count = batch_size > 1 ? units.size() : work.size();
  const std::size_t limit = 2 * pool.options().concurrency;
  std::size_t next = 0;
  std::size_t outstanding = 0;
  std::size_t remaining = work.size();

  const auto submit_unit = [&](std::size_t u) {
    if (batch_size > 1) {
      std::vector<std::string> prompts;
      for (const auto k : units[u]) prompts.push_back(work[k].prompt);
      const auto agent = work[units[u].front()].index % n;
      pool.submit_batch(
          agent - first, std::move(prompts),
          [&, u, agent](std::vector<Response>&& out) {
            for (std::size_t j = 0; j < units[u].size(); ++j) {
              out[j].agent_index = static_cast<std::int64_t>(agent);
              done(units[u][j], std::move(out[j]));
            }
            remaining -= units[u].size();
            --outstanding;
          },
          call);
      return;
    }
    const std::uint64_t agent = work[u].index % n;
    CallOptions c = call;
    if (work[u].max_tokens) c.max_tokens = work[u].max_tokens;
    pool.submit(
        agent - first, work[u].prompt,
        [&, u, agent](Response&& r) {
          r.agent_index = static_cast<std::int64_t>(agent);
          done(u, std::move(r));
          --remaining;
          --outstanding;
        },
        c);
  };
  const auto feed = [&] {
    for (; next < unit_count && outstanding < limit; ++next, ++outstanding) submit_unit(next);
  };
  feed();
  while (remaining > 0) {
    pool.poll(std::chrono::milliseconds(200));
    feed();
  }
}

std::vector<Response> run_local(Swarm& swarm, const std::vector<Work>& work, CallOptions call,
                                std::size_t batch_size) {
  std::vector<Response> results(work.size());
  run_local_each(swarm, work, call, batch_size,
                 [&](std::size_t k, Response&& r) { results[k] = std::move(r); });
  return results;
}

}  // namespace swarm::mpi::detail
