#include "agent.hpp"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/keyvalq_struct.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <ctime>
#include <iterator>

#include "streaming.hpp"

namespace swarm::mock {

/// A request the agent has not answered yet.
struct Agent::Pending {
  enum class Action : std::uint8_t { reply, reset, hang };
  enum class State : std::uint8_t { waiting, running, hanging };

  Agent* agent = nullptr;
  evhttp_request* req = nullptr;  ///< owned by its connection; valid until we answer or free it
  Action action = Action::reply;
  State state = State::waiting;
  HttpReply reply;
  std::chrono::microseconds delay{0};
  /// `"stream": true`: the event-stream sends (one per token) and the wait between them;
  /// `sent` of them are out. Empty for an unstreamed reply.
  std::vector<std::string> stream;
  std::size_t sent = 0;
  std::chrono::microseconds gap{0};
  Event timer;
  Event watch;  ///< readability of the client socket: the only way to see it hang up
  std::list<Pending>::iterator self;
};

namespace {

const char* reason_phrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Unknown";
  }
}

void send(evhttp_request* req, const HttpReply& reply) {
  evkeyvalq* headers = evhttp_request_get_output_headers(req);
  if (!reply.content_type.empty()) {
    evhttp_add_header(headers, "Content-Type", reply.content_type.c_str());
  }
  for (const auto& [name, value] : reply.headers) {
    evhttp_add_header(headers, name.c_str(), value.c_str());
  }
  evbuffer_add(evhttp_request_get_output_buffer(req), reply.body.data(), reply.body.size());
  evhttp_send_reply(req, reply.status, reason_phrase(reply.status), nullptr);
}

evutil_socket_t client_socket(evhttp_request* req) {
  return bufferevent_getfd(evhttp_connection_get_bufferevent(evhttp_request_get_connection(req)));
}

/// Aborts the client connection with an RST, like a crashed server. evhttp_connection_free()
/// alone would shutdown() first, and the client would see a clean FIN; connecting a TCP socket
/// to AF_UNSPEC makes Linux drop the connection with a reset right away (connect(2)), and
/// SO_LINGER 0 keeps the later close() from sending anything either.
void reset_connection(evhttp_request* req) {
  const evutil_socket_t fd = client_socket(req);
  const linger abort_on_close{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof abort_on_close);
  sockaddr unspecified{};
  unspecified.sa_family = AF_UNSPEC;
  connect(fd, &unspecified, sizeof unspecified);
  evhttp_connection_free(evhttp_request_get_connection(req));
}

timeval to_timeval(std::chrono::microseconds us) {
  return {static_cast<time_t>(us.count() / 1'000'000),
          static_cast<suseconds_t>(us.count() % 1'000'000)};
}

constexpr ev_uint16_t kAllMethods = EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                    EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
                                    EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH;

}  // namespace

Agent::Agent(const SharedState& shared, AgentStats& stats, event_base* base,
             FileDescriptor listener)
    : shared_(shared),
      stats_(stats),
      base_(base),
      answer_rng_(shared.options.seed, stats.index, RngStream::answers),
      latency_rng_(shared.options.seed, stats.index, RngStream::latency),
      failure_rng_(shared.options.seed, stats.index, RngStream::failures),
      length_rng_(shared.options.seed, stats.index, RngStream::lengths),
      http_(checked<Evhttp>(evhttp_new(base), "evhttp_new")) {
  // Let every method reach on_request, so a wrong one gets a JSON 405 rather than libevent's
  // HTML page.
  evhttp_set_allowed_methods(http_.get(), kAllMethods);
  // libevent's default is text/html; vLLM's empty /health answer is no HTML either.
  evhttp_set_default_content_type(http_.get(), "application/json");
  // Bounded so a runaway client cannot make the mock buffer without limit.
  evhttp_set_max_body_size(http_.get(), 64L << 20);
  evhttp_set_gencb(http_.get(), &Agent::on_request, this);
  if (shared.options.late[stats.index]) {
    late_listener_ = std::move(listener);
    return;
  }
  if (!accept_on(listener.release())) {
    throw std::runtime_error(fmt::format("cannot serve port {}", stats.port));
  }
}

