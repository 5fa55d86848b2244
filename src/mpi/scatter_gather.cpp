#include "swarm/mpi/scatter_gather.hpp"

#include <future>
#include <optional>
#include <stdexcept>
#include <utility>

#include "collectives.hpp"
#include "pack.hpp"
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

  // The root runs one window behind on its file I/O: while window w's requests are in flight,
  // it hands window w-1 to `done` and reads window w+1, so the other ranks do not wait in MPI
  // while it formats output and parses input.
  std::vector<Work> work;
  if (root) work = next(window);
  std::optional<std::pair<std::vector<std::uint64_t>, std::vector<Response>>> finished;
  std::vector<Work> prefetched;
  std::future<void> io;  // root: done(w-1) and next(w+1), on a helper thread
  const auto flush_finished = [&] {
    if (!finished) return;
    auto f = std::move(*finished);
    finished.reset();
    done(std::move(f.first), std::move(f.second));
  };

  for (;;) {
    std::uint64_t count = work.size();
    {
      detail::MpiTimer t(swarm.mpi_stats());
      check(MPI_Bcast(&count, 1, MPI_UINT64_T, Communicator::kRoot, comm.mpi_communicator()),
            "MPI_Bcast");
    }
    if (count == 0) {
      if (root) flush_finished();
      return;
    }
    std::vector<std::uint64_t> indices;

    // Root: bucket by owning rank, remembering where each item came from in `work`.
    std::vector<std::vector<Work>> buckets(root ? ranks : 0);
    std::vector<std::vector<std::size_t>> origin(root ? ranks : 0);
    if (root) {
      indices.reserve(work.size());
      for (std::size_t k = 0; k < work.size(); ++k) {
        const auto r = static_cast<std::size_t>(swarm.owner_of(work[k].index % n));
        indices.push_back(work[k].index);
        buckets[r].push_back(std::move(work[k]));
        origin[r].push_back(k);
      }
      work.clear();
      work.shrink_to_fit();
    }
    auto mine = detail::scatter_work(swarm, buckets);
    buckets = {};
    if (root) {
      // Only this thread calls MPI (FUNNELED); the helper touches the caller's files and the
      // two hand-over variables, which this thread leaves alone until io.get().
      io = std::async(std::launch::async, [&] {
        flush_finished();
        prefetched = next(window);
      });
    }
    // Each Response is packed as it arrives, after its position in this rank's bucket: no rank
    // holds a window of Response objects, only their bytes.
    detail::ByteWriter packed;
    detail::run_local_each(swarm, mine, call, batch_size, [&](std::size_t pos, Response&& r) {
      packed.put<std::uint64_t>(pos);
      detail::put_response(packed, r);
    });
    mine = {};           // the prompts are answered
    if (root) io.get();  // rethrows the caller's I/O errors here, before the gather
    std::vector<int> counts;
    const auto all = detail::gather_bytes(swarm, packed.bytes(), counts);
    if (!root) continue;
    packed = {};

    // Rank r's bytes answer its bucket: decode each Response straight into its input position.
    std::vector<Response> results(indices.size());
    std::size_t offset = 0;
    for (std::size_t r = 0; r < ranks; ++r) {
      const auto size = static_cast<std::size_t>(counts[r]);
      detail::ByteReader in(all.data() + offset, size);
      offset += size;
      while (!in.done()) {
        const auto pos = in.get<std::uint64_t>();
        if (pos >= origin[r].size())
          throw std::logic_error("scatter_gather: bad gathered position");
        results[origin[r][pos]] = detail::get_response(in);
      }
    }
    finished.emplace(std::move(indices), std::move(results));
    work = std::move(prefetched);
    prefetched.clear();
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
      [&](std::vector<std::uint64_t>&&, std::vector<Response>&& results) {
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
