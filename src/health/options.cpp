#include "options.hpp"

#include <charconv>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

#include "flags/number_flag.hpp"

namespace swarm::health {
namespace {

// 100 days: far beyond any walltime, and far from overflowing steady_clock's nanoseconds.
constexpr double kMaxSeconds = 100.0 * 86400.0;

}  // namespace

std::size_t MinHealthy::required(std::size_t total) const {
  if (!percent) return count;
  // The epsilon keeps 90% of 10 at 9 despite binary rounding of 0.9 * 10.
  const double exact = *percent / 100.0 * static_cast<double>(total);
  return static_cast<std::size_t>(std::ceil(exact - 1e-9));
}

std::string MinHealthy::describe() const {
  return percent ? fmt::format("{}%", *percent) : fmt::format("{}", count);
}

MinHealthy parse_min_healthy(std::string_view text) {
  const auto bad = [&](std::string_view why) {
    return std::invalid_argument(fmt::format("--min-healthy '{}': {}", text, why));
  };
  MinHealthy result;
  if (!text.empty() && text.back() == '%') {
    const std::string number(text.substr(0, text.size() - 1));
    double p = 0;
    std::size_t used = 0;
    try {
      p = std::stod(number, &used);
    } catch (const std::exception&) {
      throw bad("expected a count (12) or a percentage (90%)");
    }
    if (used != number.size() || number.empty()) {
      throw bad("expected a count (12) or a percentage (90%)");
    }
    if (!(p > 0.0 && p <= 100.0)) throw bad("a percentage must be in (0, 100]");
    result.percent = p;
    result.count = 0;
    return result;
  }
  std::size_t n = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, n);
  if (text.empty() || ec != std::errc{} || ptr != end) {
    throw bad("expected a count (12) or a percentage (90%)");
  }
  result.count = n;
  return result;
}

void add_options(CLI::App& app, Options& o) {
  app.add_option("--hostfile", o.hostfile,
                 "Hostfile to wait for and probe (jobs may write it late)")
      ->envname("AURORA_SWARM_HOSTFILE")
      ->required();
  app.add_option("--output", o.output,
                 "Filtered hostfile of the healthy endpoints, written atomically "
                 "(default: <hostfile>.ready)");
  app.add_option("--timeout", o.timeout_s,
                 "Overall deadline in seconds, from start (hostfile wait included)")
      ->capture_default_str()
      ->check(flags::in_range(1e-3, kMaxSeconds));
  app.add_option("--settle", o.settle_s,
                 "Seconds to keep waiting for the others once the first endpoint is healthy")
      ->capture_default_str()
      ->check(flags::in_range(0.0, kMaxSeconds));
  app.add_option("--min-healthy", o.min_healthy,
                 "Healthy endpoints needed for success: a count (12) or a share (90%)")
      ->capture_default_str();
  app.add_option("--interval", o.interval_s, "Seconds between probe rounds")
      ->capture_default_str()
      ->check(flags::in_range(1e-3, kMaxSeconds));
  app.add_option("--probe-timeout", o.probe_timeout_s, "Seconds one probe may take")
      ->capture_default_str()
      ->check(flags::in_range(1e-3, kMaxSeconds));
  app.add_option("--concurrency", o.concurrency, "Probes in flight at once")
      ->capture_default_str()
      ->check(flags::positive<std::size_t>(1'000'000));
  app.add_option("--path", o.path, "Path probed on every endpoint (healthy: HTTP 2xx)")
      ->capture_default_str();
  app.add_option("--log-level", o.log_level, "Diagnostics on stderr")
      ->capture_default_str()
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
  app.footer(
      "Exit status: 0 at least --min-healthy endpoints healthy (output written),\n"
      "  1 fewer than --min-healthy healthy (output written with those that are),\n"
      "  2 usage or input error (bad flag, bad hostfile: file:line: reason, unwritable output),\n"
      "  3 the hostfile did not appear before --timeout (nothing written), 4 internal error.\n"
      "Environment: AURORA_SWARM_HOSTFILE is used when --hostfile is not given.");
}

void validate(const Options& o) {
  try {
    (void)parse_min_healthy(o.min_healthy);
  } catch (const std::invalid_argument& e) {
    throw CLI::ValidationError(e.what());
  }
  if (o.path.empty() || o.path.front() != '/') {
    throw CLI::ValidationError(fmt::format("--path '{}' must start with '/'", o.path));
  }
  if (o.output_path() == o.hostfile) {
    throw CLI::ValidationError("--output must differ from --hostfile");
  }
}

}  // namespace swarm::health
