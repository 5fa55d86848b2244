/// @file agent_lifecycle.cpp
/// When an agent serves: --late-agents start listening after --late-after-seconds, and
/// --dying-agents die after --die-after-requests or --die-after-seconds (see agent.hpp).

#include <fmt/format.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>

#include "agent.hpp"

namespace swarm::mock {
namespace {

timeval seconds_timeval(double seconds) {
  const auto us = std::llround(seconds * 1e6);
  return {static_cast<time_t>(us / 1'000'000), static_cast<suseconds_t>(us % 1'000'000)};
}

}  // namespace

bool Agent::accept_on(int listener) {
  bound_ = evhttp_accept_socket_with_handle(http_.get(), listener);
  if (bound_ == nullptr) {
    ::close(listener);
    return false;
  }
  return true;  // from here on evhttp owns the socket and closes it with the listener
}

void Agent::arm_timers() {
  const Options& o = shared_.options;
  if (o.late[stats_.index]) {
    come_up_timer_ = checked<Event>(evtimer_new(base_, &Agent::on_come_up, this), "evtimer_new");
    const timeval delay = seconds_timeval(o.late_after_s);
    evtimer_add(come_up_timer_.get(), &delay);
  } else {
    arm_die_timer();
  }
}

void Agent::arm_die_timer() {
  const Options& o = shared_.options;
  if (!o.dying[stats_.index] || !o.die_after_seconds) return;
  die_timer_ = checked<Event>(evtimer_new(base_, &Agent::on_die, this), "evtimer_new");
  const timeval delay = seconds_timeval(*o.die_after_seconds);
  evtimer_add(die_timer_.get(), &delay);
}

void Agent::on_come_up(evutil_socket_t /*fd*/, short /*what*/, void* self) {
  auto* agent = static_cast<Agent*>(self);
  // Bound since start-up, so the port in the hostfile was this one all along; until listen()
  // the kernel answers connection attempts with a reset (connection refused).
  const int fd = agent->late_listener_.get();
  // A callback cannot throw through libevent: a late agent that fails to listen stays down.
  if (listen(fd, SOMAXCONN) != 0) {
    fmt::print(stderr, "aswarm-mock-agent: error: late agent {} cannot listen on port {}: {}\n",
               agent->stats_.index, agent->stats_.port, std::strerror(errno));
    return;
  }
  if (!agent->accept_on(agent->late_listener_.release())) {
    fmt::print(stderr, "aswarm-mock-agent: error: late agent {} cannot serve port {}\n",
               agent->stats_.index, agent->stats_.port);
    return;
  }
  agent->stats_.up.store(true, std::memory_order_relaxed);
  agent->arm_die_timer();  // a late agent's --die-after-seconds counts from now
}

void Agent::on_die(evutil_socket_t /*fd*/, short /*what*/, void* self) {
  static_cast<Agent*>(self)->die();
}

void Agent::die() {
  if (died_) return;
  died_ = true;
  stats_.up.store(false, std::memory_order_relaxed);
  if (shared_.options.die_mode == DieMode::close && bound_ != nullptr) {
    // Frees the listener and closes its socket: new connections are refused. Connections
    // already open stay, and refuse() resets each on its next request. Safe inside a request
    // callback: that runs on a connection, not on the listener.
    evhttp_del_accept_socket(http_.get(), bound_);
    bound_ = nullptr;
  }
}

}  // namespace swarm::mock
