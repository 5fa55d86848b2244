#pragma once
/// @file pool.hpp
/// AgentPool: drives many OpenAI-compatible endpoints from one thread with one curl multi
/// handle. One per MPI rank in aswarm, usable alone through swarm::core.
///
/// Two layers:
///  - a step API for callers that interleave other work (MPI): submit(), then poll() drives the
///    transfers and invokes completion functions;
///  - blocking calls with the Python seed's semantics (post, send_all, broadcast_prompt,
///    send_all_batched, embed_all), built on the step API;
///  - raw GETs (get, get_all) for health probes and metadata, without protocol decoding.
/// Every request ends as exactly one Response (a failure is a value, never an exception).
/// Sub-pools (by_tag, select, slice, sample) share the engine, its caps and its connections;
/// index k of a sub-pool always means the k-th endpoint of that sub-pool.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "swarm/endpoint.hpp"
#include "swarm/pool_options.hpp"
#include "swarm/request.hpp"
#include "swarm/response.hpp"

namespace swarm {

namespace detail {
class Engine;
struct Transfer;
}  // namespace detail

/// Per-call settings.
struct CallOptions {
  std::optional<std::int64_t> max_tokens;  ///< Exact max_tokens; otherwise the pool's rule.
  bool aggregation = false;                ///< Use the aggregation cap (reduce/summarise steps).
  /// With PoolOptions::failover, what a request does when none of its pool's agents is healthy:
  /// wait up to give_up_after for a probe to bring one back (true), or fail at once with the
  /// last failure its agent had, e.g. "HTTP 503: ..." (false: for a scheduler that can send it
  /// elsewhere, such as aswarm's dynamic scatter-gather handing it to another rank).
  bool wait_for_healthy = true;
  /// False: this request stays on its agent even with PoolOptions::failover, for calls that ask
  /// particular agents on purpose (a broadcast, a blackboard member, a pipeline stage's agents),
  /// where another agent's answer would count twice.
  bool may_fail_over = true;
  /// Request fields added to every body of the call (null or an object), e.g.
  /// {"seed": 7, "stop": ["\n"], "response_format": {...}, "tools": [...]}. Over prompt bodies
  /// they win against the fields the pool sets (model, max_tokens, temperature, messages) and
  /// PoolOptions::extra_body; caller-written Requests only get the keys their body lacks (see
  /// request.hpp). Shared, because patterns copy CallOptions once per request.
  std::shared_ptr<const nlohmann::json> extra_body;
  /// Each prompt string is an encode_request() envelope (a Request or a PromptRequest), so
  /// code that moves prompts as strings (swarm::mpi's patterns) can carry whole requests.
  bool prompts_are_requests = false;
  /// Stream the answers (server-sent events): prompt bodies get `"stream": true` and
  /// `"stream_options": {"include_usage": true}` (so usage still arrives); caller-written
  /// Requests get `"stream": true` where their body has no "stream" key. Streamed Responses
  /// carry `ttft` and `itl`; PoolOptions::idle_timeout bounds the gaps. Chat and completions
  /// only (std::invalid_argument for /generate prompts and for submit_batch).
  bool stream = false;
};

/// One embedding result: `response` carries success/error/agent/latency/usage.
struct Embedding {
  /// The call's outcome; `vector` is meaningful only when it succeeded.
  Response response;
  /// The embedding returned by the server.
  std::vector<double> vector;
};

/// An endpoint's health as the engine sees it (shared by a pool and its sub-pools). Every
/// endpoint starts healthy; PoolOptions::cooldown_failures consecutive failed prompt requests
/// (below HTTP or HTTP 5xx, after retries) make it cooling; while cooling the engine probes
/// GET /health from poll() with a doubling interval, and the first 2xx answer makes it healthy.
enum class AgentHealth : std::uint8_t {
  healthy,
  cooling,
};

/// Engine counters (shared by a pool and its sub-pools; the engine counts into this struct).
struct PoolStats {
  /// Requests submitted.
  std::uint64_t submitted = 0;
  /// Requests whose callback has run.
  std::uint64_t completed = 0;
  std::uint64_t attempts = 0;  ///< HTTP attempts started (retries included).
  std::uint64_t retries = 0;   ///< Attempts beyond the first, resends included.
  std::uint64_t resends = 0;   ///< libcurl's re-sends after a reused connection died (counted).
  /// TCP/TLS connects made (CURLINFO_NUM_CONNECTS); reuse keeps this near the endpoint count.
  std::uint64_t new_connections = 0;
  /// Most requests on the wire at once.
  std::size_t max_in_flight = 0;
  std::uint64_t cooldowns = 0;  ///< Transitions healthy -> cooling.
  std::uint64_t probes = 0;     ///< /health probes of cooling endpoints started.
  std::uint64_t failovers = 0;  ///< Requests re-targeted to another agent (PoolOptions::failover).
  std::uint64_t hedges = 0;      ///< Second copies started (PoolOptions::hedge_quantile).
  std::uint64_t hedge_wins = 0;  ///< Requests the copy answered first (the original cancelled).
  /// Most reply bytes held at once by transfers on the wire (PoolOptions::reply_budget_bytes).
  std::size_t peak_reply_bytes = 0;
  /// Times a transfer paused because the reply budget was full.
  std::uint64_t budget_pauses = 0;
};

/// A pool of agents driven through one libcurl multi handle: submit, then poll() until the callbacks have run.
class AgentPool {
 public:
  /// Receives one request's Response, inside poll().
  using ResponseFn = std::function<void(Response&&)>;
  /// Receives one list request's Responses (one per prompt, in order), inside poll().
  using BatchFn = std::function<void(std::vector<Response>&&)>;

