#include "engine.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <mutex>
#include <stdexcept>

#include <fmt/format.h>

#include "log.hpp"
#include "swarm/protocol.hpp"

namespace swarm::detail {
namespace {

// Descriptors beyond the connection cache: in-flight connections being replaced, the resolver,
// stdio, log files, MPI's own sockets.
constexpr rlim_t kFdHeadroom = 128;

// Feeds a streamed 2xx reply to its decoder and times its text events. Error bodies (4xx, 5xx)
// are plain JSON and stay for http_error(). Events that arrive in one read share its time.
void on_stream_bytes(Transfer& t, std::string_view bytes) {
  long status = 0;
  curl_easy_getinfo(t.handle, CURLINFO_RESPONSE_CODE, &status);
  if (status < 200 || status >= 300) return;
  std::size_t events = t.sse->feed(bytes);
  if (events == 0) return;
  const auto now = Clock::now();
  if (t.last_token == Clock::time_point{}) {
    t.ttft = now - t.first_start;
    --events;
  } else {
    t.itl.push_back(std::chrono::duration<float>(now - t.last_token).count());
    --events;
  }
  t.itl.insert(t.itl.end(), events, 0.0F);
  t.last_token = now;
}

// Streamed attempts: aborts one that has received no byte for idle_timeout. libcurl calls this
// at least once a second while a transfer is idle; its own low-speed check (CURLOPT_LOW_SPEED_*)
// averages over several seconds, so a stream that stalls after a burst would outlive the limit.
int on_transfer_info(void* user, curl_off_t /*dltotal*/, curl_off_t /*dlnow*/,
                     curl_off_t /*ultotal*/, curl_off_t /*ulnow*/) {
  auto* t = static_cast<Transfer*>(user);
  // A stream paused by the reply budget is held by the client, not idle at the server.
  if (!t->sse || t->paused || Clock::now() - t->last_byte < t->idle_limit) return 0;
  t->idle_expired = true;
  return 1;  // CURLE_ABORTED_BY_CALLBACK, reported as a timeout (Engine::release)
}

// curl_easy_setopt through check_easy. Every value below is passed with the exact type libcurl
// reads for its option (long, curl_off_t, a pointer), as the variadic call requires.
template <typename T>
void set_option(CURL* h, CURLoption option, T value) {
  check_easy(curl_easy_setopt(h, option, value), option);
}

bool transient_curl_error(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_GOT_NOTHING:  // connection closed/reset before any reply
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
      return true;
    default:
      return false;
  }
}

bool transient_status(long status) {
  return status == 429 || status == 502 || status == 503 || status == 504;
}

}  // namespace

FailureKind classify(CURLcode code, bool too_large) noexcept {
  if (too_large) return FailureKind::oversize;  // on_body's abort surfaces as CURLE_WRITE_ERROR
  switch (code) {
    case CURLE_OK:
      return FailureKind::none;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      return FailureKind::connect;
    case CURLE_OPERATION_TIMEDOUT:
      return FailureKind::timeout;
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
      return FailureKind::reset;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CLIENTCERT:
    case CURLE_USE_SSL_FAILED:
      return FailureKind::tls;
    default:
      return FailureKind::transport;
  }
}

std::string http_error(long status, std::string_view body) {
  return fmt::format("HTTP {}: {}", status, protocol::error_message(body));
}

void ensure_curl_global_init() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
      throw std::runtime_error("curl_global_init failed");
    }
  });
}

void Engine::Fifo::push(Transfer* t) noexcept {
  t->next = nullptr;
  if (tail != nullptr) {
    tail->next = t;
  } else {
    head = t;
  }
  tail = t;
}

Transfer* Engine::Fifo::pop() noexcept {
  Transfer* t = head;
  if (t != nullptr) {
    head = t->next;
    if (head == nullptr) tail = nullptr;
    t->next = nullptr;
  }
  return t;
}

Engine::Engine(std::vector<Endpoint> endpoints, PoolOptions options)
    : endpoints_(std::move(endpoints)),
      options_(std::move(options)),
      health_(endpoints_.size(), options_) {
  options_.validate();
  ensure_curl_global_init();
  check_fd_limit();
  rng_.seed(options_.seed != 0 ? options_.seed : std::random_device{}());

  state_.resize(endpoints_.size());
  for (std::size_t i = 0; i < endpoints_.size(); ++i) state_[i].base_url = endpoints_[i].url();

  // One idle connection per endpoint must survive between rounds of round-robin work, and a
  // single endpoint may hold `concurrency` connections at once.
  const auto cache = static_cast<long>(std::max(endpoints_.size(), options_.concurrency));
  check_multi(curl_multi_setopt(multi_.get(), CURLMOPT_MAXCONNECTS, cache),
              "curl_multi_setopt(CURLMOPT_MAXCONNECTS)");

  headers_.append("Content-Type: application/json");
  headers_.append("Accept: application/json");
  headers_.append("Expect:");  // no 100-continue round trip before large prompt bodies
  if (!options_.api_key.empty()) {
    headers_.append(fmt::format("Authorization: Bearer {}", options_.api_key).c_str());
  }
}

