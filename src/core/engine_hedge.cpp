// Hedging near the tail (PoolOptions::hedge_quantile). At the end of a run the makespan is set
// by the few requests that drew a long generation or a stalled server while other agents sit
// idle. Such a request is sent once more to an idle agent of its family; the first 2xx answers
// the request and the other transfer is taken off the wire. All of it runs inside poll().
//
// Invariants while a request runs twice (original O, copy C, O->twin == C, C->twin == O):
// - only O counts in outstanding_; each copy counts in its endpoint's `assigned`;
// - C never retries or fails over; O does not either until C has finished (its outcome is
//   held), so at no time do both continue after a failure;
// - exactly one of them completes the request, through O's completion function.

#include <chrono>

#include "engine.hpp"

namespace swarm::detail {
namespace {

// How often running attempts are compared with the threshold: fine enough that a hedge starts
// within a small fraction of a typical LLM answer, coarse enough to cost nothing.
constexpr auto kScanEvery = std::chrono::milliseconds(10);

bool succeeded(CURLcode code, long status) noexcept {
  return code == CURLE_OK && status >= 200 && status < 300;
}

}  // namespace

void Engine::maybe_hedge(Clock::time_point now) {
  if (options_.hedge_quantile <= 0 || now < next_hedge_scan_) return;
  next_hedge_scan_ = now + kScanEvery;
  // Work still queued somewhere: idle capacity will be used by it, not by copies.
  if (!pending_.empty() || !retry_.empty() || parked_ != 0) return;
  if (in_flight_ >= options_.concurrency) return;
  const auto threshold = latencies_.quantile(options_.hedge_quantile);
  if (!threshold) return;
  const auto limit = std::chrono::duration_cast<Clock::duration>(*threshold);
  for (const auto& handle : handles_) {
    if (in_flight_ >= options_.concurrency) return;
    char* priv = nullptr;
    curl_easy_getinfo(handle.get(), CURLINFO_PRIVATE, &priv);
    auto* t = reinterpret_cast<Transfer*>(priv);
    if (t == nullptr || t->probe || t->hedge || t->hedged || t->family == nullptr ||
        t->body.empty() || now - t->attempt_start <= limit) {
      continue;
    }
    const auto k = idle_sibling(*t);
    if (!k) return;  // no idle agent for this one means none for the others either
    launch_hedge(t, *k);
  }
}

// A healthy agent of t's family with nothing assigned (its slots and queue both empty), other
// than t's own; the search starts where the last one ended so that copies spread.
std::optional<std::size_t> Engine::idle_sibling(const Transfer& t) {
  const auto& family = *t.family;
  for (std::size_t i = 0; i < family.size(); ++i) {
    const std::size_t k = (hedge_cursor_ + i) % family.size();
    const std::uint32_t e = family[k];
    if (e == t.endpoint || state_[e].assigned != 0 || !health_.healthy(e)) continue;
    hedge_cursor_ = k + 1;
    return k;
  }
  return std::nullopt;
}

void Engine::launch_hedge(Transfer* t, std::size_t family_index) {
  auto copy = std::make_unique<Transfer>();
  copy->endpoint = (*t->family)[family_index];
  copy->slot = static_cast<std::uint32_t>(family_index);
  copy->path = t->path;
  copy->body = t->body;
  copy->timeout = t->timeout;
  copy->stream = t->stream;
  copy->max_bytes = t->max_bytes;
  copy->owner = this;
  copy->hedge = true;
  copy->twin = t;
  t->twin = copy.get();
  t->hedged = true;
  ++state_[copy->endpoint].assigned;
  ++stats_.hedges;
  start(copy.release());
}

// One copy of a hedged request finished an attempt. Returns true when the request completed.
bool Engine::finish_twin(const Outcome& out) {
  Transfer* t = out.t;
  Transfer* other = t->twin;
  if (succeeded(out.code, out.status)) {
    (void)note(out);
    if (t->hedge) {
      // The copy answers for the original: its caller, its clock, every attempt of both.
      ++stats_.hedge_wins;
      t->on_done = std::move(other->on_done);
      t->attempts += other->attempts;
      t->first_start = other->first_start;
    }
    cancel(other);
    t->twin = nullptr;
    reply(out);  // complete() counts the request (the original's place in outstanding_) done
    return true;
  }
  if (!other->held) {
    // The other copy is still on the wire and may yet answer.
    if (t->hedge) {
      (void)note(out);  // the copy's one attempt is its final outcome on that endpoint
      other->twin = nullptr;
      discard(t);
    } else {
      // Judged later, if at all: a retry or a failover now would run beside the copy.
      t->held = true;
      t->held_code = out.code;
      t->held_status = out.status;
      t->held_retry_after = out.retry_after;
    }
    return false;
  }
  // The copy failed after the original did: the original's own outcome decides, with its
  // retries and failover, exactly as if it had never been hedged.
  (void)note(out);
  Transfer* original = other;
  original->twin = nullptr;
  original->held = false;
  discard(t);
  Outcome held;
  held.t = original;
  held.code = original->held_code;
  held.status = original->held_status;
  held.retry_after = original->held_retry_after;
  if (retry(held) || judge(held)) return false;
  reply(held);
  return true;
}

void Engine::discard(Transfer* t) {
  const std::unique_ptr<Transfer> owned(t);
  --state_[t->endpoint].assigned;
}

void Engine::cancel(Transfer* t) {
  const std::uint32_t endpoint = t->endpoint;
  if (t->handle != nullptr) {
    // Removing a running transfer closes its connection (it cannot be reused mid-reply); the
    // server sees the client go away, and vLLM aborts the generation.
    detach(t->handle, *t);
    t->handle = nullptr;
  }
  discard(t);
  refill(endpoint);
}

}  // namespace swarm::detail
