#pragma once
/// @file agent.hpp
/// One mock agent: an evhttp server on one listening socket, with its own answer/latency/failure/
/// length random streams, its --max-concurrent FIFO, the requests it is holding, and its life
/// cycle (--late-agents come up late, --dying-agents die).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "event_handles.hpp"
#include "metrics.hpp"
#include "openai_api.hpp"
#include "options.hpp"
#include "recorder.hpp"
#include "rng.hpp"
#include "script.hpp"

namespace swarm::mock {

/// What every agent of the process reads; set up before any event loop runs.
struct SharedState {
  const Options& options;
  const Script* script = nullptr;          ///< set in --mode script
  std::span<const AgentStats> all_agents;  ///< rendered by /metrics
  FailureCounters& failures;
  std::chrono::steady_clock::time_point started;  ///< --health-delay counts from here
  RequestRecorder* recorder = nullptr;            ///< set with --record
};

class Agent {
 public:
  /// Serves `listener` on `base`: at once when it is listening already, or, for a late agent
  /// (bound only), from --late-after-seconds on. Throws std::runtime_error.
  Agent(const SharedState& shared, AgentStats& stats, event_base* base, FileDescriptor listener);
  ~Agent();

  /// Starts the --late-after-seconds and --die-after-seconds clocks; called once, just before
  /// the event loops run, so that both count from the ready line like --health-delay.
  void arm_timers();

  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;
  Agent(Agent&&) = delete;
  Agent& operator=(Agent&&) = delete;

 private:
  struct Pending;

  static void on_request(evhttp_request* req, void* self);
  static void on_timer(evutil_socket_t, short, void* pending);
  static void on_client_readable(evutil_socket_t fd, short, void* pending);
  static void on_come_up(evutil_socket_t, short, void* self);
  static void on_stream_closed(evhttp_connection* connection, void* pending);
  static void on_die(evutil_socket_t, short, void* self);

  /// Hands a listening socket to evhttp; closes it and returns false when evhttp refuses.
  bool accept_on(int listener);
  void arm_die_timer();
  void die();
  /// The answer of a dead agent: a 503, or a reset with --die-mode close.
  void refuse(evhttp_request* req);
  /// Resets the client connection on the next loop iteration, without an answer.
  void drop(evhttp_request* req);

  void handle(evhttp_request* req);
  void handle_generation(evhttp_request* req, std::string_view path);
  void inject(evhttp_request* req, FailureKind kind, HttpReply reply);
  std::optional<FailureKind> draw_failure();
  std::chrono::microseconds sample_latency(std::size_t completion_tokens);
  /// Of a streamed reply: (wait for the first token, wait between tokens).
  std::pair<std::chrono::microseconds, std::chrono::microseconds> stream_timing(
      std::size_t completion_tokens);
  /// Writes the next due sends of a streamed reply; ends it after the last.
  void stream_next(Pending& pending);
  std::string answer(std::string_view prompt, std::optional<std::uint64_t> seed);
  std::size_t draw_length();

  /// Takes ownership of an unanswered request until its reply is sent or its client leaves.
  Pending& hold(evhttp_request* req);
  void start(Pending& pending);
  void complete(Pending& pending);
  void abandon(Pending& pending);
  void release(Pending& pending);
  void admit_waiting();

  const SharedState& shared_;
  AgentStats& stats_;
  event_base* base_;
  Rng answer_rng_;
  Rng latency_rng_;
  Rng failure_rng_;
  Rng length_rng_;
  std::uint64_t sequence_ = 0;
  std::size_t running_ = 0;
  std::uint64_t generation_requests_ = 0;  ///< what --die-after-requests counts
  bool died_ = false;
  FileDescriptor late_listener_;          ///< bound, not listening, until on_come_up
  evhttp_bound_socket* bound_ = nullptr;  ///< owned by http_; null while not listening
  Event come_up_timer_;
  Event die_timer_;
  // Declared before the pending requests: those (and their events) must go first, while the
  // connections they watch still exist.
  Evhttp http_;
  std::list<Pending> held_;
  std::deque<Pending*> waiting_;  ///< FIFO of held requests without a slot yet
};

}  // namespace swarm::mock
