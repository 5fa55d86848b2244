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

namespace swarm::detail {
namespace {

// Descriptors beyond the connection cache: in-flight connections being replaced, the resolver,
// stdio, log files, MPI's own sockets.
constexpr rlim_t kFdHeadroom = 128;

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::size_t n = size * count;
  if (t->response.size() + n > t->max_bytes) {
    t->too_large = true;
    return 0;  // makes libcurl abort the transfer with CURLE_WRITE_ERROR
  }
  t->response.append(data, n);
  return n;
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
    : endpoints_(std::move(endpoints)), options_(std::move(options)) {
  options_.validate();
  ensure_curl_global_init();
  check_fd_limit();
  rng_.seed(options_.seed != 0 ? options_.seed : std::random_device{}());

  state_.resize(endpoints_.size());
  for (std::size_t i = 0; i < endpoints_.size(); ++i) state_[i].base_url = endpoints_[i].url();

  // One idle connection per endpoint must survive between rounds of round-robin work, and a
  // single endpoint may hold `concurrency` connections at once.
  const auto cache = static_cast<long>(std::max(endpoints_.size(), options_.concurrency));
  curl_multi_setopt(multi_.get(), CURLMOPT_MAXCONNECTS, cache);

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
      curl_multi_remove_handle(multi_.get(), h.get());
      delete reinterpret_cast<Transfer*>(priv);  // NOLINT(cppcoreguidelines-owning-memory)
    }
  }
  for (Fifo* q : {&pending_, &retry_}) {
    while (Transfer* t = q->pop()) delete t;
  }
  for (auto& s : state_) {
    while (Transfer* t = s.parked.pop()) delete t;
  }
  while (!backoff_.empty()) {
    delete backoff_.top().t;
    backoff_.pop();
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
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);  // timeouts must not use SIGALRM (threads, MPI)
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers_.get());
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &on_body);
  // libcurl silently re-sends a request whose reused connection died before any reply byte
  // (vLLM would then run the generation twice). The pre-request callback runs before every
  // send, so a second call within one attempt is such a re-send, and is counted as an attempt.
  curl_easy_setopt(h, CURLOPT_PREREQFUNCTION, &Engine::on_prereq);
  curl_easy_setopt(h, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
  curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
  // Keep DNS results for the pool's lifetime. libcurl keys its DNS cache by host:port (one entry
  // per endpoint) and, with expiring entries, scans the whole cache on every transfer: measured
  // 99 us of client CPU per request at 4,000 endpoints vs 21 us at 1,000. Agent addresses do not
  // move during a job.
  curl_easy_setopt(h, CURLOPT_DNS_CACHE_TIMEOUT, -1L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(std::ceil(options_.connect_timeout.count() * 1e3)));
  if (!options_.use_proxy) {
    // On Aurora compute nodes http_proxy is set for the outside world; libcurl would silently
    // route node-to-node agent calls through it. An empty proxy disables the variables.
    curl_easy_setopt(h, CURLOPT_PROXY, "");
  }
  if (!options_.ca_bundle.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, options_.ca_bundle.c_str());
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
  pending_.push(t.release());
  ++outstanding_;
  ++stats_.submitted;
}

void Engine::dispatch() {
  const std::size_t per_cap = options_.per_agent_concurrency;
  while (in_flight_ < options_.concurrency) {
    Transfer* t = retry_.pop();
    if (t == nullptr) t = pending_.pop();
    if (t == nullptr) return;
    auto& s = state_[t->endpoint];
    if (per_cap != 0 && s.in_flight >= per_cap) {
      s.parked.push(t);  // each request parks at most once per attempt: O(1) amortised
      continue;
    }
    start(t);
  }
}

void Engine::start(Transfer* t) {
  CURL* h = acquire_handle();
  t->response.clear();
  t->too_large = false;
  t->error_buffer[0] = '\0';
  if (t->attempts++ == 0) t->first_start = Clock::now();
  ++stats_.attempts;

  const std::string url = state_[t->endpoint].base_url + t->path;
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());  // libcurl copies the string
  if (t->body.empty()) {
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  } else {
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(t->body.size()));
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, t->body.data());  // not copied: lives in `t`
  }
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(std::ceil(t->timeout.count() * 1e3)));
  curl_easy_setopt(h, CURLOPT_WRITEDATA, t);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, t->error_buffer);
  curl_easy_setopt(h, CURLOPT_PRIVATE, t);
  curl_easy_setopt(h, CURLOPT_PREREQDATA, t);
  t->sends = 0;
  curl_multi_add_handle(multi_.get(), h);

  ++in_flight_;
  ++state_[t->endpoint].in_flight;
  stats_.max_in_flight = std::max(stats_.max_in_flight, in_flight_);
}