Agent::~Agent() {
  // Streams under way have a close callback pointing at their Pending, which goes before the
  // connections do (held_ is destroyed before http_).
  for (Pending& p : held_) {
    if (p.sent > 0) {
      evhttp_connection_set_closecb(evhttp_request_get_connection(p.req), nullptr, nullptr);
    }
  }
}

void Agent::on_stream_closed(evhttp_connection* /*connection*/, void* pending) {
  // evhttp frees the connection and its request after this: only our own state is released.
  auto* p = static_cast<Pending*>(pending);
  Agent* agent = p->agent;
  agent->stats_.counters.client_disconnects.fetch_add(1, std::memory_order_relaxed);
  const bool had_slot = p->state == Pending::State::running;
  agent->release(*p);
  if (had_slot) agent->admit_waiting();
}

void Agent::refuse(evhttp_request* req) {
  if (!died_) {
    send(req, error_reply(503, "this agent is down (--dead-agents)"));
  } else if (shared_.options.die_mode == DieMode::close) {
    drop(req);
  } else {
    send(req, error_reply(503, "this agent has died (--dying-agents)"));
  }
}

void Agent::drop(evhttp_request* req) {
  // Freeing the connection inside libevent's request callback would pull it from under
  // evhttp's feet, so the reset happens on the next loop iteration.
  Pending& p = hold(req);
  p.action = Pending::Action::reset;
  p.state = Pending::State::hanging;
  p.timer = checked<Event>(evtimer_new(base_, &Agent::on_timer, &p), "evtimer_new");
  const timeval now{0, 0};
  evtimer_add(p.timer.get(), &now);
}

void Agent::on_request(evhttp_request* req, void* self) {
  static_cast<Agent*>(self)->handle(req);
}

void Agent::on_timer(evutil_socket_t /*fd*/, short /*what*/, void* pending) {
  auto* p = static_cast<Pending*>(pending);
  p->agent->complete(*p);
}

void Agent::on_client_readable(evutil_socket_t fd, short /*what*/, void* pending) {
  auto* p = static_cast<Pending*>(pending);
  char byte = 0;
  const ssize_t n = recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n > 0) return;  // a pipelined request: stop watching, the reply will still go out
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
    event_add(p->watch.get(), nullptr);
    return;
  }
  p->agent->abandon(*p);  // EOF or a reset: nobody is waiting for the answer any more
}

void Agent::handle(evhttp_request* req) {
  const evhttp_uri* uri = evhttp_request_get_evhttp_uri(req);
  const char* raw_path = uri != nullptr ? evhttp_uri_get_path(uri) : nullptr;
  std::string_view path = raw_path != nullptr ? raw_path : "";
  // Behind a gateway every route lives under its base path; anything else is not ours.
  const std::string_view prefix = shared_.options.path_prefix;
  const bool prefixed =
      path.starts_with(prefix) && path.size() > prefix.size() && path[prefix.size()] == '/';
  if (prefixed) path.remove_prefix(prefix.size());
  const Route route = !prefix.empty() && !prefixed ? Route::other : route_of(path);
  stats_.counters.count(route);

  if (stats_.dead || died_) {
    refuse(req);
    return;
  }
  if (route == Route::other) {
    send(req, error_reply(404, fmt::format("Not Found: {}", path)));
    return;
  }
  const bool get_route =
      route == Route::models || route == Route::health || route == Route::metrics;
  const evhttp_cmd_type expected = get_route ? EVHTTP_REQ_GET : EVHTTP_REQ_POST;
  if (evhttp_request_get_command(req) != expected) {
    HttpReply reply = error_reply(
        405, fmt::format("Method Not Allowed: {} takes {}", path, get_route ? "GET" : "POST"));
    reply.headers.emplace_back("Allow", get_route ? "GET" : "POST");
    send(req, reply);
    return;
  }
  switch (route) {
    case Route::health: {
      const std::chrono::duration<double> up = std::chrono::steady_clock::now() - shared_.started;
      if (up.count() < shared_.options.health_delay_s) {
        send(req, error_reply(503, "still starting up (--health-delay)"));
      } else {
        send(req, HttpReply{200, "", "", {}});  // vLLM: 200 with an empty body
      }
      return;
    }
    case Route::metrics:
      send(req, HttpReply{200,
                          render_metrics(shared_.all_agents, shared_.failures),
                          "text/plain; version=0.0.4; charset=utf-8",
                          {}});
      return;
    case Route::models:
      send(req, models_reply(shared_.options, std::time(nullptr)));
      return;
    default: {
      handle_generation(req, path);
      const Options& o = shared_.options;
      // The Nth request is answered as usual; the agent is dead from the next one on.
      if (o.dying[stats_.index] && o.die_after_requests &&
          ++generation_requests_ >= *o.die_after_requests) {
        die();
      }
    }
  }
}

