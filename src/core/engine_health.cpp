// The engine's endpoint health and failover: what a finished request tells the HealthTable,
// where a request goes when its endpoint is cooling, the /health probes, and the give-up of
// requests that found no healthy endpoint. All of it runs inside poll(); nothing blocks.

#include <algorithm>
#include <limits>

#include <fmt/format.h>

#include "engine.hpp"
#include "log.hpp"

namespace swarm::detail {
namespace {

constexpr const char* kProbePath = "/health";  // vLLM's liveness route (and the mock's)

}  // namespace

// Feeds the final outcome of a request on its endpoint (after that endpoint's retries) to the
// health table; returns true when failover took the request elsewhere instead of completing.
bool Engine::judge(const Outcome& out) {
  Transfer* t = out.t;
  return note(out) && t->family != nullptr && t->failovers_left > 0 && reroute(t);
}

bool Engine::cools(const Outcome& out) {
  const FailureKind kind =
      out.code == CURLE_OK ? FailureKind::none : classify(out.code, out.t->too_large);
  return cooling_failure(kind, out.code == CURLE_OK ? out.status : 0);
}

// What judge() records, without moving the request: true when the outcome was a cooling failure.
bool Engine::note(const Outcome& out) {
  Transfer* t = out.t;
  // GETs address one endpoint on purpose (metadata, aswarm-health's own probes): they neither
  // judge it nor move.
  if (t->body.empty()) return false;
  const FailureKind kind =
      out.code == CURLE_OK ? FailureKind::none : classify(out.code, t->too_large);
  const long status = out.code == CURLE_OK ? out.status : 0;
  if (!cooling_failure(kind, status)) {
    if (kind == FailureKind::none && status >= 200 && status < 300) {
      const Seconds took = Clock::now() - t->attempt_start;
      health_.succeeded(t->endpoint, took);
      if (options_.hedge_quantile > 0) latencies_.add(took);
    } else {
      health_.answered(t->endpoint);
    }
    return false;
  }
  LastFailure why;
  why.kind = kind == FailureKind::none ? FailureKind::http_status : kind;
  why.http_status = status;
  why.error =
      kind == FailureKind::none
          ? redact(http_error(status, t->response))
          : redact(t->error_buffer[0] != '\0'
                       ? fmt::format("{}: {}", curl_easy_strerror(out.code), t->error_buffer)
                       : std::string(curl_easy_strerror(out.code)));
  if (health_.failed(t->endpoint, std::move(why), Clock::now())) ++stats_.cooldowns;
  return true;
}

// Called before a request starts: true when it must not start on its endpoint (cooling, or
// failed since failover chose it) and was moved or set waiting instead.
bool Engine::divert(Transfer* t) {
  if (t->family == nullptr) return false;
  // Moved here by failover and not started yet, but this endpoint failed meanwhile: agents that
  // die together fail within one drain, and each looked idle (so least loaded) when it was
  // chosen. It chooses again among those that have not failed, without charging the budget:
  // nothing was tried here. Otherwise a request could spend its failovers on one dying agent
  // after another and then its retries, with back-off, on the last.
  if (t->attempts > 0 && t->agent_attempts == 0 && health_.failures(t->endpoint) > 0) {
    const std::size_t k = failover_target(*t);
    if (k != t->family->size() && health_.failures((*t->family)[k]) == 0) {
      move_to(t, k, /*charged=*/false);
      return true;
    }
  }
  if (t->failovers_left == 0 || health_.healthy(t->endpoint)) return false;
  return reroute(t);
}

// A cooling failure (connect, reset, timeout, 5xx) of a request that may fail over moves it at
// once to another healthy agent, without the back-off on this one: the back-off protects an
// endpoint from its own retries, and another endpoint owes it nothing. Retrying a dead endpoint
// first cost each of its in-flight requests U(0, 0.5) + U(0, 1) + U(0, 2) s before it moved,
// which made the makespan when a fleet lost agents near the end of a short run. The failure is
// counted like one after the retries, so the endpoint cools after cooldown_failures of them.
// A refused connection uses no failover: the server never saw the request, and the hops it can
// cause are bounded anyway, each refusal bringing its endpoint closer to cooling. (Agents that
// die together otherwise drain the budget: each dead one not yet failed looks idle, so least
// loaded, while every live one is busy.)
// False (the caller retries here with back-off) when no other agent of the family is healthy.
bool Engine::hop(const Outcome& out) {
  Transfer* t = out.t;
  if (t->family == nullptr) return false;
  const bool refused =
      out.code != CURLE_OK && classify(out.code, t->too_large) == FailureKind::connect;
  if (t->failovers_left == 0 && !refused) return false;
  if (!cools(out)) return false;
  const std::size_t k = failover_target(*t);
  if (k == t->family->size()) return false;
  note(out);
  move_to(t, k, /*charged=*/!refused);
  return true;
}

// Moves `t` to the healthy endpoint of its family with the most free capacity; when none is
// healthy and its own endpoint is cooling, it waits for a probe. Returns false (the caller
// completes `t` with its failure) when only its own, still healthy, endpoint is left.
bool Engine::reroute(Transfer* t) {
  const std::size_t k = failover_target(*t);
  if (k == t->family->size()) {
    if (health_.healthy(t->endpoint)) return false;
    wait_for_healthy(t);
    return true;
  }
  move_to(t, k);
  return true;
}

// The family index of the healthy endpoint other than t's own with the most free capacity
// (ties: lower recent latency), or family size when there is none.
std::size_t Engine::failover_target(const Transfer& t) const {
  const auto& family = *t.family;
  const std::size_t cap = options_.per_agent_concurrency;
  std::size_t best = family.size();
  bool best_failing = true;
  double best_load = std::numeric_limits<double>::infinity();
  Seconds best_latency{0.0};
  // A linear scan, but only on the failure path, never per healthy request. An endpoint whose
  // last requests failed comes last whatever its load: a dying server fails fast, so it looks
  // idle, and would otherwise draw every failover until it cools.
  for (std::size_t k = 0; k < family.size(); ++k) {
    const std::uint32_t e = family[k];
    if (e == t.endpoint || !health_.healthy(e)) continue;
    const bool failing = health_.failures(e) > 0;
    const double n = static_cast<double>(state_[e].assigned);
    const double load = cap == 0 ? n : n / static_cast<double>(cap);
    const Seconds latency = health_.latency(e);
    const bool better = failing != best_failing
                            ? !failing
                            : load < best_load || (load == best_load && latency < best_latency);
    if (better) {
      best_failing = failing;
      best = k;
      best_load = load;
      best_latency = latency;
    }
  }
  return best;
}

void Engine::move_to(Transfer* t, std::size_t family_index, bool charged) {
  --state_[t->endpoint].assigned;
  t->endpoint = (*t->family)[family_index];
  t->slot = static_cast<std::uint32_t>(family_index);
  ++state_[t->endpoint].assigned;
  t->agent_attempts = 0;
  if (charged) --t->failovers_left;
  ++stats_.failovers;
  retry_.push(t);  // it is older than anything in pending_
}

void Engine::wait_for_healthy(Transfer* t) {
  // The clock starts when the request first finds no healthy agent and restarts when it runs.
  // A request that must not wait expires at the next poll, through the same give-up path.
  if (t->give_up_at == Clock::time_point{}) {
    t->give_up_at =
        Clock::now() + (t->wait_for_healthy ? std::chrono::duration_cast<Clock::duration>(
                                                  options_.give_up_after)
                                            : Clock::duration::zero());
  }
  waiting_.push(Due{t->give_up_at, t});
}

void Engine::start_due_probes(Clock::time_point now) {
  while (const auto e = health_.due_probe(now)) {
    auto t = std::make_unique<Transfer>();
    t->endpoint = *e;
    t->path = kProbePath;  // an empty body makes it a GET
    t->timeout = std::min(options_.probe_timeout, options_.timeout);
    t->max_bytes = options_.max_response_bytes;
    t->owner = this;
    t->probe = true;
    probes_.push(t.release());
    ++stats_.probes;
  }
}

void Engine::finish_probe(const Outcome& out) {
  const std::unique_ptr<Transfer> t(out.t);
  const bool ok = out.code == CURLE_OK && out.status >= 200 && out.status < 300;
  LastFailure why;
  if (!ok) {
    why.kind = out.code == CURLE_OK ? FailureKind::http_status : classify(out.code, t->too_large);
    why.http_status = out.code == CURLE_OK ? out.status : 0;
    why.error = out.code == CURLE_OK
                    ? fmt::format("GET {}: HTTP {}", kProbePath, out.status)
                    : fmt::format("GET {}: {}", kProbePath, curl_easy_strerror(out.code));
  }
  const bool was_down = health_.was_down(t->endpoint);
  if (!health_.probed(t->endpoint, ok, Clock::now(), std::move(why))) return;
  if (was_down) logger().info("endpoint {} answers /health again", endpoints_[t->endpoint].url());
  // Any of the waiting requests may have this endpoint in its family; those that do not go
  // back to waiting with their original give-up time.
  while (!waiting_.empty()) {
    retry_.push(waiting_.top().t);
    waiting_.pop();
  }
}

std::size_t Engine::expire_waiting(Clock::time_point now) {
  std::size_t expired = 0;
  while (!waiting_.empty() && waiting_.top().when <= now) {
    std::unique_ptr<Transfer> t(waiting_.top().t);
    waiting_.pop();
    const LastFailure& last = health_.last_failure(t->endpoint);
    Reply r;
    r.kind = last.kind;
    r.http_status = last.http_status;
    r.transport_error =
        t->wait_for_healthy
            ? fmt::format("no healthy agent for {:g} s: {}", options_.give_up_after.count(),
                          last.error)
            : last.error;  // failing at once: the caller learns what the agents last said
    r.attempts = t->attempts;
    r.latency = t->attempts > 0 ? Seconds(now - t->first_start) : options_.give_up_after;
    complete(std::move(t), std::move(r));
    ++expired;
  }
  return expired;
}

void Engine::suspect(std::uint32_t e) {
  if (e >= endpoints_.size()) {
    throw std::out_of_range(
        fmt::format("endpoint {} out of range (pool has {})", e, endpoints_.size()));
  }
  health_.suspect(e, Clock::now());
}

Clock::time_point Engine::next_timer() const noexcept {
  Clock::time_point next = health_.next_probe();
  if (!backoff_.empty()) next = std::min(next, backoff_.top().when);
  if (!waiting_.empty()) next = std::min(next, waiting_.top().when);
  // Hedging looks at running attempts every few ms, but only while some run and none wait.
  if (options_.hedge_quantile > 0 && in_flight_ > 0 && pending_.empty() && retry_.empty() &&
      parked_ == 0) {
    next = std::min(next, next_hedge_scan_);
  }
  return next;
}

}  // namespace swarm::detail
