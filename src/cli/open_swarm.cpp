#include "open_swarm.hpp"

#include <charconv>
#include <cstdio>

#include <fmt/format.h>

#include "drivers.hpp"
#include "select.hpp"
#include "swarm/mpi/health.hpp"

namespace swarm::cli {

MinHealthy parse_min_healthy(const std::string& spec) {
  const bool percent = !spec.empty() && spec.back() == '%';
  const std::string_view digits(spec.data(), spec.size() - (percent ? 1 : 0));
  std::size_t n = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (digits.empty() || ec != std::errc{} || end != digits.data() + digits.size()) {
    throw std::invalid_argument(
        fmt::format("--min-healthy {}: expected a count N or a percentage P%", spec));
  }
  if (percent && n > 100) {
    throw std::invalid_argument(fmt::format("--min-healthy {}: above 100%", spec));
  }
  return {n, percent};
}

std::size_t min_healthy_count(const std::string& spec, std::size_t endpoints) {
  const MinHealthy m = parse_min_healthy(spec);
  if (m.percent) return (m.value * endpoints + 99) / 100;
  if (m.value > endpoints) {
    throw std::invalid_argument(
        fmt::format("--min-healthy {}: the hostfile has only {} endpoints", spec, endpoints));
  }
  return m.value;
}

mpi::Swarm open_swarm(const Options& options, const PoolOptions& pool, mpi::Communicator comm) {
  auto swarm = mpi::Swarm::from_hostfile(comm, options.hostfile, pool);
  if (options.select.any()) {
    try {
      // Before the health gate: --min-healthy counts the agents the run uses.
      swarm = select_agents(swarm, options.select, options.seed);
    } catch (const std::invalid_argument& e) {
      throw UsageError(e.what());  // every rank computed the same selection
    }
  }
  if (options.min_healthy.empty()) {
    swarm.share_model();  // a rank whose endpoints are down still learns the model
    return swarm;
  }
  std::size_t need = 0;
  try {
    need = min_healthy_count(options.min_healthy, swarm.size());
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());  // every rank read the same hostfile
  }
  const std::size_t healthy = mpi::await_healthy(swarm, need, pool.give_up_after);
  if (healthy < need) {
    throw TooFewHealthy(fmt::format(
        "--min-healthy {}: {} of {} endpoints answered /health within --give-up-after {:g} s",
        options.min_healthy, healthy, swarm.size(), pool.give_up_after.count()));
  }
  const auto& level = options.log_level;
  if (comm.is_root() && (level == "info" || level == "debug" || level == "trace")) {
    fmt::print(stderr, "aswarm-mpi: {} of {} endpoints healthy; starting (the others join "
               "when they answer /health)\n", healthy, swarm.size());
  }
  swarm.share_model();
  return swarm;
}

}  // namespace swarm::cli