Engine::~Engine() {
  if (outstanding_ != 0) {
    logger().warn("agent pool destroyed with {} requests outstanding; they are dropped",
                  outstanding_);
  }
  for (const auto& h : handles_) {
    char* priv = nullptr;
    curl_easy_getinfo(h.get(), CURLINFO_PRIVATE, &priv);
    if (priv != nullptr) {
      // Unchecked: a destructor must not throw, and the multi handle is cleaned up next anyway.
      curl_multi_remove_handle(multi_.get(), h.get());
      auto* t = reinterpret_cast<Transfer*>(priv);
      // A held original lives only through its copy on the wire.
      if (t->twin != nullptr && t->twin->held) delete t->twin;
      delete t;  // NOLINT(cppcoreguidelines-owning-memory)
    }
  }
  for (Fifo* q : {&pending_, &retry_, &probes_}) {
    while (Transfer* t = q->pop()) delete t;
  }
  for (auto& s : state_) {
    while (Transfer* t = s.parked.pop()) delete t;
  }
  for (auto* heap : {&backoff_, &waiting_}) {
    while (!heap->empty()) {
      delete heap->top().t;
      heap->pop();
    }
  }
}

void Engine::check_fd_limit() const {
  const rlim_t cache = std::max(endpoints_.size(), options_.concurrency);
  const rlim_t needed = cache + options_.concurrency + kFdHeadroom;
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  if (limit.rlim_cur == RLIM_INFINITY || limit.rlim_cur >= needed) return;
  if (limit.rlim_max != RLIM_INFINITY && limit.rlim_max < needed) {
    throw std::runtime_error(fmt::format(
        "open-file limit too low: {} endpoints at concurrency {} need about {} descriptors, but "
        "the hard limit (ulimit -Hn) is {}; use more ranks, a lower concurrency, or raise the "
        "limit",
        endpoints_.size(), options_.concurrency, needed, limit.rlim_max));
  }
  const rlim_t before = limit.rlim_cur;
  limit.rlim_cur = needed;
  if (setrlimit(RLIMIT_NOFILE, &limit) != 0) {
    throw std::runtime_error(fmt::format(
        "open-file limit too low: need about {} descriptors, soft limit is {} and raising it "
        "failed: {}",
        needed, before, std::strerror(errno)));
  }
  logger().debug("raised the open-file soft limit from {} to {}", before, needed);
}

