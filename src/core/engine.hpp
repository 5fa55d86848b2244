#pragma once
// Internal: the curl-multi engine behind AgentPool. One per pool family (sub-pools share it).
//
// Shape (after curl's 10-at-a-time example): one CURLM; easy handles are created lazily up to the
// in-flight cap and reused; connections live in the multi handle's cache, sized to hold one per
// endpoint so round-robin work never churns TCP connections.
//
// Scheduling, all O(1) per request:
//   pending_  global FIFO of new requests
//   retry_    FIFO of retries whose backoff has elapsed (served before pending_: they are older)
//   parked    per-endpoint FIFO of requests popped while their endpoint was at its cap. A slot
//             of that endpoint frees only when one of its transfers completes, which frees a
//             global slot at the same moment, so the parked head starts right then.
//   backoff_  min-heap by due time of retries waiting out their backoff.
//   probes_   FIFO of /health probes of cooling endpoints (served first: at most one per
//             cooling endpoint, and they decide when work may return to it).
//   waiting_  min-heap by give-up time of failover requests whose pool has no healthy agent;
//             a probe that brings an endpoint back moves them all to retry_.
// Reply budget (engine_budget.cpp): the bytes held by transfers on the wire are counted; when
// they reach PoolOptions::reply_budget_bytes, dispatch starts nothing new and a transfer whose
// next bytes would overflow pauses its write callback (libcurl stops reading its socket) until a
// completion frees room. The first transfer to meet a full budget may overdraw it, alone, so
// that something always progresses.
// Hedging (opt-in, engine_hedge.cpp): when every queue is empty, a failover request whose
// attempt has run past a quantile of recent attempts gets a twin on an idle agent of its
// family; the first 2xx completes the request and the other copy is cancelled.
// Every request ends in exactly one call of its completion function. Probes are the engine's
// own GETs: they are not requests (not outstanding, not in submitted/completed/attempts).
// Health and failover (health.hpp, engine_health.cpp): the final outcome of every POST feeds
// the endpoint's HealthTable entry; a request carrying a `family` may move to another endpoint.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <queue>
#include <random>
#include <string>
#include <vector>

#include "curl_handles.hpp"
#include "health.hpp"
#include "latency_window.hpp"
#include "sse.hpp"
#include "swarm/endpoint.hpp"
#include "swarm/pool.hpp"
#include "swarm/pool_options.hpp"
#include "swarm/response.hpp"

namespace swarm::detail {

class Engine;

/// What the engine hands back for one request after its last attempt.
struct Reply {
  CURLcode curl_code = CURLE_OK;
  std::string transport_error;  ///< Set when the exchange failed below HTTP.
  /// Of the transport failure; none when HTTP completed. A request given up for want of a
  /// healthy endpoint has `transport_error` set and the kind of its endpoint's last failure.
  FailureKind kind = FailureKind::none;
  long http_status = 0;
  std::string body;
  int attempts = 0;
  Seconds latency{0.0};    ///< From the first attempt's start to the end of the last one.
  std::uint32_t slot = 0;  ///< Transfer::slot of the endpoint that gave this reply.
  /// Streamed requests: the decoded event stream of the last attempt (null otherwise), the
  /// time to its first text event and the gaps between text events (Response::ttft, itl).
  std::unique_ptr<SseDecoder> sse;
  Seconds ttft{0.0};
  std::vector<float> itl;
};

/// One HTTP request as the engine tracks it.
struct Transfer {
  std::uint32_t endpoint = 0;
  std::string path;  ///< e.g. "/v1/chat/completions"
  std::string body;  ///< POST body; empty -> GET
  Seconds timeout{0.0};
  std::function<void(Reply&&)> on_done;
  /// The caller's index of `endpoint` (a sub-pool index), handed back in Reply::slot.
  std::uint32_t slot = 0;
  /// Failover candidates: endpoint indices, indexed by slot (the submitting sub-pool's map).
  /// Null: the request never leaves `endpoint`.
  std::shared_ptr<const std::vector<std::uint32_t>> family;
  /// When no endpoint of `family` is healthy: wait for one (up to give_up_after), or fail now.
  bool wait_for_healthy = true;
  /// A streamed request ("stream": true in its body): a 2xx reply is fed to `sse` as it
  /// arrives, text events are timed, and PoolOptions::idle_timeout applies.
  bool stream = false;