  /// Throws std::invalid_argument for bad options and std::runtime_error when the open-file
  /// limit cannot be raised to what the endpoint count and concurrency need.
  explicit AgentPool(std::vector<Endpoint> endpoints,
                     PoolOptions options = PoolOptions::from_environment());
  ~AgentPool();
  /// Another view of the same agents: copies share the engine, caps, connections and health.
  AgentPool(const AgentPool&);
  /// Makes this a view of `other`'s agents (the engine is shared, not copied).
  AgentPool& operator=(const AgentPool&);
  /// Takes over `other`'s view.
  AgentPool(AgentPool&&) noexcept;
  /// Takes over `other`'s view.
  AgentPool& operator=(AgentPool&&) noexcept;

  /// Number of agents in this pool.
  [[nodiscard]] std::size_t size() const noexcept { return map_ ? map_->size() : 0; }
  /// Endpoint of agent `agent` (std::out_of_range past size()).
  [[nodiscard]] const Endpoint& endpoint(std::size_t agent) const;
  /// The options the pool family was created with.
  [[nodiscard]] const PoolOptions& options() const noexcept;

  // ---- step API ---------------------------------------------------------------------------

  /// Queues `prompt` for agent `agent` (0 <= agent < size(), else std::out_of_range). `done`
  /// runs inside a later poll(). The first call may block briefly to read /v1/models (model
  /// name and context length) when the options leave them open.
  ///
  /// With PoolOptions::failover, a request whose agent is cooling, or that failed on its agent
  /// below HTTP or with 5xx, moves at once (no retry there first) to the healthy agent of *this*
  /// pool with the most free capacity (fewest in_flight(), ties by lower recent_latency()), at
  /// most failover_attempts times (a refused connection uses none); the failing agent is retried
  /// with back-off only when no other is healthy. Agents outside this pool (e.g. of its parent)
  /// are never used, so `agent_index` is always an index of this pool and `attempts` counts
  /// every agent's attempts. While all of this pool's agents are cooling it waits for a probe
  /// to bring one back, and fails after give_up_after with "no healthy agent for N s: <last
  /// failure>" and that failure's kind (at once, with that failure alone, when
  /// `call.wait_for_healthy` is false, which also fails it at once when its moves are spent on
  /// a failing agent). With failover off, requests never leave their agent (health is tracked).
  void submit(std::size_t agent, std::string_view prompt, ResponseFn done, CallOptions call = {});

