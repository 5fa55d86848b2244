#include "swarm/response.hpp"

namespace swarm {

std::string_view to_string(FailureKind kind) noexcept {
  switch (kind) {
    case FailureKind::none:
      return "none";
    case FailureKind::connect:
      return "connect";
    case FailureKind::timeout:
      return "timeout";
    case FailureKind::reset:
      return "reset";
    case FailureKind::tls:
      return "tls";
    case FailureKind::transport:
      return "transport";
    case FailureKind::http_status:
      return "http_status";
    case FailureKind::oversize:
      return "oversize";
    case FailureKind::decode:
      return "decode";
    case FailureKind::stream:
      return "stream";
    case FailureKind::other:
      break;
  }
  return "other";
}

bool agent_fault(const Response& r) noexcept {
  switch (r.kind) {
    case FailureKind::connect:
    case FailureKind::timeout:
    case FailureKind::reset:
    case FailureKind::tls:
    case FailureKind::transport:
      return true;
    case FailureKind::http_status:
      return r.http_status >= 500 && r.http_status < 600;
    default:
      return false;
  }
}

}  // namespace swarm
