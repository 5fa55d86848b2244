#include "prober.hpp"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "engine.hpp"

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

}  // namespace

Prober::Prober(std::vector<Endpoint> endpoints, std::string path, std::size_t concurrency)
    : path_(std::move(path)) {
  PoolOptions options;
  options.concurrency = concurrency;
  // Rounds are the retry mechanism; a probe that fails is simply asked again next round.
  options.retries = 0;
  // Probes are node-to-node: never through http_proxy (set on Aurora compute nodes).
  options.use_proxy = false;
  engine_ = std::make_unique<detail::Engine>(std::move(endpoints), options);
}

Prober::~Prober() = default;

std::vector<ProbeResult> Prober::probe(const std::vector<std::size_t>& indices,
                                       std::chrono::duration<double> timeout) {
  std::vector<ProbeResult> results(indices.size());
  // libcurl reads a timeout of 0 ms as "no timeout": keep at least 1 ms.
  const Seconds bounded{std::max(timeout.count(), 1e-3)};
  for (std::size_t i = 0; i < indices.size(); ++i) {
    auto t = std::make_unique<detail::Transfer>();
    t->endpoint = static_cast<std::uint32_t>(indices[i]);
    t->path = path_;  // empty body: GET
    t->timeout = bounded;
    t->on_done = [&results, i](detail::Reply&& reply) {
      ProbeResult& r = results[i];
      if (!reply.transport_error.empty()) {
        r.timed_out = reply.curl_code == CURLE_OPERATION_TIMEDOUT;
        r.detail = std::move(reply.transport_error);
      } else if (reply.http_status >= 200 && reply.http_status < 300) {
        r.healthy = true;
      } else {
        const std::string body = snippet(reply.body);
        r.detail = body.empty() ? fmt::format("HTTP {}", reply.http_status)
                                : fmt::format("HTTP {}: {}", reply.http_status, body);
      }
    };
    engine_->submit(std::move(t));
  }
  // Each probe carries its own timeout, so this loop ends within about `timeout` (plus the
  // queueing when more probes than --concurrency are due).
  while (engine_->outstanding() > 0) engine_->poll(std::chrono::milliseconds(200));
  return results;
}

}  // namespace swarm::health
