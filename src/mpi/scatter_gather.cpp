#include "swarm/mpi/scatter_gather.hpp"

#include <stdexcept>

#include "collectives.hpp"
#include "swarm/mpi/error.hpp"
#include "swarm/mpi/swarm.hpp"
#include "swarm/template.hpp"

namespace swarm::mpi {

void scatter_gather_windows(Swarm& swarm, const WindowSource& next, const WindowSink& done,
                            std::size_t window, CallOptions call, std::size_t batch_size) {
  if (swarm.size() == 0) throw std::logic_error("scatter_gather over an empty swarm");
  if (window == 0) throw std::invalid_argument("scatter_gather: window must be positive");
  const Communicator comm = swarm.communicator();
  const bool root = comm.is_root();
  const auto ranks = static_cast<std::size_t>(comm.size());
  const auto n = static_cast<std::uint64_t>(swarm.size());

  for (;;) {
    std::vector<Work> work;
    if (root) work = next(window);
    std::uint64_t count = work.size();
    {
      detail::MpiTimer t(swarm.mpi_stats());
      check(MPI_Bcast(&count, 1, MPI_UINT64_T, Communicator::kRoot, comm.mpi_communicator()),
            "MPI_Bcast");
    }
    if (count == 0) return;

    // Root: bucket by owning rank, remembering where each item came from in `work`.
    std::vector<std::vector<Work>> buckets(root ? ranks : 0);
    std::vector<std::vector<std::size_t>> origin(root ? ranks : 0);
    if (root) {
      for (std::size_t k = 0; k < work.size(); ++k) {
        const auto r = static_cast<std::size_t>(swarm.owner_of(work[k].index % n));
        buckets[r].push_back(work[k]);
        origin[r].push_back(k);
      }
    }
    const auto mine = detail::scatter_work(swarm, buckets);
    buckets.clear();
    const auto local = detail::run_local(swarm, mine, call, batch_size);
    auto gathered = detail::gather_responses(swarm, local);
    if (!root) continue;

    // Gathered responses arrive rank by rank, each rank's in its bucket order.
    std::vector<Response> results(work.size());
    std::size_t pos = 0;
    for (std::size_t r = 0; r < ranks; ++r) {
      for (const auto k : origin[r]) results[k] = std::move(gathered[pos++]);
    }
    done(std::move(work), std::move(results));
  }
}

std::vector<Response> scatter_gather(Swarm& swarm, std::span<const std::string> prompts,
                                     CallOptions call, std::size_t window) {
  std::vector<Response> out;
  std::size_t next_index = 0;
  scatter_gather_windows(
      swarm,
      [&](std::size_t max) {
        std::vector<Work> w;
        for (; next_index < prompts.size() && w.size() < max; ++next_index) {
          w.push_back(Work{next_index, prompts[next_index], std::nullopt});
        }
        return w;
      },
      [&](std::vector<Work>&&, std::vector<Response>&& results) {
        for (auto& r : results) out.push_back(std::move(r));
      },
      window, call);
  return out;
}

std::vector<Response> map_gather(Swarm& swarm, std::span<const std::string> items,
                                 std::string_view prompt_template, CallOptions call,
                                 std::size_t window) {
  std::vector<std::string> prompts;
  if (swarm.communicator().is_root()) {
    prompts.reserve(items.size());
    for (const auto& item : items)
      prompts.push_back(fill_template(prompt_template, {{"item", item}}));
  }
  return scatter_gather(swarm, prompts, call, window);
}

}  // namespace swarm::mpi