void Engine::configure_handle(CURL* h) const {
  set_option(h, CURLOPT_NOSIGNAL, 1L);  // timeouts must not use SIGALRM (threads, MPI)
  set_option(h, CURLOPT_HTTPHEADER, headers_.get());
  set_option(h, CURLOPT_WRITEFUNCTION, &Engine::on_body);
  // libcurl silently re-sends a request whose reused connection died before any reply byte
  // (vLLM would then run the generation twice). The pre-request callback runs before every
  // send, so a second call within one attempt is such a re-send, and is counted as an attempt.
  set_option(h, CURLOPT_PREREQFUNCTION, &Engine::on_prereq);
  set_option(h, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
  set_option(h, CURLOPT_TCP_KEEPALIVE, 1L);
  // Keep DNS results for the pool's lifetime. libcurl keys its DNS cache by host:port (one entry
  // per endpoint) and, with expiring entries, scans the whole cache on every transfer: measured
  // 99 us of client CPU per request at 4,000 endpoints vs 21 us at 1,000. Agent addresses do not
  // move during a job.
  set_option(h, CURLOPT_DNS_CACHE_TIMEOUT, -1L);
  set_option(h, CURLOPT_CONNECTTIMEOUT_MS,
             static_cast<long>(std::ceil(options_.connect_timeout.count() * 1e3)));
  if (!options_.use_proxy) {
    // On Aurora compute nodes http_proxy is set for the outside world; libcurl would silently
    // route node-to-node agent calls through it. An empty proxy disables the variables.
    set_option(h, CURLOPT_PROXY, "");
  }
  if (!options_.ca_bundle.empty()) set_option(h, CURLOPT_CAINFO, options_.ca_bundle.c_str());
}

CURL* Engine::acquire_handle() {
  if (!idle_handles_.empty()) {
    CURL* h = idle_handles_.back();
    idle_handles_.pop_back();
    return h;
  }
  handles_.emplace_back();
  CURL* h = handles_.back().get();
  configure_handle(h);
  return h;
}

void Engine::submit(std::unique_ptr<Transfer> t) {
  if (t->endpoint >= endpoints_.size()) {
    throw std::out_of_range(
        fmt::format("endpoint {} out of range (pool has {})", t->endpoint, endpoints_.size()));
  }
  t->max_bytes = options_.max_response_bytes;
  t->owner = this;
  if (t->family != nullptr) t->failovers_left = options_.failover_attempts;
  ++state_[t->endpoint].assigned;
  pending_.push(t.release());
  ++outstanding_;
  ++stats_.submitted;
}

void Engine::dispatch() {
  const std::size_t per_cap = options_.per_agent_concurrency;
  while (in_flight_ < options_.concurrency) {
    Transfer* t = probes_.pop();
    // A full reply budget holds new transfers back (probes' replies are a few bytes).
    if (t == nullptr && budget_full() && in_flight_ > 0) return;
    if (t == nullptr) t = retry_.pop();
    if (t == nullptr) t = pending_.pop();
    if (t == nullptr) return;
    if (t->probe) {
      start(t);  // probes are outside the per-endpoint cap: one per cooling endpoint at most
      continue;
    }
    if (divert(t)) continue;
    auto& s = state_[t->endpoint];
    if (per_cap != 0 && s.in_flight >= per_cap) {
      s.parked.push(t);  // each request parks at most once per attempt: O(1) amortised
      ++parked_;
      continue;
    }
    start(t);
  }
}

void Engine::start(Transfer* t) {
  CURL* h = acquire_handle();
  // First, so that the destructor finds and frees `t` through the handle if a later call throws.
  set_option(h, CURLOPT_PRIVATE, t);
  t->handle = h;
  t->response.clear();
  t->too_large = false;
  t->error_buffer[0] = '\0';
  t->idle_expired = false;
  if (t->stream) {  // a retried stream starts over
    t->sse = std::make_unique<SseDecoder>();
    t->idle_limit = std::chrono::duration_cast<Clock::duration>(options_.idle_timeout);
    t->last_token = {};
    t->ttft = Seconds(0.0);
    t->itl.clear();
  }
  t->attempt_start = Clock::now();
  t->last_byte = t->attempt_start;
  if (t->attempts++ == 0) t->first_start = t->attempt_start;
  ++t->agent_attempts;
  t->give_up_at = {};
  if (!t->probe) ++stats_.attempts;

  const std::string url = state_[t->endpoint].base_url + t->path;
  set_option(h, CURLOPT_URL, url.c_str());  // libcurl copies the string
  if (t->body.empty()) {
    set_option(h, CURLOPT_HTTPGET, 1L);
  } else {
    set_option(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(t->body.size()));
    set_option(h, CURLOPT_POSTFIELDS, t->body.data());  // not copied: lives in `t`
  }
  set_option(h, CURLOPT_TIMEOUT_MS, static_cast<long>(std::ceil(t->timeout.count() * 1e3)));
  // Streams fail after idle_timeout without a byte; handles are reused, so other requests
  // switch the callback off again.
  set_option(h, CURLOPT_NOPROGRESS, t->stream ? 0L : 1L);
  if (t->stream) {
    set_option(h, CURLOPT_XFERINFOFUNCTION, &on_transfer_info);
    set_option(h, CURLOPT_XFERINFODATA, t);
  }
  set_option(h, CURLOPT_WRITEDATA, t);
  set_option(h, CURLOPT_ERRORBUFFER, t->error_buffer);
  set_option(h, CURLOPT_PREREQDATA, t);
  t->sends = 0;
  check_multi(curl_multi_add_handle(multi_.get(), h), "curl_multi_add_handle");

  ++in_flight_;
  if (!t->probe) ++state_[t->endpoint].in_flight;
  stats_.max_in_flight = std::max(stats_.max_in_flight, in_flight_);
}

std::size_t Engine::on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::size_t n = size * count;
  if (t->response.size() + n > t->max_bytes) {
    t->too_large = true;
    return 0;  // makes libcurl abort the transfer with CURLE_WRITE_ERROR
  }
  // libcurl keeps the refused bytes and offers them again once the transfer is unpaused.
  if (!t->owner->take_reply_bytes(*t, n)) return CURL_WRITEFUNC_PAUSE;
  t->response.append(data, n);
  if (t->sse) {
    t->last_byte = Clock::now();
    on_stream_bytes(*t, std::string_view(data, n));
  }
  return n;
}

