// The reply budget: a cap on the reply bytes one engine (one rank, in practice) holds for
// transfers still on the wire. max_response_bytes caps one reply; without this, concurrency x
// max_response_bytes is the bound (8 GiB at 512 x 16 MiB), and a fleet sending oversized
// replies at once takes the node's memory. Pausing rather than failing keeps every request:
// a paused transfer's bytes wait in the kernel's socket buffers and at the server (TCP flow
// control), and resume when a completion has made room.

#include <algorithm>
#include <new>
#include <stdexcept>
#include <string>

#include "engine.hpp"

namespace swarm::detail {

bool Engine::take_reply_bytes(Transfer& t, std::size_t n) {
  if (reply_bytes_ + n > options_.reply_budget_bytes && overdraft_ != &t) {
    // One transfer may overdraw, so that a budget smaller than one reply, or replies that all
    // grew together, can never stall the pool: it ends, and its bytes are returned.
    if (overdraft_ != nullptr) {
      if (!t.paused) {
        t.paused = true;
        paused_.push_back(&t);
        ++stats_.budget_pauses;
      }
      return false;
    }
    overdraft_ = &t;
  }
  reply_bytes_ += n;
  stats_.peak_reply_bytes = std::max(stats_.peak_reply_bytes, reply_bytes_);
  return true;
}

void Engine::return_reply_bytes(Transfer& t) {
  reply_bytes_ -= std::min(reply_bytes_, t.response.size());
  if (overdraft_ == &t) overdraft_ = nullptr;
  if (t.paused) {
    // A paused transfer can still end (its total timeout, a hedge's cancel): it must not stay
    // listed once freed.
    t.paused = false;
    paused_.erase(std::find(paused_.begin(), paused_.end(), &t));
  }
}

void Engine::resume_paused() {
  if (paused_.empty() || (budget_full() && overdraft_ != nullptr)) return;
  // Oldest first. Unpausing delivers the held bytes from inside curl_easy_pause, and on_body
  // may pause the transfer again (re-listing it), so work on a copy of the list.
  std::vector<Transfer*> waiting;
  waiting.swap(paused_);
  for (std::size_t i = 0; i < waiting.size(); ++i) {
    Transfer* t = waiting[i];
    if (budget_full() && overdraft_ != nullptr) {
      // No room left: the rest stay paused, ahead of any transfer paused meanwhile.
      paused_.insert(paused_.begin(), waiting.begin() + static_cast<std::ptrdiff_t>(i),
                     waiting.end());
      return;
    }
    t->paused = false;
    const CURLcode code = curl_easy_pause(t->handle, CURLPAUSE_CONT);
    // A replay that overflowed max_response_bytes reports it here, with too_large set: the
    // transfer's next write aborts it, or it ends with these last bytes, as `oversize` either way.
    if (code != CURLE_OK && !(code == CURLE_WRITE_ERROR && t->too_large)) {
      if (code == CURLE_OUT_OF_MEMORY) throw std::bad_alloc();
      throw std::logic_error(std::string("curl_easy_pause failed: ") + curl_easy_strerror(code));
    }
  }
}

}  // namespace swarm::detail
