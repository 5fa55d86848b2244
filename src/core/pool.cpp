#include "swarm/pool.hpp"

#include <algorithm>
#include <numeric>
#include <optional>
#include <random>
#include <stdexcept>
#include <variant>

#include <fmt/format.h>

#include "log.hpp"
#include "pool_shared.hpp"
#include "protocol_internal.hpp"
#include "unicode.hpp"
#include "swarm/protocol.hpp"

namespace swarm {

using detail::Engine;
using detail::Reply;
using detail::start_response;
using detail::Transfer;

namespace {

constexpr std::int64_t kFallbackContext = 131072;  // the seed's default when /v1/models fails
constexpr Seconds kModelsTimeout{10.0};
constexpr std::size_t kModelsAtOnce = 16;  // /v1/models reads in flight while looking for one
constexpr std::size_t kModelsAsked = 32;  // endpoints tried (two waves) before falling back

const nlohmann::json& extra_of(const CallOptions& call) {
  static const nlohmann::json none;
  return call.extra_body ? *call.extra_body : none;
}

// `"stream"` of a body or of fields merged into one: true/false when set, nullopt when absent.
std::optional<bool> stream_of(const nlohmann::json& fields) {
  if (!fields.is_object()) return std::nullopt;
  const auto it = fields.find("stream");
  if (it == fields.end()) return std::nullopt;
  return it->is_boolean() && it->get<bool>();
}

// The fields CallOptions::stream adds below the call's own extra_body (which wins): usage in
// the final chunk, or a streamed run would have no token counts.
nlohmann::json streamed_extra(const CallOptions& call) {
  nlohmann::json extra = {{"stream", true}, {"stream_options", {{"include_usage", true}}}};
  protocol::merge_over(extra, extra_of(call), "CallOptions::extra_body");
  return extra;
}

// Whether a prompt body of `pool` with `params` is sent streamed: the last of the pool's extra
// body, the call's stream flag and extra body, and the request's params that says so.
bool streams(const PoolOptions& pool, const CallOptions& call, const nlohmann::json& params) {
  bool on = stream_of(pool.extra_body).value_or(false);
  if (call.stream) on = true;
  on = stream_of(extra_of(call)).value_or(on);
  return stream_of(params).value_or(on);
}

void check_streamable(const PoolOptions& pool, bool stream) {
  if (stream && pool.protocol == Protocol::generate) {
    throw std::invalid_argument("streaming needs the chat or completions protocol, not generate");
  }
}

// A 2xx reply into `r`: through the event-stream decoder when the reply was a stream, else as
// one JSON body (`plain`; also when a server ignored "stream": true and answered JSON).
template <typename Plain>
void decode_reply(const Reply& reply, Response& r, Plain&& plain) {
  if (reply.sse && reply.sse->saw_events()) {
    reply.sse->apply(r);
  } else {
    plain();
  }
}

}  // namespace

AgentPool::AgentPool(std::vector<Endpoint> endpoints, PoolOptions options) {
  if (endpoints.size() > UINT32_MAX) throw std::invalid_argument("too many endpoints");
  std::vector<std::uint32_t> map(endpoints.size());
  std::iota(map.begin(), map.end(), 0U);
  map_ = std::make_shared<const std::vector<std::uint32_t>>(std::move(map));
  shared_ = std::make_shared<Shared>(std::move(endpoints), std::move(options));
}

AgentPool::AgentPool(std::shared_ptr<Shared> shared, std::vector<std::uint32_t> map)
    : shared_(std::move(shared)),
      map_(std::make_shared<const std::vector<std::uint32_t>>(std::move(map))) {}

AgentPool::~AgentPool() = default;
AgentPool::AgentPool(const AgentPool&) = default;
AgentPool& AgentPool::operator=(const AgentPool&) = default;
AgentPool::AgentPool(AgentPool&&) noexcept = default;
AgentPool& AgentPool::operator=(AgentPool&&) noexcept = default;

const PoolOptions& AgentPool::options() const noexcept {
  return shared_->engine.options();
}

void AgentPool::target(detail::Transfer& t, std::size_t agent, const CallOptions& call) const {
  t.endpoint = engine_index(agent);
  t.slot = static_cast<std::uint32_t>(agent);
  if (options().failover && call.may_fail_over) t.family = map_;
  t.wait_for_healthy = call.wait_for_healthy;
}

std::uint32_t AgentPool::engine_index(std::size_t agent) const {
  if (agent >= size()) {
    throw std::out_of_range(fmt::format("agent {} out of range (pool has {})", agent, size()));
  }
  return (*map_)[agent];
}

const Endpoint& AgentPool::endpoint(std::size_t agent) const {
  return shared_->engine.endpoints()[engine_index(agent)];
}

std::size_t AgentPool::outstanding() const noexcept {
  return shared_->engine.outstanding();
}

std::size_t AgentPool::poll(std::chrono::milliseconds max_wait) {
  return shared_->engine.poll(max_wait);
}

void AgentPool::wait_all() {
  while (outstanding() > 0) poll(std::chrono::milliseconds(200));
}

PoolStats AgentPool::stats() const {
  return shared_->engine.stats();
}

// ---- endpoint health --------------------------------------------------------------------------

AgentHealth AgentPool::health(std::size_t agent) const {
  return shared_->engine.health().state(engine_index(agent));
}

std::size_t AgentPool::healthy_count() const {
  const auto& table = shared_->engine.health();
  return static_cast<std::size_t>(
      std::count_if(map_->begin(), map_->end(), [&](auto e) { return table.healthy(e); }));
}

Response AgentPool::last_failure(std::size_t agent) const {
  const auto& last = shared_->engine.health().last_failure(engine_index(agent));
  Response r = Response::failure(last.error, static_cast<std::int64_t>(agent), last.kind);
  r.http_status = static_cast<int>(last.http_status);
  return r;
}

void AgentPool::probe_health() {
  if (!map_) return;
  for (const auto e : *map_) shared_->engine.suspect(e);
}

std::size_t AgentPool::in_flight(std::size_t agent) const {
  return shared_->engine.assigned(engine_index(agent));
}

Seconds AgentPool::recent_latency(std::size_t agent) const {
  return shared_->engine.health().latency(engine_index(agent));
}

// ---- model metadata ---------------------------------------------------------------------------

void AgentPool::ensure_model() {
  Shared& sh = *shared_;
  if (sh.model_resolved) return;
  const PoolOptions& o = options();
  sh.model = o.model;
  sh.context = o.model_max_context;
  const bool need_name = sh.model.empty() && o.protocol != Protocol::generate;
  const bool need_context = sh.context == 0 && o.dynamic_max_tokens;
  // The seed's /generate servers have no /v1/models; ask only OpenAI-style servers.
  sh.model_known = !need_name && !need_context;
  // The seed's /generate servers have no /v1/models; ask only OpenAI-style servers. Any
  // endpoint that answers will do (the first may be down): the first alone (one request when
  // it is up), then kModelsAtOnce at a time in pool order, up to kModelsAsked of them, the
  // lowest-indexed answer winning.
  if ((need_name || need_context) && o.protocol != Protocol::generate && size() != 0) {
    const std::size_t asked = std::min(size(), kModelsAsked);
    std::string first_problem;
    for (std::size_t begin = 0, end = 0; begin < asked && !sh.model_known; begin = end) {
      end = std::min(asked, begin == 0 ? 1 : begin + kModelsAtOnce);
      std::vector<std::optional<Response>> replies(end - begin);
      for (std::size_t a = begin; a < end; ++a) {
        get(a, "/v1/models", std::min(o.timeout, kModelsTimeout),
            [&replies, k = a - begin](Response&& r) { replies[k] = std::move(r); });
      }
      // Only reached before the first prompt is queued, so no other completion runs here.
      const auto pending = [&] {
        return std::any_of(replies.begin(), replies.end(), [](const auto& r) { return !r; });
      };
      while (pending()) sh.engine.poll(std::chrono::milliseconds(100));
      for (std::size_t k = 0; k < replies.size() && !sh.model_known; ++k) {
        const Response& reply = *replies[k];
        const auto& url = endpoint(begin + k).url();
        const auto models = reply.success && reply.http_status == 200
                                ? protocol::decode_models(reply.text)
                                : std::nullopt;
        if (!models || models->empty()) {
          const bool http = reply.success || reply.kind == FailureKind::http_status;
          if (first_problem.empty()) {
            first_problem = fmt::format(
                "{}: {}", url, http ? fmt::format("HTTP {}", reply.http_status) : reply.error);
          }
          continue;
        }
        auto it = std::find_if(models->begin(), models->end(), [&](const auto& m) {
          return !sh.model.empty() && m.id == sh.model;
        });
        if (it == models->end()) it = models->begin();
        if (sh.model.empty()) sh.model = it->id;
        if (sh.context == 0) sh.context = it->max_model_len;
        sh.model_known = true;
        detail::logger().debug("model '{}' with context {} (from {}/v1/models)", sh.model,
                               sh.context, url);
      }
    }
    if (!sh.model_known) {
      detail::logger().warn("could not read /v1/models from any of {} endpoints (first: {}); "
                            "using context {}",
                            asked, first_problem, kFallbackContext);
    }
  }
  if (sh.context == 0) sh.context = kFallbackContext;
  sh.model_resolved = true;
}

bool AgentPool::model_known() {
  ensure_model();
  return shared_->model_known;
}

void AgentPool::adopt_model(std::string model, std::int64_t context) {
  ensure_model();
  Shared& sh = *shared_;
  if (sh.model_known) return;
  // Only what this pool was not configured with: --model and the context variable still win.
  if (options().model.empty()) sh.model = std::move(model);
  if (options().model_max_context == 0 && context > 0) sh.context = context;
  sh.model_known = true;
}

const std::string& AgentPool::model() {
  ensure_model();
  return shared_->model;
}

std::int64_t AgentPool::model_context() {
  ensure_model();
  return shared_->context;
}

std::int64_t AgentPool::max_tokens_for(std::size_t prompt_chars, CallOptions call) {
  if (call.max_tokens) return *call.max_tokens;
  const PoolOptions& o = options();
  const std::int64_t cap = call.aggregation ? o.aggregation_cap() : o.max_tokens;
  if (!o.dynamic_max_tokens) return cap;
  return protocol::dynamic_max_tokens(cap, model_context(), prompt_chars, o.context_buffer);
}

namespace {

// prompt_body() through the pool's frame, rebuilt when the model changes (it is resolved once).
std::string plain_body(std::optional<protocol::PromptFrame>& frame, const PoolOptions& o,
                       const std::string& model, std::string_view prompt, std::int64_t max_tokens) {
  if (!frame || frame->model() != model) frame.emplace(o, model);
  return frame->usable() ? frame->body(prompt, max_tokens)
                         : protocol::prompt_body(o, model, prompt, max_tokens);
}

}  // namespace

// ---- step API ---------------------------------------------------------------------------------

void AgentPool::submit(std::size_t agent, std::string_view prompt, ResponseFn done,
                       CallOptions call) {
  (void)engine_index(agent);  // std::out_of_range before the /v1/models read can block
  if (call.prompts_are_requests) {
    auto request = protocol::decode_envelope(prompt);
    call.prompts_are_requests = false;
    if (auto* raw = std::get_if<Request>(&request)) {
      return submit_request(agent, std::move(*raw), std::move(done), std::move(call));
    }
    return submit_prompt(agent, std::get<PromptRequest>(std::move(request)), std::move(done),
                         std::move(call));
  }
  ensure_model();
  const PoolOptions& o = options();
  const auto max_tokens = max_tokens_for(detail::code_points(prompt), call);
  if (call.stream) {
    check_streamable(o, true);
    return submit_body(agent,
                       protocol::prompt_request_body(
                           o, shared_->model, PromptRequest{std::string(prompt), nullptr, nullptr},
                           max_tokens, streamed_extra(call)),
                       std::move(done), call, streams(o, call, nullptr));
  }
  submit_body(agent,
              extra_of(call).is_null()
                  ? plain_body(shared_->frame, o, shared_->model, prompt, max_tokens)
                  : protocol::prompt_request_body(
                        o, shared_->model, PromptRequest{std::string(prompt), nullptr, nullptr},
                        max_tokens, extra_of(call)),
              std::move(done), call, streams(o, call, nullptr));
}

void AgentPool::submit_prompt(std::size_t agent, PromptRequest request, ResponseFn done,
                              CallOptions call) {
  (void)engine_index(agent);
  ensure_model();
  const auto max_tokens = max_tokens_for(protocol::prompt_chars(request), call);
  const bool stream = streams(options(), call, request.params);
  check_streamable(options(), stream);
  submit_body(agent,
              protocol::prompt_request_body(options(), shared_->model, request, max_tokens,
                                            call.stream ? streamed_extra(call) : extra_of(call)),
              std::move(done), call, stream);
}

void AgentPool::submit_request(std::size_t agent, Request request, ResponseFn done,
                               CallOptions call) {
  (void)engine_index(agent);
  ensure_model();
  auto t = std::make_unique<Transfer>();
  // A streamed request gets stream_options.include_usage where it sets no stream_options (a
  // fill like `model`, documented in the README): without it a stream reports no tokens.
  t->stream = request.body.is_object() &&
              stream_of(request.body)
                  .value_or(call.stream || stream_of(extra_of(call)).value_or(false) ||
                            stream_of(options().extra_body).value_or(false));
  nlohmann::json fills = extra_of(call);
  if (t->stream) {
    nlohmann::json stream_fills = {{"stream", true}, {"stream_options", {{"include_usage", true}}}};
    protocol::merge_over(stream_fills, fills, "CallOptions::extra_body");
    fills = std::move(stream_fills);
  }
  t->body = protocol::request_body(options(), request, shared_->model, fills);
  t->path = std::move(request.path);
  t->timeout = options().timeout;
  target(*t, agent, call);
  const Engine& engine = shared_->engine;
  t->on_done = [done = std::move(done), &engine, path = t->path](Reply&& reply) {
    Response r;
    r.agent_index = reply.slot;  // failover may have moved it
    r.body = reply.body;         // the server's answer as received, whatever the status
    if (start_response(reply, engine, r)) {
      decode_reply(reply, r, [&] { protocol::decode_request_reply(path, reply.body, r); });
      if (!r.success) r.error = engine.redact(std::move(r.error));
    }
    done(std::move(r));
  };
  shared_->engine.submit(std::move(t));
}

void AgentPool::submit_body(std::size_t agent, std::string body, ResponseFn done,
                            const CallOptions& call, bool stream) {
  const PoolOptions& o = options();
  auto t = std::make_unique<Transfer>();
  t->path = protocol::route(o.protocol);
  t->body = std::move(body);
  t->stream = stream;
  t->timeout = o.timeout;
  target(*t, agent, call);
  const Engine& engine = shared_->engine;
  t->on_done = [done = std::move(done), &engine, proto = o.protocol](Reply&& reply) {
    Response r;
    r.agent_index = reply.slot;  // failover may have moved it
    if (start_response(reply, engine, r)) {
      decode_reply(reply, r, [&] { protocol::decode_prompt_reply(proto, reply.body, r); });
      if (!r.success) r.error = engine.redact(std::move(r.error));
    }
    done(std::move(r));
  };
  shared_->engine.submit(std::move(t));
}

void AgentPool::submit_batch(std::size_t agent, std::vector<std::string> prompts, BatchFn done,
                             CallOptions call) {
  if (prompts.empty() || prompts.size() > protocol::kMaxBatch) {
    throw std::invalid_argument(
        fmt::format("a batch holds 1 to {} prompts, not {}", protocol::kMaxBatch, prompts.size()));
  }
  if (call.stream) throw std::invalid_argument("list requests (submit_batch) cannot be streamed");
  (void)engine_index(agent);  // std::out_of_range before the /v1/models read can block
  ensure_model();
  const PoolOptions& o = options();
  std::size_t chars = 0;
  for (const auto& p : prompts) chars += detail::code_points(p);  // len() in the seed
  auto t = std::make_unique<Transfer>();
  t->path = protocol::route(Protocol::completions);
  t->body = protocol::batch_body(o, shared_->model, prompts,
                                 max_tokens_for(chars / prompts.size(), call),  // the seed's mean
                                 extra_of(call));
  t->timeout = protocol::batch_timeout(o, prompts.size());
  target(*t, agent, call);
  const Engine& engine = shared_->engine;
  t->on_done = [done = std::move(done), n = prompts.size(), &engine](Reply&& reply) {
    std::vector<Response> out(n);
    Response common;
    common.agent_index = reply.slot;
    const bool ok = start_response(reply, engine, common);
    for (auto& r : out) r = common;
    if (ok) protocol::decode_batch_reply(reply.body, out);
    for (auto& r : out) {
      if (!r.success) r.error = engine.redact(std::move(r.error));
    }
    done(std::move(out));
  };
  shared_->engine.submit(std::move(t));
}

void AgentPool::stream(std::size_t count, const std::function<std::string(std::size_t)>& prompt_of,
                       const std::function<void(std::size_t, Response&&)>& on_result,
                       CallOptions call, std::size_t window) {
  if (count == 0) return;
  if (size() == 0) throw std::logic_error("cannot send prompts to an empty pool");
  if (window == 0) window = 2 * options().concurrency;
  std::size_t next = 0;
  std::size_t done = 0;
  std::size_t mine = 0;  // outstanding requests of this call (the engine may carry others)
  std::exception_ptr failure;
  // Completion functions refer to this frame, so it must not unwind while any is queued: a
  // throwing on_result (or prompt_of) stops new submissions and is rethrown once all are back.
  while (done < count && !(failure && mine == 0)) {
    while (!failure && next < count && mine < window) {
      const std::size_t i = next;
      try {
        std::string prompt = prompt_of(i);
        submit(
            i % size(), prompt,
            [&, i](Response&& r) {
              --mine;
              ++done;
              if (failure) return;
              try {
                on_result(i, std::move(r));
              } catch (...) {
                failure = std::current_exception();
              }
            },
            call);
      } catch (...) {
        failure = std::current_exception();
        break;
      }
      ++next;
      ++mine;
    }
    if (mine > 0) poll(std::chrono::milliseconds(200));
  }
  if (failure) std::rethrow_exception(failure);
}

// ---- blocking calls ---------------------------------------------------------------------------

Response AgentPool::post(std::size_t agent, std::string_view prompt, CallOptions call) {
  std::optional<Response> result;
  submit(
      agent, prompt, [&result](Response&& r) { result = std::move(r); }, call);
  while (!result) poll(std::chrono::milliseconds(200));
  return std::move(*result);
}

std::vector<Response> AgentPool::send_all(std::span<const std::string> prompts, CallOptions call) {
  std::vector<Response> results(prompts.size());
  stream(
      prompts.size(), [&](std::size_t i) { return prompts[i]; },
      [&](std::size_t i, Response&& r) { results[i] = std::move(r); }, call);
  return results;
}

std::vector<Response> AgentPool::broadcast_prompt(std::string_view prompt, CallOptions call) {
  std::vector<Response> results(size());
  const std::string text(prompt);
  stream(
      size(), [&](std::size_t) { return text; },
      [&](std::size_t i, Response&& r) { results[i] = std::move(r); }, call);
  return results;
}

}  // namespace swarm
