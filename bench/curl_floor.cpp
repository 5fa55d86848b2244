// libcurl's own floor on this machine (issue 21): the least a curl-multi client can do per
// request, to measure the engine against. N small POSTs round-robin over the endpoints of a
// hostfile, at most C in flight, easy handles reused (connections stay in the multi handle's
// cache); no parsing, no retries, no bookkeeping beyond a count. Two loops: curl_multi_perform +
// curl_multi_poll over every socket (what the engine does), or with --socket-action the
// event-driven curl_multi_socket_action over epoll (libcurl's recommended form for many
// connections). Prints requests/s and this process's CPU (user + system) per request.
//
//   bench_curl_floor --hostfile FILE [--requests N] [--concurrency C] [--socket-action]

#include <sys/epoll.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <curl/curl.h>
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "swarm/hostfile.hpp"

namespace {

constexpr const char* kBody =
    R"({"model":"mock-model","messages":[{"role":"user","content":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}],"max_tokens":16})";

std::size_t discard(char* /*data*/, std::size_t size, std::size_t count, void* /*user*/) {
  return size * count;
}

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-6;
}

// --socket-action: libcurl tells which sockets to watch (socket callback) and when to time out
// (timer callback); epoll says which are ready.
struct Events {
  int epoll = -1;
  long timeout_ms = -1;
};

int on_socket(CURL* /*easy*/, curl_socket_t s, int what, void* user, void* /*socketp*/) {
  auto* ev = static_cast<Events*>(user);
  if (what == CURL_POLL_REMOVE) {
    epoll_ctl(ev->epoll, EPOLL_CTL_DEL, s, nullptr);
    return 0;
  }
  epoll_event e{};
  e.events = (what & CURL_POLL_IN ? EPOLLIN : 0U) | (what & CURL_POLL_OUT ? EPOLLOUT : 0U);
  e.data.fd = s;
  if (epoll_ctl(ev->epoll, EPOLL_CTL_MOD, s, &e) != 0) epoll_ctl(ev->epoll, EPOLL_CTL_ADD, s, &e);
  return 0;
}

int on_timer(CURLM* /*multi*/, long timeout_ms, void* user) {
  static_cast<Events*>(user)->timeout_ms = timeout_ms;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"libcurl's floor: a minimal curl-multi loop"};
  std::string hostfile;
  std::size_t requests = 100000;
  std::size_t concurrency = 512;
  app.add_option("--hostfile", hostfile, "Endpoints")->required();
  app.add_option("--requests", requests, "Requests to send")->capture_default_str();
  app.add_option("--concurrency", concurrency, "In flight at once")->capture_default_str();
  bool socket_action = false;
  app.add_flag("--socket-action", socket_action, "curl_multi_socket_action over epoll");
  CLI11_PARSE(app, argc, argv);

  const auto endpoints = swarm::parse_hostfile(hostfile);
  std::vector<std::string> urls;
  for (const auto& e : endpoints) urls.push_back(e.url() + "/v1/chat/completions");
  if (urls.empty()) return 2;

  curl_global_init(CURL_GLOBAL_DEFAULT);
  CURLM* multi = curl_multi_init();
  // One cached connection per endpoint, as the engine keeps them.
  curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, static_cast<long>(urls.size() + concurrency));
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  headers = curl_slist_append(headers, "Expect:");
  std::vector<CURL*> idle;
  for (std::size_t k = 0; k < concurrency; ++k) {
    CURL* h = curl_easy_init();
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &discard);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, kBody);
    curl_easy_setopt(h, CURLOPT_PROXY, "");
    // libcurl scans its whole DNS cache (one entry per host:port) on every transfer while the
    // entries can expire; kept forever it does not (the engine sets the same).
    curl_easy_setopt(h, CURLOPT_DNS_CACHE_TIMEOUT, -1L);
    idle.push_back(h);
  }
  std::size_t started = 0;
  std::size_t done = 0;
  std::size_t failed = 0;
  const double cpu0 = cpu_seconds();
  const auto t0 = std::chrono::steady_clock::now();
  Events ev;
  if (socket_action) {
    ev.epoll = epoll_create1(0);
    curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, &on_socket);
    curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, &ev);
    curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, &on_timer);
    curl_multi_setopt(multi, CURLMOPT_TIMERDATA, &ev);
  }
  std::vector<epoll_event> ready(1024);
  while (done < requests) {
    while (started < requests && !idle.empty()) {
      CURL* h = idle.back();
      idle.pop_back();
      curl_easy_setopt(h, CURLOPT_URL, urls[started % urls.size()].c_str());
      curl_multi_add_handle(multi, h);
      ++started;
    }
    int running = 0;
    if (socket_action) {
      const int n = epoll_wait(ev.epoll, ready.data(), static_cast<int>(ready.size()),
                               static_cast<int>(ev.timeout_ms < 0 ? 100 : ev.timeout_ms));
      if (n <= 0) curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running);
      for (int k = 0; k < n; ++k) {
        const int flags = (ready[k].events & EPOLLIN ? CURL_CSELECT_IN : 0) |
                          (ready[k].events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
                          (ready[k].events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);
        curl_multi_socket_action(multi, ready[k].data.fd, flags, &running);
      }
    } else {
      curl_multi_perform(multi, &running);
    }
    int left = 0;
    while (CURLMsg* m = curl_multi_info_read(multi, &left)) {
      if (m->msg != CURLMSG_DONE) continue;
      long status = 0;
      curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &status);
      if (m->data.result != CURLE_OK || status != 200) ++failed;
      curl_multi_remove_handle(multi, m->easy_handle);
      idle.push_back(m->easy_handle);
      ++done;
    }
    if (!socket_action) curl_multi_poll(multi, nullptr, 0, 100, nullptr);
  }
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double cpu = cpu_seconds() - cpu0;
  fmt::print("{:.0f} requests/s, {:.1f} us CPU/request, {} requests, {} failed, {:.3f} s\n",
             static_cast<double>(done) / wall, cpu / static_cast<double>(done) * 1e6, done,
             failed, wall);
  for (CURL* h : idle) curl_easy_cleanup(h);
  curl_slist_free_all(headers);
  curl_multi_cleanup(multi);
  if (ev.epoll >= 0) close(ev.epoll);
  return failed == 0 ? 0 : 1;
}