  /// Queues a caller-written request (an OpenAI batch line's url and body) for agent `agent`:
  /// the body is sent to `request.path` as written, plus only the fills of request.hpp (model
  /// when absent, keys of call.extra_body it lacks; call.max_tokens is not applied). The
  /// Response keeps the reply `body` as received whatever the status, and succeeds on a 2xx
  /// JSON reply; text, reasoning, usage, finish_reason, id and model are read when the shape
  /// allows. Fails over like submit(). Throws std::invalid_argument if the body is no object.
  void submit_request(std::size_t agent, Request request, ResponseFn done, CallOptions call = {});

  /// Queues a prompt with per-request additions (messages, params; see request.hpp), with the
  /// pool's prompt rules otherwise. Fails over like submit().
  void submit_prompt(std::size_t agent, PromptRequest request, ResponseFn done,
                     CallOptions call = {});

  /// Queues one /v1/completions request carrying `prompts` (1..1024) for agent `agent`;
  /// `done` receives one Response per prompt, in order. Fails over like submit().
  void submit_batch(std::size_t agent, std::vector<std::string> prompts, BatchFn done,
                    CallOptions call = {});

  /// Drives all transfers of the engine (this pool and every pool sharing it) for at most
  /// `max_wait`, invoking completion functions. Returns the number of requests completed; it
  /// returns early after the first completions or when nothing is outstanding nor any /health
  /// probe in flight (probes also start from here when due). Agent failures
  /// never throw; std::logic_error means libcurl refused a call on the multi handle (a bug).
  std::size_t poll(std::chrono::milliseconds max_wait);

  /// Requests submitted to the shared engine and not yet completed.
  [[nodiscard]] std::size_t outstanding() const noexcept;

  /// poll() until nothing is outstanding.
  void wait_all();

  /// Sends prompt i (i < count) to agent i mod size(), with at most `window` requests outstanding
  /// at once (0: twice the concurrency cap), so memory stays bounded whatever `count` is.
  /// `prompt_of(i)` is called just before prompt i is queued; `on_result(i, response)` as each
  /// completes (in completion order). Returns when all are done.
  void stream(std::size_t count, const std::function<std::string(std::size_t)>& prompt_of,
              const std::function<void(std::size_t, Response&&)>& on_result, CallOptions call = {},
              std::size_t window = 0);

  /// Queues GET `path` (e.g. "/health") for agent `agent`, bounded by `timeout` (connect
  /// included; at least 1 ms) and retried like prompts (PoolOptions::retries). No protocol
  /// decoding and no /v1/models read: `done` gets a Response that succeeds on a 2xx reply and
  /// whose `text` is the reply body whatever the status (empty after a transport failure).
  /// GETs never fail over and never change an agent's health (they address one agent on
  /// purpose: probes, metadata).
  void get(std::size_t agent, std::string path, Seconds timeout, ResponseFn done);

  // ---- blocking calls (the seed's semantics) ----------------------------------------------

  /// One prompt to one agent.
  Response post(std::size_t agent, std::string_view prompt, CallOptions call = {});
  /// prompts[i] -> agent i mod size(); results in input order.
  std::vector<Response> send_all(std::span<const std::string> prompts, CallOptions call = {});
  /// The same prompt to every agent; result k is agent k's.
  std::vector<Response> broadcast_prompt(std::string_view prompt, CallOptions call = {});
  /// Like send_all, but each agent's prompts travel in /v1/completions list requests of at most
  /// `batch_size` (1..1024) prompts. Results in input order.
  std::vector<Response> send_all_batched(std::span<const std::string> prompts,
                                         std::size_t batch_size = 1024, CallOptions call = {});
  /// texts[i] embedded by agent i mod size() via /v1/embeddings (list requests of at most
  /// `batch_size` inputs per agent). Results in input order.
  std::vector<Embedding> embed_all(std::span<const std::string> texts,
                                   std::size_t batch_size = 1024);
  /// GET `path` on every agent at once (up to the concurrency cap), as get(); result k is
  /// agent k's. For health probes: `pool.select(pending).get_all("/health", 2s)`.
  std::vector<Response> get_all(std::string_view path, Seconds timeout);

  // ---- model metadata ---------------------------------------------------------------------

