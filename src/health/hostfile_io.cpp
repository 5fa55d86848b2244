#include "hostfile_io.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <system_error>
#include <thread>

#include <fmt/format.h>

#include "swarm/hostfile.hpp"

namespace swarm::health {
namespace fs = std::filesystem;
namespace {

struct FileState {
  std::uintmax_t size = 0;
  fs::file_time_type mtime{};
  friend bool operator==(const FileState&, const FileState&) = default;
};

/// Size and mtime of a regular, non-empty file; nullopt while it is absent or empty.
std::optional<FileState> look(const fs::path& path) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (ec || size == 0) return std::nullopt;
  const auto mtime = fs::last_write_time(path, ec);
  if (ec) return std::nullopt;
  return FileState{size, mtime};
}

/// Sleeps `d`, but never past `deadline`. Returns false when the deadline has been reached.
bool sleep_until_or(Clock::time_point deadline, std::chrono::duration<double> d) {
  const auto now = Clock::now();
  if (now >= deadline) return false;
  const auto wake = std::min(deadline, now + std::chrono::duration_cast<Clock::duration>(d));
  std::this_thread::sleep_until(wake);
  return Clock::now() < deadline;
}

}  // namespace

std::optional<std::vector<Endpoint>> wait_for_hostfile(const fs::path& path,
                                                       Clock::time_point deadline,
                                                       std::chrono::duration<double> interval,
                                                       spdlog::logger& log) {
  // A short look for "still being written": a job's echo loop finishes well within it.
  const std::chrono::duration<double> settle_look{std::min(interval.count(), 0.5)};
  bool announced = false;
  for (;;) {
    if (const auto before = look(path)) {
      if (!sleep_until_or(deadline, settle_look)) return std::nullopt;
      if (look(path) == before) {
        auto endpoints =
            parse_hostfile(path, [&log](const std::string& warning) { log.warn("{}", warning); });
        log.info("hostfile {}: {} endpoints", path.string(), endpoints.size());
        return endpoints;
      }
      log.debug("hostfile {} is still changing", path.string());
      continue;
    }
    if (!announced) {
      log.info("waiting for the hostfile {} to appear", path.string());
      announced = true;
    }
    if (!sleep_until_or(deadline, interval)) return std::nullopt;
  }
}

void write_file_atomically(const fs::path& path, const std::string& text) {
  const fs::path target = path.has_parent_path() ? path : fs::path(".") / path;
  fs::path temporary = target;
  temporary += fmt::format(".tmp.{}", getpid());
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    if (!out) {
      throw std::runtime_error(
          fmt::format("cannot write {}: {}", temporary.string(), std::strerror(errno)));
    }
    out << text;
    out.flush();
    if (!out) {
      std::error_code ignored;
      fs::remove(temporary, ignored);
      throw std::runtime_error(fmt::format("cannot write {}", temporary.string()));
    }
  }
  if (std::rename(temporary.c_str(), target.c_str()) != 0) {
    const int err = errno;
    std::error_code ignored;
    fs::remove(temporary, ignored);
    throw std::runtime_error(fmt::format("cannot rename {} to {}: {}", temporary.string(),
                                         target.string(), std::strerror(err)));
  }
}

}  // namespace swarm::health
