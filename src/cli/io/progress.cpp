#include "io/progress.hpp"

#include <unistd.h>

#include <cmath>

#include <fmt/format.h>

#include "io/launcher_terminal.hpp"

namespace swarm::cli {
namespace {

std::string format_eta(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "--:--";
  const auto total = static_cast<long long>(std::llround(seconds));
  const long long hours = total / 3600;
  const long long minutes = (total / 60) % 60;
  const long long secs = total % 60;
  // mm:ss as asked; runs longer than an hour get h:mm:ss rather than "754:12".
  if (hours > 0) return fmt::format("{}:{:02}:{:02}", hours, minutes, secs);
  return fmt::format("{:02}:{:02}", minutes, secs);
}

}  // namespace

std::optional<ProgressMode> parse_progress_mode(std::string_view text) noexcept {
  if (text == "auto") return ProgressMode::automatic;
  if (text == "always") return ProgressMode::always;
  if (text == "never") return ProgressMode::never;
  return std::nullopt;
}

Progress::Progress(std::size_t total, ProgressMode mode, std::FILE* err, Clock clock,
                   std::chrono::milliseconds log_interval)
    : total_(total),
      err_(err),
      clock_(clock ? std::move(clock) : Clock([] { return std::chrono::steady_clock::now(); })),
      log_interval_(log_interval) {
  switch (mode) {
    case ProgressMode::always:
      style_ = Style::live;
      break;
    case ProgressMode::never:
      style_ = Style::none;
      break;
    case ProgressMode::automatic:
      style_ = (err_ != nullptr && (::isatty(::fileno(err_)) != 0 ||
                                    (err_ == stderr && launcher_stderr_is_terminal())))
                   ? Style::live
                   : Style::log;
      break;
  }
  if (err_ == nullptr) style_ = Style::none;
  start_ = clock_();
}

std::string Progress::format_line(std::chrono::steady_clock::time_point now) const {
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double rate = elapsed > 0 ? static_cast<double>(done_) / elapsed : 0.0;
  const double pct =
      total_ == 0 ? 100.0 : 100.0 * static_cast<double>(done_) / static_cast<double>(total_);
  const std::size_t left = total_ > done_ ? total_ - done_ : 0;
  const double eta = left == 0 ? 0.0 : (rate > 0 ? static_cast<double>(left) / rate : -1.0);
  const std::string tokens =
      tokens_ == 0 || elapsed <= 0
          ? std::string{}
          : fmt::format("  {:.0f} tok/s", static_cast<double>(tokens_) / elapsed);
  return fmt::format("{}/{} ({:.1f}%) ok {} failed {}  {:.1f} req/s{}  ETA {}", done_, total_,
                     pct, ok_, failed_, rate, tokens, format_eta(eta));
}

void Progress::draw(std::chrono::steady_clock::time_point now) {
  const std::string line = format_line(now);
  if (style_ == Style::live) {
    // Pad over the previous line's tail: no terminal escape codes, which would litter a log
    // captured with --progress=always.
    const std::size_t pad = last_width_ > line.size() ? last_width_ - line.size() : 0;
    fmt::print(err_, "\r{}{:{}}", line, "", pad);
    last_width_ = line.size();
  } else {
    fmt::print(err_, "aswarm-mpi: progress: {}\n", line);
  }
  std::fflush(err_);
  last_draw_ = now;
}

void Progress::update(std::size_t done, std::size_t ok, std::size_t failed,
                      std::uint64_t tokens) {
  if (style_ == Style::none || finished_) return;
  done_ = done;
  ok_ = ok;
  failed_ = failed;
  tokens_ = tokens;
  const auto now = clock_();
  if (style_ == Style::live) {
    if (!last_draw_ || now - *last_draw_ >= kRedrawInterval) draw(now);
  } else if (now - last_draw_.value_or(start_) >= log_interval_) {
    draw(now);
  }
}

void Progress::finish() {
  if (style_ == Style::none || finished_) return;
  finished_ = true;
  draw(clock_());
  if (style_ == Style::live) {
    std::fputc('\n', err_);
    std::fflush(err_);
  }
}

}  // namespace swarm::cli