  /// The model name sent with requests (the configured one, else the first listed by
  /// /v1/models of the first of this pool's endpoints that answers it: the first, then up to 31
  /// more, 16 at a time; empty if none is known).
  const std::string& model();
  /// Whether model() and model_context() are configured or were read from a server (false:
  /// no endpoint answered /v1/models and the context is the 131072 fallback).
  bool model_known();
  /// Takes a model name and context learned elsewhere (another rank's endpoints) when this
  /// pool knows none; configured values are kept. swarm::mpi::Swarm::share_model() uses it.
  void adopt_model(std::string model, std::int64_t context);
  /// The context length used by the max_tokens rule (configured, from /v1/models, else 131072).
  std::int64_t model_context();
  /// max_tokens that a prompt of `prompt_chars` characters (code points) is sent with under
  /// `call`.
  std::int64_t max_tokens_for(std::size_t prompt_chars, CallOptions call = {});

  // ---- sub-pools (share engine, caps and connections) -------------------------------------

  /// Agents whose tag `key` equals `value`, in pool order.
  [[nodiscard]] AgentPool by_tag(std::string_view key, std::string_view value) const;
  /// Agents at `indices` (each < size(), else std::out_of_range), in the given order.
  [[nodiscard]] AgentPool select(std::span<const std::size_t> indices) const;
  /// Agents [start, stop) clamped to the pool, like Python's slicing.
  [[nodiscard]] AgentPool slice(std::size_t start, std::size_t stop) const;
  /// min(n, size()) distinct agents chosen reproducibly from `seed`.
  [[nodiscard]] AgentPool sample(std::size_t n, std::uint64_t seed) const;

  /// The engine's counters (shared by the pool family).
  [[nodiscard]] PoolStats stats() const;

  // ---- endpoint health (shared by the pool family) ----------------------------------------

  /// Agent `agent`'s health now.
  [[nodiscard]] AgentHealth health(std::size_t agent) const;
  /// Agents of this pool that are healthy (O(size())).
  [[nodiscard]] std::size_t healthy_count() const;
  /// The last failure that counted against agent `agent`'s health (a failed request's error,
  /// kind and http_status, or a failed probe's when no request failed), as a failed Response
  /// of that agent with attempts 0; its `error` is empty when none is known.
  [[nodiscard]] Response last_failure(std::size_t agent) const;
  /// A start-up check: makes every healthy agent of this pool cooling with its /health probe
  /// due at the next poll(). Agents whose probe answers 2xx are healthy again within one
  /// probe_timeout; the others stay cooling and are probed with the usual back-off, so
  /// endpoints that come up late join as soon as a probe finds them. Requests that may fail
  /// over (PoolOptions::failover) avoid cooling agents meanwhile.
  void probe_health();
  /// Requests of agent `agent` submitted and not completed (queued, waiting out a backoff, or
  /// on the wire), whichever pool of the family submitted them; probes are not counted.
  [[nodiscard]] std::size_t in_flight(std::size_t agent) const;
  /// Exponentially weighted mean (weight 0.2 for the newest) of the last attempt's duration of
  /// agent `agent`'s successful prompt requests; zero before the first one.
  [[nodiscard]] Seconds recent_latency(std::size_t agent) const;

 private:
  struct Shared;
  AgentPool(std::shared_ptr<Shared> shared, std::vector<std::uint32_t> map);
  void ensure_model();
  std::uint32_t engine_index(std::size_t agent) const;
  /// Points `t` at agent `agent`, with this pool's agents as failover candidates when enabled.
  /// `call` may keep it on its agent (may_fail_over) or let it fail at once (wait_for_healthy).
  void target(detail::Transfer& t, std::size_t agent, const CallOptions& call = {}) const;
  /// Queues a prompt-protocol transfer with `body` for agent `agent` (submit, submit_prompt).
  /// `stream`: the body asks for a streamed reply (decoded as server-sent events).
  void submit_body(std::size_t agent, std::string body, ResponseFn done, const CallOptions& call,
                   bool stream);

  std::shared_ptr<Shared> shared_;
  /// Sub-pool index -> engine endpoint index. Immutable and shared, so that failover can carry
  /// the submitting pool's agents with each request without copying them.
  std::shared_ptr<const std::vector<std::uint32_t>> map_;
};

}  // namespace swarm
