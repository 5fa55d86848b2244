#include "startup.hpp"

#include <fmt/format.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <system_error>

#include "swarm/endpoint.hpp"
#include "swarm/hostfile.hpp"

namespace swarm::mock {

void ensure_descriptor_budget(std::size_t agents, std::size_t expected_connections) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) {
    throw std::runtime_error(fmt::format("getrlimit(RLIMIT_NOFILE): {}", std::strerror(errno)));
  }
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    // An unlimited hard limit cannot be set as the soft one for NOFILE; 2^20 is the kernel's
    // default nr_open.
    if (raised.rlim_cur == RLIM_INFINITY) raised.rlim_cur = rlim_t{1} << 20U;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) limit.rlim_cur = raised.rlim_cur;
  }
  const std::size_t needed = agents + expected_connections + kReservedDescriptors;
  if (limit.rlim_cur != RLIM_INFINITY && needed > limit.rlim_cur) {
    throw std::runtime_error(fmt::format(
        "not enough file descriptors: {} agents + {} expected connections + {} reserved = {} "
        "needed, but RLIMIT_NOFILE is {} (hard limit {}); raise it (ulimit -n) or lower --count "
        "or --expected-connections",
        agents, expected_connections, kReservedDescriptors, needed, limit.rlim_cur,
        limit.rlim_max));
  }
}

void write_hostfile(const std::filesystem::path& path, const Options& options,
                    const std::vector<std::uint16_t>& ports) {
  std::vector<Endpoint> endpoints;
  endpoints.reserve(ports.size());
  for (std::size_t k = 0; k < ports.size(); ++k) {
    Endpoint endpoint{.host = options.host,
                      .port = ports[k],
                      .scheme = Scheme::http,
                      .tags = {},
                      .base_path = options.path_prefix};
    for (const auto& [key, value] : options.tags) endpoint.tags[key] = value;
    if (!options.agent_roles[k].empty()) endpoint.tags["role"] = options.agent_roles[k];
    endpoints.push_back(std::move(endpoint));
  }
  const std::string text = format_hostfile(endpoints);
  // Same directory, so rename() is atomic (no cross-filesystem copy).
  std::filesystem::path temporary = path;
  temporary += fmt::format(".tmp.{}", getpid());
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    if (!out) {
      std::error_code ignored;
      std::filesystem::remove(temporary, ignored);
      throw std::runtime_error(fmt::format("cannot write {}", temporary.string()));
    }
  }
  std::error_code ec;
  std::filesystem::rename(temporary, path, ec);
  if (ec) {
    std::filesystem::remove(temporary, ec);
    throw std::runtime_error(fmt::format("cannot rename the hostfile into {}", path.string()));
  }
}

std::string ready_line(const std::string& host, const std::vector<std::uint16_t>& ports) {
  std::string ranges;
  for (std::size_t i = 0; i < ports.size();) {
    std::size_t j = i;
    while (j + 1 < ports.size() && ports[j + 1] == ports[j] + 1) ++j;
    if (!ranges.empty()) ranges += ',';
    ranges += j == i ? fmt::format("{}", ports[i]) : fmt::format("{}-{}", ports[i], ports[j]);
    i = j + 1;
  }
  return fmt::format("aswarm-mock-agent: ready: {} {} on {} ports {}", ports.size(),
                     ports.size() == 1 ? "agent" : "agents", host, ranges);
}

}  // namespace swarm::mock
