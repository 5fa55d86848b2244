#pragma once
/// @file pool_options.hpp
/// Settings of an AgentPool: concurrency caps, timeouts, retries, protocol, and the request
/// fields passed through to vLLM. Plain struct; use designated initialisers.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace swarm {

/// Wire protocol used for prompts.
enum class Protocol : std::uint8_t {
  chat,         ///< POST /v1/chat/completions (default; vLLM's OpenAI server)
  completions,  ///< POST /v1/completions (one prompt, or a list when batching)
  generate,     ///< POST /generate {"prompt"} -> {"response"|"text"} (the seed's base protocol)
};

/// Every protocol's name, in enum order: what to_string() gives and protocol_from_string()
/// accepts (the CLI's --protocol choices).
std::span<const std::string_view> protocol_names() noexcept;
/// The protocol's name ("chat", "completions", ...).
std::string_view to_string(Protocol protocol) noexcept;
/// "chat", "completions" or "generate"; throws std::invalid_argument otherwise.
Protocol protocol_from_string(std::string_view name);

/// Durations in seconds, fractional.
using Seconds = std::chrono::duration<double>;

/// Everything an AgentPool can be told: caps, times, request fields, transport, health and failover.
struct PoolOptions {
  // --- concurrency (the client is vLLM's backpressure: it queues, it never answers 429) ---
  std::size_t concurrency = 512;          ///< In-flight cap over the whole pool (seed: 512).
  std::size_t per_agent_concurrency = 0;  ///< In-flight cap per endpoint; 0 = unlimited.

  // --- time ---
  Seconds timeout{300.0};  ///< Total time of one attempt (seed's VLLMPool: 300 s).
  /// Longest TCP (and TLS) connect of one attempt.
  Seconds connect_timeout{10.0};
  /// Streamed requests only: longest gap without a received byte (the wait for the first token
  /// included) before the attempt fails as a timeout, checked about once a second. The total
  /// `timeout` still bounds the attempt.
  Seconds idle_timeout{60.0};
  int retries = 3;            ///< Extra attempts for transient failures (total = 1 + retries).
  Seconds backoff_base{0.5};  ///< Full-jitter exponential backoff: U(0, min(max, base*2^k)).
  /// Longest back-off between two attempts.
  Seconds backoff_max{30.0};
  Seconds retry_after_max{120.0};  ///< Longest server `Retry-After` honoured.

  // --- request fields ---
  /// The endpoints' API (chat, completions, generate, ...).
  Protocol protocol = Protocol::chat;
  std::string model;          ///< Empty: the first model listed by the endpoint's /v1/models.
  std::string system_prompt;  ///< Chat only; empty: no system message.
  /// Sampling temperature; nullopt: not sent (the server's default).
  std::optional<double> temperature;
  /// Request fields added to every prompt body (null or an object), e.g. {"seed": 7}; a key
  /// here replaces what the pool sets (model, max_tokens, temperature...). Caller-written
  /// Requests only get the keys they lack. CallOptions::extra_body wins over it.
  nlohmann::json extra_body = nullptr;

  // --- max_tokens (always sent), the seed's rules and environment variables ---
  std::int64_t max_tokens = 512;            ///< AURORA_SWARM_MAX_TOKENS
  std::int64_t max_tokens_aggregation = 0;  ///< AURORA_SWARM_MAX_TOKENS_AGGREGATION; 0: 2x
  std::int64_t model_max_context = 0;       ///< AURORA_SWARM_MODEL_MAX_CONTEXT; 0: /v1/models
  std::int64_t context_buffer = 512;        ///< Tokens kept free for reasoning overhead.
  bool dynamic_max_tokens = true;           ///< min(cap, max(128, ctx - len/4 - buffer))

  // --- batching through /v1/completions with a list of prompts ---
  std::size_t batch_concurrency = 256;  ///< vLLM's max_num_seqs, for the batch timeout.
  Seconds timeout_per_sequence{60.0};   ///< AURORA_SWARM_TIMEOUT_PER_SEQUENCE
  /// Upper bound of a list request's timeout; nullopt: no bound.
  std::optional<Seconds> batch_timeout_cap;

