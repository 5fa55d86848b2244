#pragma once
// Internal: what AgentPool and its sub-pools share, and reply-to-Response helpers used by the
// pool's source files.

#include <cstdint>
#include <optional>
#include <string>

#include <fmt/format.h>

#include "engine.hpp"
#include "protocol_internal.hpp"
#include "swarm/pool.hpp"
#include "swarm/protocol.hpp"

namespace swarm {

/// State shared by a pool and its sub-pools.
struct AgentPool::Shared {
  Shared(std::vector<Endpoint> endpoints, PoolOptions options)
      : engine(std::move(endpoints), std::move(options)) {}
  detail::Engine engine;
  bool model_resolved = false;
  bool model_known = false;  ///< configured, read from /v1/models or adopted (not the fallback)
  std::string model;
  std::int64_t context = 0;
  /// prompt_body() for `model`, cut once (plain prompts are most requests; see PromptFrame).
  std::optional<protocol::PromptFrame> frame;
};

namespace detail {

// Fills the fields every Response of this reply shares; returns false (with `r` failed) when
// the exchange failed below or at HTTP level.
inline bool start_response(const Reply& reply, const Engine& engine, Response& r) {
  r.http_status = static_cast<int>(reply.http_status);
  r.latency = reply.latency;
  r.attempts = reply.attempts;
  r.ttft = reply.ttft;
  r.itl = reply.itl;
  if (!reply.transport_error.empty()) {
    r.success = false;
    r.error = reply.transport_error;
    r.kind = reply.kind;
    return false;
  }
  if (reply.http_status < 200 || reply.http_status >= 300) {
    r.success = false;
    r.kind = FailureKind::http_status;
    r.error = engine.redact(http_error(reply.http_status, reply.body));
    return false;
  }
  return true;
}

}  // namespace detail

}  // namespace swarm