  // Engine state.
  int attempts = 0;        ///< On every endpoint.
  int agent_attempts = 0;  ///< On the current endpoint (the retry budget is per endpoint).
  int failovers_left = 0;
  bool probe = false;  ///< The engine's own /health probe.
  Clock::time_point first_start{};
  Clock::time_point attempt_start{};
  Clock::time_point give_up_at{};  ///< Set while no healthy agent was found (failover).
  std::string response;
  int sends = 0;  ///< Times libcurl sent this attempt (more than 1: a silent re-send).
  bool too_large = false;
  std::size_t max_bytes = 0;
  /// On the wire, its write callback paused by the reply budget (engine_budget.cpp); listed
  /// in Engine::paused_ until resumed or detached.
  bool paused = false;
  Engine* owner = nullptr;   ///< For counting libcurl's silent re-sends (on_prereq).
  /// While on the wire: on_body reads the status of a stream through it, and a hedge's loser
  /// is cancelled through it.
  CURL* handle = nullptr;
  // Hedging (engine_hedge.cpp). While a request runs twice, each copy points at the other.
  Transfer* twin = nullptr;
  bool hedge = false;   ///< The copy: one attempt, no failover; it completes only by winning.
  bool hedged = false;  ///< Has had its copy (at most one per request).
  /// The original finished without a 2xx while its copy still runs: its outcome waits here
  /// for the copy's (no retry or failover meanwhile, so the two never both continue).
  bool held = false;
  CURLcode held_code = CURLE_OK;
  long held_status = 0;
  curl_off_t held_retry_after = 0;
  Transfer* next = nullptr;  ///< Intrusive FIFO link.
  char error_buffer[CURL_ERROR_SIZE] = {};
  // Streaming state of the current attempt (reset by Engine::start).
  std::unique_ptr<SseDecoder> sse;
  Clock::time_point last_token{};  ///< Of the last text event; unset before the first.
  Clock::time_point last_byte{};   ///< Of the last byte received (or the attempt's start).
  Clock::duration idle_limit{};    ///< PoolOptions::idle_timeout
  bool idle_expired = false;       ///< on_transfer_info aborted the attempt
  Seconds ttft{0.0};
  std::vector<float> itl;
};

/// The transport failure kind of a finished transfer (`too_large`: aborted by the body cap).
FailureKind classify(CURLcode code, bool too_large) noexcept;

/// "HTTP <status>: <server's message>", the error of a non-2xx reply.
std::string http_error(long status, std::string_view body);

class Engine {
 public:
  Engine(std::vector<Endpoint> endpoints, PoolOptions options);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;
  Engine(Engine&&) = delete;
  Engine& operator=(Engine&&) = delete;

  /// Queues a request; it starts when the caps allow. Never blocks, never calls on_done itself.
  void submit(std::unique_ptr<Transfer> t);

  /// Drives transfers for at most `max_wait` and invokes completion functions. Returns after
  /// the first pass that completed something, when nothing is outstanding, or at the deadline.
  /// Throws (check_multi, check_easy) when libcurl refuses a call: a bug, after which the
  /// engine is only fit to be destroyed.
  std::size_t poll(std::chrono::milliseconds max_wait);

  [[nodiscard]] std::size_t outstanding() const noexcept { return outstanding_; }
  [[nodiscard]] const std::vector<Endpoint>& endpoints() const noexcept { return endpoints_; }
  [[nodiscard]] const PoolOptions& options() const noexcept { return options_; }
  [[nodiscard]] const PoolStats& stats() const noexcept { return stats_; }
  [[nodiscard]] const HealthTable& health() const noexcept { return health_; }
  /// HealthTable::suspect on endpoint `e` (std::out_of_range past the endpoints): it is probed
  /// at the next poll() and gets no failover traffic until the probe answers.
  void suspect(std::uint32_t e);
  /// Requests of endpoint `e` submitted and not completed.
  [[nodiscard]] std::size_t assigned(std::uint32_t e) const noexcept { return state_[e].assigned; }

  /// Replaces every occurrence of the API key with "***" (errors must never carry it).
  [[nodiscard]] std::string redact(std::string text) const;

 private:
  struct Fifo {
    Transfer* head = nullptr;
    Transfer* tail = nullptr;
    void push(Transfer* t) noexcept;
    Transfer* pop() noexcept;
    [[nodiscard]] bool empty() const noexcept { return head == nullptr; }
  };
  struct EndpointState {
    std::string base_url;       ///< scheme://authority
    std::size_t in_flight = 0;  ///< Requests on the wire (probes excluded).
    std::size_t assigned = 0;   ///< Requests submitted and not completed.
    Fifo parked;
  };
  struct Due {
    Clock::time_point when;
    Transfer* t;
    bool operator>(const Due& o) const noexcept { return when > o.when; }
  };