void Agent::handle_generation(evhttp_request* req, std::string_view path) {
  evbuffer* input = evhttp_request_get_input_buffer(req);
  const std::size_t length = evbuffer_get_length(input);
  const auto* data = reinterpret_cast<const char*>(evbuffer_pullup(input, -1));
  const std::string_view body(data != nullptr ? data : "", data != nullptr ? length : 0);

  const ApiContext ctx{shared_.options, stats_.index, sequence_++, std::time(nullptr)};
  ApiResult result = swarm::mock::handle_generation(
      path, body, ctx, [this](std::string_view prompt, std::optional<std::uint64_t> seed) {
        return answer(prompt, seed);
      });
  if (!result.ok) result.reply = shape_error(std::move(result.reply), shared_.options);
  if (shared_.recorder != nullptr) {
    shared_.recorder->record(stats_.index, path, body, result.reply.status, result.reply.body);
  }
  if (!result.ok) {
    send(req, result.reply);
    return;
  }
  if (const auto kind = draw_failure()) {
    if (*kind != FailureKind::stream_error || result.stream.empty()) {
      inject(req, *kind, std::move(result.reply));
      return;
    }
    shared_.failures.count(*kind);
    cut_stream(result.stream);  // then streamed on the usual clock
  }
  const bool streamed = !result.stream.empty();
  const auto [delay, gap] =
      streamed ? stream_timing(result.completion_tokens)
               : std::pair{sample_latency(result.completion_tokens), std::chrono::microseconds(0)};
  const std::size_t limit = shared_.options.max_concurrent;
  if (!streamed && delay.count() == 0 && waiting_.empty() && (limit == 0 || running_ < limit)) {
    // Nothing to wait for: answer now, but still show up in the gauges.
    stats_.counters.enter_in_flight();
    stats_.counters.enter_running();
    send(req, result.reply);
    stats_.counters.leave_running();
    stats_.counters.leave_in_flight();
    return;
  }
  Pending& p = hold(req);
  p.reply = std::move(result.reply);
  p.delay = delay;
  p.stream = std::move(result.stream);
  p.gap = gap;
  if (limit == 0 || running_ < limit) {
    start(p);
  } else {
    waiting_.push_back(&p);
  }
}

std::optional<FailureKind> Agent::draw_failure() {
  const auto& rates = shared_.options.failure_rates;
  if (std::all_of(rates.begin(), rates.end(), [](double r) { return r == 0.0; })) {
    return std::nullopt;
  }
  double u = failure_rng_.uniform01();
  for (std::size_t k = 0; k < kFailureKinds; ++k) {
    if (u < rates.at(k)) return static_cast<FailureKind>(k);
    u -= rates.at(k);
  }
  return std::nullopt;
}

