#include "server.hpp"

#include <event2/thread.h>
#include <fmt/format.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <stdexcept>
#include <thread>

namespace swarm::mock {
namespace {

/// The listening address for --host (any numeric IPv4/IPv6 address or a resolvable name).
sockaddr_storage resolve_host(const std::string& host, socklen_t& length) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  if (const int rc = getaddrinfo(host.c_str(), nullptr, &hints, &found); rc != 0) {
    throw std::runtime_error(fmt::format("--host {}: {}", host, gai_strerror(rc)));
  }
  sockaddr_storage address{};
  std::memcpy(&address, found->ai_addr, found->ai_addrlen);
  length = found->ai_addrlen;
  freeaddrinfo(found);
  return address;
}

void set_port(sockaddr_storage& address, std::uint16_t port) {
  if (address.ss_family == AF_INET6) {
    reinterpret_cast<sockaddr_in6&>(address).sin6_port = htons(port);
  } else {
    reinterpret_cast<sockaddr_in&>(address).sin_port = htons(port);
  }
}

std::uint16_t get_port(const sockaddr_storage& address) {
  return ntohs(address.ss_family == AF_INET6
                   ? reinterpret_cast<const sockaddr_in6&>(address).sin6_port
                   : reinterpret_cast<const sockaddr_in&>(address).sin_port);
}

/// A non-blocking socket bound to `address` with `port` (0: the OS picks), listening unless
/// `listen_now` is false (a late agent: its port is fixed, but connecting is refused until it
/// listens); returns the socket and stores the port actually bound.
FileDescriptor listen_on(sockaddr_storage address, socklen_t length, std::uint16_t port,
                         const std::string& host, bool listen_now, std::uint16_t& bound_port) {
  const auto fail = [&](const char* step) {
    return std::runtime_error(
        fmt::format("cannot listen on {} port {}: {}: {}", host, port, step, std::strerror(errno)));
  };
  FileDescriptor fd(socket(address.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) throw fail("socket");
  // A restarted mock must be able to take its ports back while old connections sit in
  // TIME_WAIT; SO_REUSEADDR does not let two live listeners share a port.
  const int on = 1;
  setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  set_port(address, port);
  if (bind(fd.get(), reinterpret_cast<const sockaddr*>(&address), length) != 0) {
    throw fail("bind");
  }
  if (listen_now && listen(fd.get(), SOMAXCONN) != 0) throw fail("listen");
  sockaddr_storage actual{};
  socklen_t actual_length = sizeof actual;
  if (getsockname(fd.get(), reinterpret_cast<sockaddr*>(&actual), &actual_length) != 0) {
    throw fail("getsockname");
  }
  bound_port = get_port(actual);
  return fd;
}

/// Must run before the first event_base is created so that every base gets locks and a
/// wake-up channel: the signal handler on loop 0 stops the other loops from its thread.
void enable_libevent_threads() {
  static const bool enabled = [] {
    if (evthread_use_pthreads() != 0) throw std::runtime_error("evthread_use_pthreads failed");
    return true;
  }();
  (void)enabled;
}

}  // namespace

MockServer::MockServer(const Options& options, const Script* script)
    : options_(options),
      stats_(options.agent_count()),
      recorder_(options.record_path ? std::make_unique<RequestRecorder>(*options.record_path)
                                    : nullptr),
      shared_{options, script, {}, failures_, std::chrono::steady_clock::now(), recorder_.get()} {
  enable_libevent_threads();
  shared_.all_agents = stats_;
  for (unsigned t = 0; t < options.threads; ++t) {
    auto worker = std::make_unique<Worker>();
    worker->base = checked<EventBase>(event_base_new(), "event_base_new");
    workers_.push_back(std::move(worker));
  }
  socklen_t length = 0;
  const sockaddr_storage address = resolve_host(options.host, length);
  ports_.reserve(options.agent_count());
  for (std::size_t k = 0; k < options.agent_count(); ++k) {
    std::uint16_t bound = 0;
    FileDescriptor fd =
        listen_on(address, length, options.ports[k], options.host, !options.late[k], bound);
    AgentStats& stats = stats_[k];
    stats.index = k;
    stats.port = bound;
    stats.role = options.agent_roles[k];
    stats.slow = options.slow[k];
    stats.dead = options.dead[k];
    stats.up.store(!options.dead[k] && !options.late[k], std::memory_order_relaxed);
    ports_.push_back(bound);
    Worker& worker = *workers_[k % workers_.size()];
    worker.agents.push_back(
        std::make_unique<Agent>(shared_, stats, worker.base.get(), std::move(fd)));
  }
  // Installed now, before the caller prints the ready line: a SIGTERM sent right after it must
  // find libevent's handler, not the default action.
  event_base* main_base = workers_.front()->base.get();
  stop_on_term_ =
      checked<Event>(evsignal_new(main_base, SIGTERM, &on_stop_signal, this), "evsignal_new");
  stop_on_int_ =
      checked<Event>(evsignal_new(main_base, SIGINT, &on_stop_signal, this), "evsignal_new");
  event_add(stop_on_term_.get(), nullptr);
  event_add(stop_on_int_.get(), nullptr);
}

MockServer::~MockServer() = default;

void MockServer::on_stop_signal(evutil_socket_t /*signal*/, short /*what*/, void* self) {
  for (const auto& worker : static_cast<MockServer*>(self)->workers_) {
    event_base_loopexit(worker->base.get(), nullptr);
  }
}

void MockServer::run() {
  event_base* main_base = workers_.front()->base.get();
  shared_.started = std::chrono::steady_clock::now();
  // Before any loop runs, so no agent's timer can fire while another thread arms it.
  for (const auto& worker : workers_) {
    for (const auto& agent : worker->agents) agent->arm_timers();
  }

  // Only loop 0 (this thread) may take the stop signals: libevent lets one base own them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  sigset_t previous;
  pthread_sigmask(SIG_BLOCK, &stop_signals, &previous);
  std::vector<std::jthread> threads;
  for (std::size_t t = 1; t < workers_.size(); ++t) {
    threads.emplace_back([base = workers_[t]->base.get()] { event_base_dispatch(base); });
  }
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);

  event_base_dispatch(main_base);
  threads.clear();  // joins: every loop has been told to exit by on_stop_signal
}

}  // namespace swarm::mock
