// Start-up, ports, threads, flag errors, the descriptor budget and clean signal exits.

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <set>
#include <thread>

#include "http_client.hpp"
#include "mock_process.hpp"

namespace swarm::mock::test {
namespace {

bool exited_zero(int status) {
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

TEST(MockLifecycle, SigtermStopsCleanlyEvenWithRequestsInFlight) {
  MockProcess mock({"--latency", "fixed:5000", "--threads", "2", "--count", "2"});
  std::jthread client([&] { http_post(mock.url(1, "/v1/chat/completions"), chat_body("x"), 10s); });
  // Give the request time to arrive, then stop: the held request must not block the exit.
  std::this_thread::sleep_for(200ms);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(exited_zero(mock.stop(SIGTERM)));
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 4.0);
}

TEST(MockLifecycle, SigintStopsCleanly) {
  MockProcess mock({"--count", "3", "--threads", "3"});
  EXPECT_EQ(http_get(mock.url(2, "/health")).status, 200);
  EXPECT_TRUE(exited_zero(mock.stop(SIGINT)));
}

TEST(MockLifecycle, FourThousandAgentsStartQuickly) {
  MockProcess mock({"--count", "4000", "--threads", "2"});
  std::printf("[ info ] 4000 agents ready after %.3f s\n", mock.startup_time().count());
  ASSERT_EQ(mock.agents().size(), 4000U);
  std::set<std::uint16_t> ports;
  for (const auto& agent : mock.agents()) ports.insert(agent.port);
  EXPECT_EQ(ports.size(), 4000U);
  for (const std::size_t k : {0U, 1U, 1999U, 3998U, 3999U}) {
    EXPECT_EQ(http_get(mock.url(k, "/health")).status, 200) << "agent " << k;
  }
  const auto r = http_post(mock.url(3999, "/v1/chat/completions"), chat_body("last"));
  EXPECT_EQ(r.json()["id"].get<std::string>().find("chatcmpl-mock-3999-"), 0U);
}

TEST(MockLifecycle, ThreadsShareOneConsistentMetricsView) {
  MockProcess mock({"--count", "7", "--threads", "3", "--latency", "fixed:50"});
  std::vector<std::string> urls;
  for (std::size_t k = 0; k < 7; ++k) {
    for (std::size_t i = 0; i <= k; ++i) urls.push_back(mock.url(k, "/v1/chat/completions"));
  }
  const auto responses =
      post_concurrently(urls, std::vector<std::string>(urls.size(), chat_body("x")));
  for (const auto& r : responses) EXPECT_EQ(r.status, 200);
  // Scraped from an agent on another thread than most of those counted.
  const std::string m = http_get(mock.url(4, "/metrics")).body;
  for (std::size_t k = 0; k < 7; ++k) {
    EXPECT_EQ(metric(m, "aswarm_mock_requests_total{port=\"" + std::to_string(mock.port(k)) +
                            "\",route=\"/v1/chat/completions\"}"),
              static_cast<double>(k + 1));
  }
  EXPECT_EQ(metric(m, "aswarm_mock_all_requests_total"), 28 + 1);
}

TEST(MockLifecycle, ExplicitPortsAndPortBase) {
  const std::uint16_t a = free_port();
  const std::uint16_t b = free_port();
  MockProcess listed({"--ports", std::to_string(a) + "," + std::to_string(b)});
  ASSERT_EQ(listed.agents().size(), 2U);
  EXPECT_EQ(listed.port(0), a);
  EXPECT_EQ(listed.port(1), b);
  EXPECT_EQ(http_get(listed.url(1, "/health")).status, 200);

  const std::uint16_t c = free_port();
  MockProcess based({"--port-base", std::to_string(c), "--count", "1"});
  EXPECT_EQ(based.port(0), c);
  EXPECT_EQ(based.ready_line(),
            "aswarm-mock-agent: ready: 1 agent on 127.0.0.1 ports " + std::to_string(c));
}

TEST(MockLifecycle, APortInUseIsAClearError) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), length), 0);
  ASSERT_EQ(listen(fd, 1), 0);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length), 0);
  const std::string port = std::to_string(ntohs(address.sin_port));
  const RunResult r = run_mock({"--ports", port});
  close(fd);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(
      r.err.find("aswarm-mock-agent: error: cannot listen on 127.0.0.1 port " + port + ": bind"),
      std::string::npos)
      << r.err;
  EXPECT_TRUE(r.out.empty());
}

TEST(MockLifecycle, TooFewDescriptorsNamesTheNumbers) {
  const RunResult r =
      run_mock({"--port-base", "0", "--count", "3", "--expected-connections", "4000000000"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("not enough file descriptors: 3 agents + 4000000000 expected connections"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("RLIMIT_NOFILE is"), std::string::npos) << r.err;
}

void expect_flag_error(const std::vector<std::string>& args, std::string_view needle) {
  const RunResult r = run_mock(args);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_TRUE(r.err.starts_with("aswarm-mock-agent: error: ")) << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << "expected '" << needle << "' in " << r.err;
  EXPECT_TRUE(r.out.empty());
}

TEST(MockLifecycle, BadFlagsExitNonZeroWithAMessage) {
  expect_flag_error({"--no-such-flag"}, "--no-such-flag");
  expect_flag_error({"--count", "0"}, "--count");
  expect_flag_error({"--mode", "fixed"}, "--mode fixed needs --text");
  expect_flag_error({"--mode", "poetry"}, "--mode");
  expect_flag_error({"--latency", "gamma:1:2"}, "unknown distribution 'gamma'");
  expect_flag_error({"--latency", "uniform:5"}, "uniform:LO_MS:HI_MS");
  expect_flag_error({"--count", "2", "--dead-agents", "2"},
                    "--dead-agents: agent 2 does not exist");
  expect_flag_error({"--count", "2", "--slow-agents", "5"},
                    "--slow-agents: agent 5 does not exist");
  expect_flag_error({"--fail-500", "1.5"}, "--fail-500");
  expect_flag_error({"--ports", "9001,9001"}, "9001 listed twice");
  expect_flag_error({"--ports", "9001", "--port-base", "0"}, "excludes");
  expect_flag_error({"--roles", "a:0"}, "weights must be positive");
  expect_flag_error({"--tag", "novalue"}, "--tag: 'novalue' is not key=value");
  expect_flag_error({"--port-base", "65535", "--count", "2"}, "goes past port 65535");

  const RunResult help = run_mock({"--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("--fail-hang"), std::string::npos);
}

}  // namespace
}  // namespace swarm::mock::test