int Engine::on_prereq(void* user, char* /*remote_ip*/, char* /*local_ip*/, int /*remote_port*/,
                      int /*local_port*/) {
  auto* t = static_cast<Transfer*>(user);
  if (t->sends++ > 0 && !t->probe) {
    ++t->attempts;
    ++t->agent_attempts;
    ++t->owner->stats_.attempts;
    ++t->owner->stats_.retries;
    ++t->owner->stats_.resends;
  }
  return CURL_PREREQFUNC_OK;
}

Seconds Engine::backoff(const Transfer& t, curl_off_t retry_after) {
  // Full jitter (uniform in [0, min(max, base * 2^(attempt-1))]) spreads a thundering herd of
  // retries from thousands of agents; a server's Retry-After is a floor. The exponent counts the
  // attempts on this endpoint only: a request that failed over starts a fresh back-off, rather
  // than inheriting seconds of waiting that the dead endpoint earned it.
  const double ceiling =
      std::min(options_.backoff_max.count(),
               options_.backoff_base.count() * std::ldexp(1.0, t.agent_attempts - 1));
  std::uniform_real_distribution<double> jitter(0.0, std::max(ceiling, 0.0));
  double delay = jitter(rng_);
  if (retry_after > 0) {
    delay = std::max(delay,
                     std::min(static_cast<double>(retry_after), options_.retry_after_max.count()));
  }
  return Seconds(delay);
}

bool Engine::finish(CURLMsg* msg) {
  const Outcome out = release(msg->easy_handle, msg->data.result);
  if (out.t->probe) {
    finish_probe(out);
    return false;
  }
  const std::uint32_t endpoint = out.t->endpoint;
  if (out.t->twin != nullptr) {
    const bool completed = finish_twin(out);
    refill(endpoint);
    return completed;
  }
  // The freed slot is refilled only after the outcome is judged: a failure that cools the
  // endpoint must divert its parked requests instead of starting one more there.
  const bool completed = !retry(out) && !judge(out);
  if (completed) reply(out);
  refill(endpoint);
  return completed;
}

// Reads what the finished handle knows, returns it to the idle list and fills the freed slot.
Engine::Outcome Engine::release(CURL* h, CURLcode code) {
  Outcome out;
  out.code = code;
  char* priv = nullptr;
  curl_easy_getinfo(h, CURLINFO_PRIVATE, &priv);
  out.t = reinterpret_cast<Transfer*>(priv);
  out.t->handle = nullptr;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out.status);
  long connects = 0;
  curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &connects);
  stats_.new_connections += static_cast<std::uint64_t>(connects);
  curl_easy_getinfo(h, CURLINFO_RETRY_AFTER, &out.retry_after);
  // An idle stream aborted by on_transfer_info is a timeout for retries, health and kinds.
  if (out.t->idle_expired) out.code = CURLE_OPERATION_TIMEDOUT;

  detach(h, *out.t);
  return out;
}

void Engine::detach(CURL* h, Transfer& t) {
  return_reply_bytes(t);
  check_multi(curl_multi_remove_handle(multi_.get(), h), "curl_multi_remove_handle");
  set_option(h, CURLOPT_PRIVATE, nullptr);
  idle_handles_.push_back(h);
  --in_flight_;
  if (!t.probe) --state_[t.endpoint].in_flight;
}

// A parked request of this endpoint is older than anything still in the global queue, and a
// completion freed both the endpoint slot and a global one. Parked requests that fail over
// instead leave the slot to the next parked one, or it would wait for a completion that may
// never come on a cooling endpoint.
void Engine::refill(std::uint32_t endpoint) {
  auto& s = state_[endpoint];
  while (!s.parked.empty() && in_flight_ < options_.concurrency) {
    Transfer* next = s.parked.pop();
    --parked_;
    if (divert(next)) continue;
    start(next);
    break;
  }
}

