#pragma once
// aswarm-health's flags and exit codes.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>

namespace swarm::health {

/// Exit status, so job scripts can tell "too few servers came up" from "fix the command".
inline constexpr int kExitOk = 0;             ///< At least --min-healthy endpoints are healthy.
inline constexpr int kExitTooFewHealthy = 1;  ///< Fewer than --min-healthy; output still written.
inline constexpr int kExitUsage = 2;          ///< Bad flags, bad hostfile, unwritable output.
inline constexpr int kExitNoHostfile = 3;     ///< The hostfile did not appear before --timeout.
inline constexpr int kExitInternal = 4;       ///< Anything else (e.g. the open-file limit).

/// --min-healthy: an absolute count ("12") or a share of the hostfile ("90%").
struct MinHealthy {
  std::size_t count = 1;
  std::optional<double> percent;  ///< Set for "P%": count is then derived from the total.

  /// Endpoints that must be healthy out of `total` (a percentage rounds up: 90% of 15 is 14).
  [[nodiscard]] std::size_t required(std::size_t total) const;
  [[nodiscard]] std::string describe() const;
};

/// Parses "N" (N >= 0) or "P%" (0 < P <= 100). Throws std::invalid_argument.
MinHealthy parse_min_healthy(std::string_view text);

struct Options {
  std::string hostfile;
  std::string output;  ///< Empty: <hostfile>.ready
  double timeout_s = 3600.0;
  double settle_s = 300.0;
  std::string min_healthy = "1";
  double interval_s = 5.0;
  double probe_timeout_s = 5.0;
  std::size_t concurrency = 1024;
  std::string path = "/health";
  std::string log_level = "info";

  [[nodiscard]] std::string output_path() const {
    return output.empty() ? hostfile + ".ready" : output;
  }
};

/// Registers every flag on `app`.
void add_options(CLI::App& app, Options& options);

/// Checks what CLI11 cannot (e.g. --path must start with '/'); throws CLI::ValidationError.
void validate(const Options& options);

}  // namespace swarm::health