void Agent::inject(evhttp_request* req, FailureKind kind, HttpReply reply) {
  shared_.failures.count(kind);
  switch (kind) {
    case FailureKind::http500:
      send(req, shape_error(error_reply(500, "injected failure (--fail-500)"), shared_.options));
      return;
    case FailureKind::stream_error:  // an unstreamed request: the error cannot come later
      send(req, shape_error(error_reply(500, "injected failure (--fail-stream-error)"),
                            shared_.options));
      return;
    case FailureKind::http429: {
      HttpReply busy = error_reply(429, "injected rate limit (--fail-429)");
      busy.headers.emplace_back("Retry-After", std::to_string(shared_.options.retry_after_s));
      send(req, busy);
      return;
    }
    case FailureKind::malformed:
      send(req, HttpReply{200,
                          R"({"id": "chatcmpl-malformed", "choices": [{"index": 0,)",
                          "application/json",
                          {}});
      return;
    case FailureKind::truncated: {
      // Announce the whole body, send half of it, then close: the client sees a short read.
      const std::size_t announced = reply.body.size();
      reply.body.resize(announced / 2);
      reply.headers.emplace_back("Content-Length", std::to_string(announced));
      reply.headers.emplace_back("Connection", "close");
      send(req, reply);
      return;
    }
    case FailureKind::reset:
      drop(req);
      return;
    case FailureKind::hang: {
      Pending& p = hold(req);
      p.action = Pending::Action::hang;
      p.state = Pending::State::hanging;
      return;
    }
  }
}

std::chrono::microseconds Agent::sample_latency(std::size_t completion_tokens) {
  const LatencySpec& spec = shared_.options.latency;
  double ms = 0.0;
  switch (spec.kind) {
    case LatencySpec::Kind::fixed:
      ms = spec.a;
      break;
    case LatencySpec::Kind::uniform:
      ms = spec.a + (spec.b - spec.a) * latency_rng_.uniform01();
      break;
    case LatencySpec::Kind::lognormal:
      ms = spec.a * std::exp(spec.b * latency_rng_.normal());
      break;
    case LatencySpec::Kind::tokens:
      ms = spec.a + spec.b * static_cast<double>(completion_tokens);
      break;
  }
  if (stats_.slow) ms *= shared_.options.slow_factor;
  return std::chrono::microseconds(std::llround(ms * 1000.0));
}

std::pair<std::chrono::microseconds, std::chrono::microseconds> Agent::stream_timing(
    std::size_t completion_tokens) {
  const LatencySpec& spec = shared_.options.latency;
  if (spec.kind != LatencySpec::Kind::tokens) {
    // No per-token model: the whole delay passes before the first token, the rest follow.
    return {sample_latency(completion_tokens), std::chrono::microseconds(0)};
  }
  // tokens:TTFT:PER: the first token after TTFT, each next one PER later.
  const double slow = stats_.slow ? shared_.options.slow_factor : 1.0;
  return {std::chrono::microseconds(std::llround(spec.a * slow * 1000.0)),
          std::chrono::microseconds(std::llround(spec.b * slow * 1000.0))};
}