  // --- transport ---
  std::string api_key;     ///< Sent as `Authorization: Bearer`; never logged or put in errors.
  std::string ca_bundle;   ///< PEM file for https endpoints; empty: the system store.
  bool use_proxy = false;  ///< Honour http_proxy/https_proxy for agents (off: see docs/DESIGN.md).
  /// Largest reply body kept; a larger one fails as `oversize`.
  std::size_t max_response_bytes = std::size_t{16} << 20;
  /// Reply bytes the pool's transfers may hold at once (every view of one engine together:
  /// in practice, per rank). When full, no new transfer starts and a transfer that would grow
  /// past it pauses (TCP holds the rest at the server) until another one completes; one
  /// transfer at a time may exceed it, so the pool always progresses. Peak buffered reply
  /// bytes stay at most this plus max_response_bytes.
  std::size_t reply_budget_bytes = std::size_t{1} << 30;
  std::uint64_t seed = 0;  ///< Backoff jitter seed; 0: from std::random_device.

  // --- endpoint health (always tracked) and failover (opt-in) ---
  /// Consecutive failed prompt requests (after their retries, or moved by failover) that make
  /// an endpoint `cooling`:
  /// failures below HTTP (connect, reset, timeout, tls, transport) or HTTP 5xx.
  int cooldown_failures = 3;
  Seconds probe_interval{1.0};       ///< Wait before a cooling endpoint's first /health probe.
  Seconds probe_interval_max{30.0};  ///< The wait doubles after each failed probe, up to this.
  Seconds probe_timeout{2.0};        ///< Of one /health probe (connect included).
  /// Re-target prompt and embedding requests (submit, submit_batch, embed_all and the blocking
  /// calls on them; never get()) away from cooling or failing agents to other healthy agents
  /// of the submitting pool (see AgentPool::submit). Off: every request stays on its agent.
  bool failover = false;
  /// Other agents one request may be re-targeted to (a refused connection uses none).
  int failover_attempts = 3;
  Seconds give_up_after{600.0};  ///< Longest a request waits while all its agents are cooling.
  /// Hedging near the tail; 0 = off, else a quantile in (0, 1), e.g. 0.95. When the pool has
  /// nothing queued, a failover-enabled request whose attempt has run longer than this quantile
  /// of the last 1,024 successful attempts (once 50 are known) is also sent, once, to an idle
  /// agent (nothing assigned) of its pool. The first 2xx completes it, the other transfer is
  /// cancelled; either copy failing leaves the other to answer. Costs at most one extra request
  /// per hedged request, on agents that had nothing else to do.
  double hedge_quantile = 0.0;

  /// Returns `base` with the environment applied: AURORA_SWARM_MAX_TOKENS,
  /// AURORA_SWARM_MAX_TOKENS_AGGREGATION, AURORA_SWARM_MODEL_MAX_CONTEXT,
  /// AURORA_SWARM_TIMEOUT_PER_SEQUENCE, and the API key from ASWARM_API_KEY, else OPENAI_API_KEY
  /// (when `base.api_key` is empty). Call it before applying explicit settings (flags), which
  /// take precedence. Throws std::invalid_argument naming the variable for a malformed value.
  static PoolOptions from_environment(PoolOptions base);
  /// The defaults with the environment applied (as from_environment(PoolOptions{})).
  static PoolOptions from_environment() { return from_environment(PoolOptions{}); }

  /// The aggregation cap in effect (2 x max_tokens when not set).
  [[nodiscard]] std::int64_t aggregation_cap() const noexcept {
    return max_tokens_aggregation > 0 ? max_tokens_aggregation : 2 * max_tokens;
  }

  /// Throws std::invalid_argument naming the first setting out of range.
  void validate() const;
};

}  // namespace swarm
