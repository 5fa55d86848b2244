#pragma once
/// @file endpoint.hpp
/// One agent endpoint (an OpenAI-compatible server) as listed in a hostfile.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace swarm {

/// Transport of an endpoint. `https` endpoints verify certificates.
enum class Scheme : std::uint8_t { http, https };

/// "http" or "https".
std::string_view to_string(Scheme scheme) noexcept;

/// An agent's network address plus free-form `key=value` tags (for example `role=critic`).
struct Endpoint {
  std::string host;  ///< Host name, IPv4 literal, or IPv6 literal without brackets.
  /// TCP port (1-65535).
  std::uint16_t port = 8000;
  /// http or https.
  Scheme scheme = Scheme::http;
  /// The hostfile line's `key=value` tags, by key (for example role -> critic).
  std::map<std::string, std::string, std::less<>> tags;
  /// Base path of a server behind a gateway or reverse proxy, e.g. `/agent/3` for
  /// `http://gw:8080/agent/3`: empty, or starting with '/' and without a trailing slash. Every
  /// route (`/v1/...`, `/health`) is appended to it.
  std::string base_path;

  /// Base URL without a trailing slash, e.g. `http://node1:8000`, `http://[::1]:8001` or
  /// `http://gw:8080/agent/3`.
  [[nodiscard]] std::string url() const;

  /// `host:port` (IPv6 hosts bracketed), the form used in logs and duplicate warnings.
  [[nodiscard]] std::string authority() const;

  /// The tag's value, or an empty view when the tag is absent.
  [[nodiscard]] std::string_view tag(std::string_view key) const;

  /// Field-wise equality: same address, base path and tags.
  friend bool operator==(const Endpoint&, const Endpoint&) = default;
};

}  // namespace swarm