  void check_fd_limit() const;
  CURL* acquire_handle();
  void configure_handle(CURL* h) const;
  void dispatch();
  void start(Transfer* t);
  std::size_t drain();
  /// One finished attempt, as finish() hands it from release() to retry() or reply().
  struct Outcome {
    Transfer* t = nullptr;
    CURLcode code = CURLE_OK;
    long status = 0;
    curl_off_t retry_after = 0;
  };
  bool finish(CURLMsg* msg);  // returns true if the request completed (not retried)
  Outcome release(CURL* h, CURLcode code);
  void detach(CURL* h, Transfer& t);  // off the multi handle, back to the idle handles
  void refill(std::uint32_t endpoint);  // starts a parked request of `endpoint` in a freed slot
  bool retry(const Outcome& out);
  void reply(const Outcome& out);
  static int on_prereq(void* user, char* remote_ip, char* local_ip, int remote_port,
                       int local_port);
  static std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user);

  // Reply budget (engine_budget.cpp).
  /// Accounts `n` more reply bytes of `t`; false: `t` must pause (the budget is full).
  bool take_reply_bytes(Transfer& t, std::size_t n);
  void return_reply_bytes(Transfer& t);  // `t` leaves the wire
  void resume_paused();                  // after completions freed room
  [[nodiscard]] bool budget_full() const noexcept {
    return reply_bytes_ >= options_.reply_budget_bytes;
  }
  Seconds backoff(const Transfer& t, curl_off_t retry_after);
  void promote_due_retries(Clock::time_point now);
  void complete(std::unique_ptr<Transfer> t, Reply&& r);

  // Health and failover (engine_health.cpp).
  bool note(const Outcome& out);  // feeds the health table; true for a cooling failure
  bool judge(const Outcome& out);
  bool divert(Transfer* t);
  /// A failure that counts toward cooling its endpoint (health.hpp's cooling_failure).
  static bool cools(const Outcome& out);
  bool hop(const Outcome& out);  // a cooling failure moves at once to another healthy agent
  bool reroute(Transfer* t);
  [[nodiscard]] std::size_t failover_target(const Transfer& t) const;
  /// Points `t` at family member `family_index` and queues it; `charged`: one failover used.
  void move_to(Transfer* t, std::size_t family_index, bool charged = true);
  void wait_for_healthy(Transfer* t);
  void start_due_probes(Clock::time_point now);
  void finish_probe(const Outcome& out);
  std::size_t expire_waiting(Clock::time_point now);
  [[nodiscard]] Clock::time_point next_timer() const noexcept;

  // Hedging near the tail (engine_hedge.cpp).
  void maybe_hedge(Clock::time_point now);
  std::optional<std::size_t> idle_sibling(const Transfer& t);
  void launch_hedge(Transfer* t, std::size_t family_index);
  bool finish_twin(const Outcome& out);
  void discard(Transfer* t);  // frees a copy that finished and lost, without completing it
  void cancel(Transfer* t);   // takes a losing copy off the wire (or frees it, held) unfinished

  std::vector<Endpoint> endpoints_;
  PoolOptions options_;
  MultiHandle multi_;
  HeaderList headers_;
  std::vector<EasyHandle> handles_;  ///< All handles ever created (owned).
  std::vector<CURL*> idle_handles_;
  std::vector<EndpointState> state_;
  Fifo pending_;
  Fifo retry_;
  std::priority_queue<Due, std::vector<Due>, std::greater<>> backoff_;
  HealthTable health_;
  Fifo probes_;
  std::priority_queue<Due, std::vector<Due>, std::greater<>> waiting_;
  std::size_t in_flight_ = 0;
  std::size_t outstanding_ = 0;
  std::size_t parked_ = 0;  ///< Over every endpoint's parked FIFO.
  std::size_t reply_bytes_ = 0;     ///< Held by transfers on the wire (their `response`).
  Transfer* overdraft_ = nullptr;  ///< The one transfer allowed past the budget.
  std::vector<Transfer*> paused_;  ///< In pause order.
  LatencyWindow latencies_;  ///< Successful attempts, kept only while hedging is on.
  Clock::time_point next_hedge_scan_{};
  std::size_t hedge_cursor_ = 0;  ///< Where the next idle-agent search starts in a family.
  PoolStats stats_;
  std::mt19937_64 rng_;
};

}  // namespace swarm::detail