void Agent::stream_next(Pending& p) {
  evhttp_request* req = p.req;
  if (p.sent == 0) {
    // Each token is a small write: without TCP_NODELAY, Nagle's algorithm would hold it until
    // the client's delayed ACK (~40 ms) and distort the inter-token times being measured.
    const int on = 1;
    setsockopt(client_socket(req), IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    // Once the reply has started, evhttp owns the connection's failure handling (a client that
    // leaves mid-stream makes it free the connection): watch through its close callback.
    p.watch.reset();
    evhttp_connection_set_closecb(evhttp_request_get_connection(req), &Agent::on_stream_closed, &p);
    evkeyvalq* headers = evhttp_request_get_output_headers(req);
    evhttp_add_header(headers, "Content-Type", "text/event-stream");
    evhttp_add_header(headers, "Cache-Control", "no-cache");
    evhttp_send_reply_start(req, 200, "OK");
  }
  evbuffer* out = evbuffer_new();
  do {
    const std::string& bytes = p.stream[p.sent++];
    evbuffer_add(out, bytes.data(), bytes.size());
  } while (p.gap.count() == 0 && p.sent < p.stream.size());
  evhttp_send_reply_chunk(req, out);
  evbuffer_free(out);
  if (p.sent < p.stream.size()) {
    const timeval gap = to_timeval(p.gap);
    evtimer_add(p.timer.get(), &gap);
    return;
  }
  const bool had_slot = p.state == Pending::State::running;
  evhttp_connection_set_closecb(evhttp_request_get_connection(req), nullptr, nullptr);
  evhttp_send_reply_end(req);
  release(p);
  if (had_slot) admit_waiting();
}

std::string Agent::answer(std::string_view prompt, std::optional<std::uint64_t> seed) {
  const Options& o = shared_.options;
  std::string text;
  switch (o.mode) {
    case Mode::echo:
      text = fmt::format("completion: {}", prompt);
      break;
    case Mode::fixed:
      text = expand_placeholders(o.text, prompt, stats_.index, stats_.role);
      break;
    case Mode::script:
      return expand_placeholders(shared_.script->pick(prompt, stats_.role, answer_rng_, seed), prompt,
                                 stats_.index, stats_.role);
  }
  if (o.output_tokens) fit_tokens(text, draw_length());
  return text;
}

std::size_t Agent::draw_length() {
  const LengthSpec& spec = *shared_.options.output_tokens;
  double tokens = spec.a;
  if (spec.kind == LengthSpec::Kind::uniform) {
    const auto span = static_cast<std::uint64_t>(spec.b - spec.a) + 1;  // both bounds included
    tokens = spec.a + static_cast<double>(length_rng_.below(span));
  } else if (spec.kind == LengthSpec::Kind::lognormal) {
    tokens = std::round(spec.a * std::exp(spec.b * length_rng_.normal()));
  }
  // A long lognormal tail is cut at the context length, where vLLM would stop too.
  const auto cap = static_cast<double>(shared_.options.max_model_len);
  return static_cast<std::size_t>(std::min(tokens, cap));
}

Agent::Pending& Agent::hold(evhttp_request* req) {
  Pending& p = held_.emplace_back();
  p.agent = this;
  p.req = req;
  p.self = std::prev(held_.end());
  p.watch = checked<Event>(
      event_new(base_, client_socket(req), EV_READ, &Agent::on_client_readable, &p), "event_new");
  event_add(p.watch.get(), nullptr);
  stats_.counters.enter_in_flight();
  return p;
}

void Agent::start(Pending& p) {
  p.state = Pending::State::running;
  ++running_;
  stats_.counters.enter_running();
  p.timer = checked<Event>(evtimer_new(base_, &Agent::on_timer, &p), "evtimer_new");
  const timeval delay = to_timeval(p.delay);
  evtimer_add(p.timer.get(), &delay);
}

void Agent::complete(Pending& p) {
  evhttp_request* req = p.req;
  if (p.action == Pending::Action::reset) {
    release(p);
    reset_connection(req);
    return;
  }
  if (!p.stream.empty()) {
    stream_next(p);
    return;
  }
  const bool had_slot = p.state == Pending::State::running;
  p.watch.reset();  // the connection may be reused or freed once the reply is out
  send(req, p.reply);
  release(p);
  if (had_slot) admit_waiting();
}

void Agent::abandon(Pending& p) {
  stats_.counters.client_disconnects.fetch_add(1, std::memory_order_relaxed);
  evhttp_connection* connection = evhttp_request_get_connection(p.req);
  const bool had_slot = p.state == Pending::State::running;
  release(p);
  evhttp_connection_free(connection);  // also frees the request
  if (had_slot) admit_waiting();
}

void Agent::release(Pending& p) {
  if (p.state == Pending::State::running) {
    --running_;
    stats_.counters.leave_running();
  } else if (p.state == Pending::State::waiting) {
    const auto it = std::find(waiting_.begin(), waiting_.end(), &p);
    if (it != waiting_.end()) waiting_.erase(it);
  }
  stats_.counters.leave_in_flight();
  held_.erase(p.self);  // frees the timer and the watch
}

void Agent::admit_waiting() {
  const std::size_t limit = shared_.options.max_concurrent;
  while (!waiting_.empty() && (limit == 0 || running_ < limit)) {
    Pending* next = waiting_.front();
    waiting_.pop_front();
    start(*next);
  }
}

}  // namespace swarm::mock
