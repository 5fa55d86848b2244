#pragma once
/// @file progress.hpp
/// Progress on stderr: a live line redrawn in place for people at a terminal (also under an MPI
/// launcher whose own stderr is one), or a plain log line every 30 s (configurable) for batch-job
/// logs (PBS/Slurm files, where '\r' redraws would pile up).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace swarm::cli {

enum class ProgressMode : std::uint8_t {
  /// "auto": live line if the stream is a terminal, or is stderr and the MPI launcher's stderr
  /// is one (launcher_terminal.hpp); else a log line every log interval.
  automatic,
  always,     ///< Live line (with '\r') even when not a terminal.
  never       ///< Nothing.
};

/// "auto", "always" or "never"; std::nullopt for anything else.
std::optional<ProgressMode> parse_progress_mode(std::string_view text) noexcept;

class Progress {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  static constexpr std::chrono::milliseconds kRedrawInterval{100};
  static constexpr std::chrono::seconds kLogInterval{30};

  /// `clock` defaults to steady_clock::now (tests inject a fake). The rate and ETA count from
  /// construction. `log_interval`: between two log lines (--progress-interval).
  Progress(std::size_t total, ProgressMode mode, std::FILE* err = stderr, Clock clock = {},
           std::chrono::milliseconds log_interval = kLogInterval);

  /// Reports counts so far (`done` = ok + failed normally; `tokens`: output tokens of the
  /// answers so far, shown as a rate once non-zero). Draws at most every 100 ms (live) or log
  /// interval (log).
  void update(std::size_t done, std::size_t ok, std::size_t failed, std::uint64_t tokens = 0);
  /// Prints the final line (live: redrawn, then a newline). Idempotent.
  void finish();

  /// `done/total (pct%) ok N failed M  R req/s[  T tok/s]  ETA mm:ss` for the last update() at
  /// `now`.
  [[nodiscard]] std::string format_line(std::chrono::steady_clock::time_point now) const;

 private:
  enum class Style : std::uint8_t { live, log, none };
  void draw(std::chrono::steady_clock::time_point now);

  std::size_t total_;
  Style style_;
  std::FILE* err_;
  Clock clock_;
  std::chrono::milliseconds log_interval_;
  std::chrono::steady_clock::time_point start_;
  std::optional<std::chrono::steady_clock::time_point> last_draw_;
  std::size_t done_ = 0;
  std::size_t ok_ = 0;
  std::size_t failed_ = 0;
  std::uint64_t tokens_ = 0;
  std::size_t last_width_ = 0;  // to blank out the rest of a longer previous live line
  bool finished_ = false;
};

}  // namespace swarm::cli
