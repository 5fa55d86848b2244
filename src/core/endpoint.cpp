#include "swarm/endpoint.hpp"

#include <fmt/format.h>

namespace swarm {

std::string_view to_string(Scheme scheme) noexcept {
  return scheme == Scheme::https ? "https" : "http";
}

std::string Endpoint::authority() const {
  // IPv6 literals need brackets in URLs (RFC 3986), otherwise the port is ambiguous.
  if (host.find(':') != std::string::npos) {
    return fmt::format("[{}]:{}", host, port);
  }
  return fmt::format("{}:{}", host, port);
}

std::string Endpoint::url() const {
  return fmt::format("{}://{}{}", to_string(scheme), authority(), base_path);
}

std::string_view Endpoint::tag(std::string_view key) const {
  auto it = tags.find(key);
  return it == tags.end() ? std::string_view{} : std::string_view{it->second};
}

}  // namespace swarm
