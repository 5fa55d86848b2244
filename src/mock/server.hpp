#pragma once
/// @file server.hpp
/// The process: binds every agent's port, spreads the agents over --threads event loops
/// (agent k on loop k mod T) and runs them until SIGTERM or SIGINT.

#include <cstdint>
#include <memory>
#include <vector>

#include "agent.hpp"
#include "event_handles.hpp"
#include "metrics.hpp"
#include "options.hpp"
#include "script.hpp"

namespace swarm::mock {

class MockServer {
 public:
  /// Binds and listens on every port (port 0: the OS picks). Throws std::runtime_error naming
  /// the address that failed.
  MockServer(const Options& options, const Script* script);
  ~MockServer();

  MockServer(const MockServer&) = delete;
  MockServer& operator=(const MockServer&) = delete;
  MockServer(MockServer&&) = delete;
  MockServer& operator=(MockServer&&) = delete;

  /// The port of each agent, in agent order (the OS's choice where 0 was asked for).
  [[nodiscard]] const std::vector<std::uint16_t>& ports() const noexcept { return ports_; }

  /// Serves until SIGTERM or SIGINT, then returns after every loop has stopped.
  void run();

 private:
  struct Worker {
    EventBase base;  // declared first: the agents on it must be freed before it
    std::vector<std::unique_ptr<Agent>> agents;
  };

  static void on_stop_signal(evutil_socket_t, short, void* self);

  const Options& options_;
  std::vector<AgentStats> stats_;
  FailureCounters failures_;
  std::unique_ptr<RequestRecorder> recorder_;  // before shared_, which points at it
  SharedState shared_;
  std::vector<std::uint16_t> ports_;
  std::vector<std::unique_ptr<Worker>> workers_;
  Event stop_on_term_;  // after workers_: freed before loop 0's base
  Event stop_on_int_;
};

}  // namespace swarm::mock
