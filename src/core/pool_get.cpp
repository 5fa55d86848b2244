// AgentPool's raw GETs: one path, no protocol body and no decoding, for health probes
// (aswarm-health) and metadata reads (/v1/models).

#include <algorithm>

#include "pool_shared.hpp"

namespace swarm {

void AgentPool::get(std::size_t agent, std::string path, Seconds timeout, ResponseFn done) {
  auto t = std::make_unique<detail::Transfer>();
  t->endpoint = engine_index(agent);
  t->slot = static_cast<std::uint32_t>(agent);  // never fails over: no family
  t->path = std::move(path);                    // an empty body makes the engine send a GET
  // libcurl reads a timeout of 0 ms as "no timeout": keep at least 1 ms.
  t->timeout = Seconds(std::max(timeout.count(), 1e-3));
  const detail::Engine& engine = shared_->engine;
  t->on_done = [done = std::move(done), agent, &engine](detail::Reply&& reply) {
    Response r;
    r.agent_index = static_cast<std::int64_t>(agent);
    r.success = detail::start_response(reply, engine, r);
    if (reply.transport_error.empty()) r.text = std::move(reply.body);
    done(std::move(r));
  };
  shared_->engine.submit(std::move(t));
}

std::vector<Response> AgentPool::get_all(std::string_view path, Seconds timeout) {
  std::vector<Response> results(size());
  std::size_t remaining = size();
  for (std::size_t k = 0; k < size(); ++k) {
    get(k, std::string(path), timeout, [&results, &remaining, k](Response&& r) {
      results[k] = std::move(r);
      --remaining;
    });
  }
  while (remaining > 0) poll(std::chrono::milliseconds(200));
  return results;
}

}  // namespace swarm
