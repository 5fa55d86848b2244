#include "gate.hpp"

#include <algorithm>
#include <optional>
#include <thread>

namespace swarm::health {
namespace {

using Duration = std::chrono::duration<double>;

Clock::duration to_clock(Duration d) {
  return std::chrono::duration_cast<Clock::duration>(d);
}

}  // namespace

GateResult run_gate(const std::vector<Endpoint>& endpoints, Prober& prober, const GateSettings& s,
                    spdlog::logger& log) {
  GateResult result;
  result.outcomes.resize(endpoints.size());
  std::vector<std::size_t> pending(endpoints.size());
  for (std::size_t i = 0; i < pending.size(); ++i) pending[i] = i;

  std::optional<Clock::time_point> first_healthy;
  const auto since_start = [&](Clock::time_point t) { return Duration(t - s.start).count(); };
  // The round in progress stops being useful at the deadline or, once something is healthy, at
  // the end of the settle time, whichever comes first.
  const auto stop_at = [&] {
    return first_healthy ? std::min(s.deadline, *first_healthy + to_clock(s.settle)) : s.deadline;
  };
  auto last_report = Clock::now();

  for (int round = 1;; ++round) {
    if (pending.empty()) {
      result.stop_reason = "all healthy";
      break;
    }
    const auto round_start = Clock::now();
    if (round_start >= stop_at()) {
      result.stop_reason = first_healthy ? "settle time over" : "deadline reached";
      break;
    }
    const Duration budget = std::min(s.probe_timeout, Duration(stop_at() - round_start));
    // A round cut short by the settle time or the deadline may time out probes that a full
    // round would have answered; such a timeout does not replace an earlier, better reason.
    const bool cut_short = budget < s.probe_timeout;
    const auto results = prober.probe(pending, budget);
    const auto now = Clock::now();

    std::vector<std::size_t> still_down;
    std::size_t newly = 0;
    for (std::size_t k = 0; k < pending.size(); ++k) {
      const std::size_t i = pending[k];
      EndpointOutcome& o = result.outcomes[i];
      ++o.probes;
      if (!results[k].healthy) {
        if (!(cut_short && results[k].timed_out && !o.last_error.empty())) {
          o.last_error = results[k].detail;
        }
        still_down.push_back(i);
        continue;
      }
      o.healthy = true;
      o.healthy_after = now - s.start;
      ++newly;
      // authority + base path: endpoints behind one gateway differ only in their path.
      log.info("healthy: {}{} (after {:.1f} s, probe {})", endpoints[i].authority(),
               endpoints[i].base_path, o.healthy_after.count(), o.probes);
    }
    result.healthy += newly;
    pending = std::move(still_down);
    if (newly > 0 && !first_healthy) {
      first_healthy = now;
      log.info(
          "first healthy endpoint after {:.1f} s; waiting up to {:.0f} s (--settle) for the "
          "other {}",
          since_start(now), s.settle.count(), pending.size());
    }
    if (newly > 0 || now - last_report >= std::chrono::seconds(30)) {
      log.info("{} of {} healthy (round {}, {:.0f} s)", result.healthy, endpoints.size(), round,
               since_start(now));
      last_report = now;
    }
    if (pending.empty()) continue;
    // Rounds start every --interval (right away when a round took longer than that).
    std::this_thread::sleep_until(std::min(round_start + to_clock(s.interval), stop_at()));
  }
  return result;
}

}  // namespace swarm::health
