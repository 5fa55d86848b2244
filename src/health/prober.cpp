#include "prober.hpp"

#include <cctype>

#include <fmt/format.h>

namespace swarm::health {
namespace {

/// The first line of a reply body, trimmed and capped: enough to tell vLLM's messages apart.
std::string snippet(const std::string& body) {
  constexpr std::size_t kMax = 120;
  std::string line = body.substr(0, body.find_first_of("\r\n"));
  while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.pop_back();
  if (line.size() > kMax) line = line.substr(0, kMax) + "...";
  return line;
}

PoolOptions probe_options(std::size_t concurrency) {
  PoolOptions options;
  options.concurrency = concurrency;
  // Rounds are the retry mechanism; a probe that fails is simply asked again next round.
  options.retries = 0;
  // Probes are node-to-node: never through http_proxy (set on Aurora compute nodes).
  options.use_proxy = false;
  return options;
}

}  // namespace

Prober::Prober(std::vector<Endpoint> endpoints, std::string path, std::size_t concurrency)
    : path_(std::move(path)), pool_(std::move(endpoints), probe_options(concurrency)) {}

Prober::~Prober() = default;

std::vector<ProbeResult> Prober::probe(const std::vector<std::size_t>& indices,
                                       std::chrono::duration<double> timeout) {
  // Each probe carries its own timeout, so this returns within about `timeout` (plus the
  // queueing when more probes than --concurrency are due).
  const auto replies = pool_.select(indices).get_all(path_, timeout);
  std::vector<ProbeResult> results(replies.size());
  for (std::size_t i = 0; i < replies.size(); ++i) {
    const Response& reply = replies[i];
    ProbeResult& r = results[i];
    if (reply.success) {
      r.healthy = true;
    } else if (reply.kind == FailureKind::http_status) {
      const std::string body = snippet(reply.text);
      r.detail = body.empty() ? fmt::format("HTTP {}", reply.http_status)
                              : fmt::format("HTTP {}: {}", reply.http_status, body);
    } else {
      r.timed_out = reply.kind == FailureKind::timeout;
      r.detail = reply.error;
    }
  }
  return results;
}

}  // namespace swarm::health