int Engine::on_prereq(void* user, char* /*remote_ip*/, char* /*local_ip*/, int /*remote_port*/,
                      int /*local_port*/) {
  auto* t = static_cast<Transfer*>(user);
  if (t->sends++ > 0) {
    ++t->attempts;
    ++t->owner->stats_.attempts;
    ++t->owner->stats_.retries;
    ++t->owner->stats_.resends;
  }
  return CURL_PREREQFUNC_OK;
}

Seconds Engine::backoff(const Transfer& t, curl_off_t retry_after) {
  // Full jitter (uniform in [0, min(max, base * 2^(attempt-1))]) spreads a thundering herd of
  // retries from thousands of agents; a server's Retry-After is a floor.
  const double ceiling = std::min(options_.backoff_max.count(),
                                  options_.backoff_base.count() * std::ldexp(1.0, t.attempts - 1));
  std::uniform_real_distribution<double> jitter(0.0, std::max(ceiling, 0.0));
  double delay = jitter(rng_);
  if (retry_after > 0) {
    delay = std::max(delay,
                     std::min(static_cast<double>(retry_after), options_.retry_after_max.count()));
  }
  return Seconds(delay);
}

bool Engine::finish(CURLMsg* msg) {
  CURL* h = msg->easy_handle;
  const CURLcode code = msg->data.result;
  char* priv = nullptr;
  curl_easy_getinfo(h, CURLINFO_PRIVATE, &priv);
  auto* t = reinterpret_cast<Transfer*>(priv);
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  long connects = 0;
  curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &connects);
  stats_.new_connections += static_cast<std::uint64_t>(connects);
  curl_off_t retry_after = 0;
  curl_easy_getinfo(h, CURLINFO_RETRY_AFTER, &retry_after);

  curl_multi_remove_handle(multi_.get(), h);
  curl_easy_setopt(h, CURLOPT_PRIVATE, nullptr);
  idle_handles_.push_back(h);
  --in_flight_;
  auto& s = state_[t->endpoint];
  --s.in_flight;
  // A parked request of this endpoint is older than anything still in the global queue, and
  // this completion freed both the endpoint slot and a global one.
  if (!s.parked.empty() && in_flight_ < options_.concurrency) start(s.parked.pop());

  const bool transient =
      code != CURLE_OK ? (transient_curl_error(code) && !t->too_large) : transient_status(status);
  if (transient && t->attempts <= options_.retries) {
    ++stats_.retries;
    backoff_.push(Due{
        Clock::now() + std::chrono::duration_cast<Clock::duration>(backoff(*t, retry_after)), t});
    return false;
  }

  Reply reply;
  reply.curl_code = code;
  reply.http_status = status;
  reply.attempts = t->attempts;
  reply.latency = Clock::now() - t->first_start;
  if (t->too_large) {
    reply.transport_error = fmt::format("response body exceeds max_response_bytes ({} bytes)",
                                        options_.max_response_bytes);
  } else if (code != CURLE_OK) {
    reply.transport_error = t->error_buffer[0] != '\0'
                                ? fmt::format("{}: {}", curl_easy_strerror(code), t->error_buffer)
                                : std::string(curl_easy_strerror(code));
    reply.transport_error = redact(std::move(reply.transport_error));
  }
  reply.body = std::move(t->response);
  std::unique_ptr<Transfer> owned(t);
  --outstanding_;
  ++stats_.completed;

  owned->on_done(std::move(reply));
  return true;
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
    promote_due_retries(Clock::now());
    dispatch();
    int running = 0;
    curl_multi_perform(multi_.get(), &running);
    delivered += drain();
    if (delivered > 0 || outstanding_ == 0) break;
    const auto now = Clock::now();
    if (now >= deadline) break;
    auto wait = deadline - now;
    if (!backoff_.empty()) wait = std::min<Clock::duration>(wait, backoff_.top().when - now);
    const auto ms = std::chrono::ceil<std::chrono::milliseconds>(wait).count();
    // Sleeps in poll(2) on the transfers' sockets (and curl's own timers); no busy wait.
    curl_multi_poll(multi_.get(), nullptr, 0, static_cast<int>(std::max<long long>(ms, 0)),
                    nullptr);
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