// Schedules another attempt of a transient failure while retries remain; true if it did.
bool Engine::retry(const Outcome& out) {
  Transfer* t = out.t;
  if (t->hedge) return false;  // a copy has one attempt: its original still has its own
  const bool transient = out.code != CURLE_OK ? (transient_curl_error(out.code) && !t->too_large)
                                              : transient_status(out.status);
  if (!transient) return false;
  if (hop(out)) return true;  // before the retry budget: a move starts a fresh one
  if (t->agent_attempts > options_.retries) return false;
  // Its failovers are spent, and its caller can send it elsewhere (wait_for_healthy false: the
  // dynamic farm gives it back to the root): failing now beats seconds of back-off on an
  // endpoint that is failing.
  if (t->family != nullptr && !t->wait_for_healthy && t->failovers_left == 0 && cools(out)) {
    return false;
  }
  // Another attempt at an endpoint that has meanwhile gone cooling would only add load there.
  if (t->family != nullptr && t->failovers_left > 0 && !health_.healthy(t->endpoint)) {
    return reroute(t);
  }
  ++stats_.retries;
  const auto delay = std::chrono::duration_cast<Clock::duration>(backoff(*t, out.retry_after));
  backoff_.push(Due{Clock::now() + delay, t});
  return true;
}

// Completes `t` (and frees it) with its last attempt's outcome.
void Engine::reply(const Outcome& out) {
  std::unique_ptr<Transfer> owned(out.t);
  Transfer* t = owned.get();
  Reply r;
  r.curl_code = out.code;
  r.kind = classify(out.code, t->too_large);
  r.http_status = out.status;
  r.attempts = t->attempts;
  r.latency = Clock::now() - t->first_start;
  if (t->too_large) {
    r.transport_error = fmt::format("response body exceeds max_response_bytes ({} bytes)",
                                    options_.max_response_bytes);
  } else if (out.code != CURLE_OK) {
    r.transport_error = t->error_buffer[0] != '\0'
                            ? fmt::format("{}: {}", curl_easy_strerror(out.code), t->error_buffer)
                            : std::string(curl_easy_strerror(out.code));
    if (t->idle_expired) {
      r.transport_error = fmt::format("no byte of the stream for {} s (idle_timeout)",
                                      options_.idle_timeout.count());
    }
    r.transport_error = redact(std::move(r.transport_error));
  }
  r.body = std::move(t->response);
  r.sse = std::move(t->sse);
  r.ttft = t->ttft;
  r.itl = std::move(t->itl);
  complete(std::move(owned), std::move(r));
}

void Engine::complete(std::unique_ptr<Transfer> t, Reply&& r) {
  r.slot = t->slot;
  --outstanding_;
  --state_[t->endpoint].assigned;
  ++stats_.completed;
  t->on_done(std::move(r));
}

std::size_t Engine::drain() {
  std::size_t done = 0;
  int left = 0;
  while (CURLMsg* msg = curl_multi_info_read(multi_.get(), &left)) {
    if (msg->msg == CURLMSG_DONE && finish(msg)) ++done;
  }
  return done;
}

void Engine::promote_due_retries(Clock::time_point now) {
  while (!backoff_.empty() && backoff_.top().when <= now) {
    retry_.push(backoff_.top().t);
    backoff_.pop();
  }
}

std::size_t Engine::poll(std::chrono::milliseconds max_wait) {
  const auto deadline = Clock::now() + max_wait;
  std::size_t delivered = 0;
  for (;;) {
    const auto now = Clock::now();
    promote_due_retries(now);
    start_due_probes(now);
    delivered += expire_waiting(now);
    dispatch();
    maybe_hedge(now);
    int running = 0;
    check_multi(curl_multi_perform(multi_.get(), &running), "curl_multi_perform");
    delivered += drain();
    resume_paused();
    // Only probes in flight: wait for them too, or an idle caller could never see them end.
    if (delivered > 0 || (outstanding_ == 0 && in_flight_ == 0)) break;
    const auto later = Clock::now();
    if (later >= deadline) break;
    // Backoffs, probes and give-ups are timers of their own, not socket events.
    const auto wait = std::min<Clock::time_point>(deadline, next_timer()) - later;
    const auto ms = std::chrono::ceil<std::chrono::milliseconds>(wait).count();
    // Sleeps in poll(2) on the transfers' sockets (and curl's own timers); no busy wait.
    check_multi(curl_multi_poll(multi_.get(), nullptr, 0,
                                static_cast<int>(std::max<long long>(ms, 0)), nullptr),
                "curl_multi_poll");
  }
  dispatch();  // start what completion callbacks submitted, before the caller goes elsewhere
  return delivered;
}

std::string Engine::redact(std::string text) const {
  if (options_.api_key.empty()) return text;
  for (auto pos = text.find(options_.api_key); pos != std::string::npos;
       pos = text.find(options_.api_key, pos + 3)) {
    text.replace(pos, options_.api_key.size(), "***");
  }
  return text;
}

}  // namespace swarm::detail
